//! Changing an API key after its creation: its name and meta (its holder's), its limits,
//! credits and refill (an administrator's). Who may act on whose key at all is the caller's
//! check, as for revoking it; what each field needs is checked here.

use time::OffsetDateTime;

use crate::api_key::{validate_key_name, ApiKey, ApiKeyInputError};
use crate::api_key_usage::{check_usage_rights, KeyChanges, KeyUsageError, UsageRightsError};
use crate::audit::{Actor, AuditAction, AuditEntry};
use crate::store::{ApiKeyStore, StoreError};

/// Why a key could not be changed.
#[derive(Debug, thiserror::Error)]
pub enum UpdateApiKeyError {
    /// A bad name.
    #[error(transparent)]
    Input(#[from] ApiKeyInputError),
    /// Bad meta, limits or credits.
    #[error(transparent)]
    Usage(#[from] KeyUsageError),
    /// Limits or credits changed by someone who is not an administrator.
    #[error(transparent)]
    Rights(#[from] UsageRightsError),
    /// The key is revoked: it works no more, so nothing about it is changed.
    #[error("the key is revoked")]
    Revoked,
    /// Storage failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Applies `changes` to `key`, as a caller who `may_admin` (holds the effective `admin` scope
/// in the key's account). A change with nothing in it writes nothing and returns the key as
/// it is. The audit event names the fields changed, not their values.
pub async fn update_api_key<S: ApiKeyStore>(
    store: &S,
    now: OffsetDateTime,
    key: &ApiKey,
    changes: KeyChanges,
    may_admin: bool,
    actor: &Actor,
) -> Result<ApiKey, UpdateApiKeyError> {
    if let Some(name) = &changes.name {
        validate_key_name(name)?;
    }
    changes.check_against(key.credits.as_ref())?;
    check_usage_rights(may_admin, changes.meters())?;
    if key.revoked_at.is_some() {
        return Err(UpdateApiKeyError::Revoked);
    }
    if changes.is_empty() {
        return Ok(key.clone());
    }
    let audit = AuditEntry::new(now, actor, AuditAction::ApiKeyUpdated, "api_key")
        .in_account(key.account_id)
        .target(key.id)
        .detail(format!("changed {}", changes.field_names().join(", ")));
    Ok(store.update_api_key(key.id, changes, now, audit).await?)
}
