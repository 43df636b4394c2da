//! Creating API keys: the checks of [`crate::api_key`] applied to a request, then the key
//! stored with its audit entry. Kept apart from the key type so that the storage traits can
//! name [`ApiKey`] without the key module depending on storage in turn.

use time::OffsetDateTime;

use crate::api_key::{
    expiry_within_parent, scopes_for_new_key, validate_expiry, validate_key_name, ApiKey,
    ApiKeyInputError, ApiKeyRequest, KeyOwner, ParentKey,
};
use crate::api_key_usage::{
    check_metered_parent, check_settings, check_usage_rights, KeyUsageError, KeyUsageSettings,
    UsageRightsError,
};
use crate::audit::{Actor, AuditAction, AuditEntry};
use crate::scope::ScopeSet;
use crate::secret::{Secret, SecretKind};
use crate::store::{ApiKeyStore, KeyCreation, NewApiKey, StoreError};

/// Why a key could not be created.
#[derive(Debug, thiserror::Error)]
pub enum CreateApiKeyError {
    /// The request was invalid.
    #[error(transparent)]
    Input(#[from] ApiKeyInputError),
    /// The owner is disabled.
    #[error("the user is disabled")]
    UserDisabled,
    /// The API key creating the key was revoked or expired, or its user disabled, before the
    /// new key could be stored: a credential that has ended creates nothing, even while a
    /// cache elsewhere still trusts it.
    #[error("the credential has been revoked")]
    CreatorRevoked,
    /// Storage failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Creates an API key for `owner`. `grantable` is what the creator may hand out; the key gets
/// no more than what the owner's role holds either. The secret is returned
/// once and only its SHA-256 is stored. For a key created with another API key, see
/// [`create_child_api_key`].
pub async fn create_api_key<S: ApiKeyStore>(
    store: &S,
    now: OffsetDateTime,
    owner: KeyOwner<'_>,
    grantable: ScopeSet,
    request: ApiKeyRequest,
    actor: &Actor,
) -> Result<(ApiKey, Secret), CreateApiKeyError> {
    create_child_api_key(store, now, owner, grantable, None, request, actor).await
}

/// Creates an API key for `owner` as [`create_api_key`] does, with the API key that creates it
/// as its `parent` when there is one: the new key's scopes stay within the parent's, its
/// expiry within the parent's ([`expiry_within_parent`]), and the store records the lineage so
/// that revoking the parent revokes the child. The parent's state is checked again where the
/// key is stored, not only in the caller's (possibly cached) view of it: a parent revoked,
/// expired or disabled meanwhile is [`CreateApiKeyError::CreatorRevoked`].
pub async fn create_child_api_key<S: ApiKeyStore>(
    store: &S,
    now: OffsetDateTime,
    owner: KeyOwner<'_>,
    grantable: ScopeSet,
    parent: Option<ParentKey>,
    request: ApiKeyRequest,
    actor: &Actor,
) -> Result<(ApiKey, Secret), CreateApiKeyError> {
    store_new_key(
        store,
        now,
        owner,
        grantable,
        parent,
        (request, KeyUsageSettings::default()),
        actor,
    )
    .await
}

/// What a caller asks of a key's meta, limits and credits, and its standing to ask.
#[derive(Debug, Clone, Default)]
pub struct UsageRequest {
    /// Meta, limits, credits and refill, each already read from input
    /// ([`crate::api_key_usage`]'s checks).
    pub settings: KeyUsageSettings,
    /// Whether the caller holds the effective `admin` scope in the owner's account.
    pub may_admin: bool,
    /// Whether the API key creating the key has limits or credits of its own.
    pub parent_metered: bool,
}

/// Why a key with meta, limits or credits could not be created.
#[derive(Debug, thiserror::Error)]
pub enum CreateMeteredKeyError {
    /// As for any key.
    #[error(transparent)]
    Create(#[from] CreateApiKeyError),
    /// Meta, limits or credits refused.
    #[error(transparent)]
    Usage(#[from] KeyUsageError),
    /// The caller may not meter keys, or creates one with a metered key.
    #[error(transparent)]
    Rights(#[from] UsageRightsError),
}

/// Creates an API key as [`create_child_api_key`] does, with meta, limits and credits: a
/// refill needs credits; limits, credits and refill need an administrator
/// ([`check_usage_rights`]); and a metered key creates keys only for an administrator
/// ([`check_metered_parent`]), whatever the new key asks for.
#[allow(clippy::too_many_arguments)]
pub async fn create_metered_api_key<S: ApiKeyStore>(
    store: &S,
    now: OffsetDateTime,
    owner: KeyOwner<'_>,
    grantable: ScopeSet,
    parent: Option<ParentKey>,
    request: ApiKeyRequest,
    usage: UsageRequest,
    actor: &Actor,
) -> Result<(ApiKey, Secret), CreateMeteredKeyError> {
    check_settings(&usage.settings)?;
    check_usage_rights(usage.may_admin, usage.settings.meters())?;
    check_metered_parent(parent.is_some() && usage.parent_metered, usage.may_admin)?;
    Ok(store_new_key(
        store,
        now,
        owner,
        grantable,
        parent,
        (request, usage.settings),
        actor,
    )
    .await?)
}

async fn store_new_key<S: ApiKeyStore>(
    store: &S,
    now: OffsetDateTime,
    owner: KeyOwner<'_>,
    grantable: ScopeSet,
    parent: Option<ParentKey>,
    (request, usage): (ApiKeyRequest, KeyUsageSettings),
    actor: &Actor,
) -> Result<(ApiKey, Secret), CreateApiKeyError> {
    validate_key_name(&request.name)?;
    validate_expiry(request.expires_at, now)?;
    let expires_at = expiry_within_parent(request.expires_at, parent.as_ref(), now)?;
    if owner.user.is_disabled() {
        return Err(CreateApiKeyError::UserDisabled);
    }
    let mut grantable = grantable.intersect(owner.role_scopes);
    if let Some(parent) = &parent {
        grantable = grantable.intersect(&parent.scopes);
    }
    let scopes = scopes_for_new_key(request.scopes, grantable)?;
    let secret = Secret::generate(SecretKind::ApiKey);
    let new = NewApiKey {
        membership_id: owner.membership_id,
        name: request.name,
        display_prefix: secret.display_prefix(),
        hash: secret.hash(),
        scopes: scopes.clone(),
        created_at: now,
        expires_at,
        parent_key_id: parent.as_ref().map(|p| p.id),
        usage,
    };
    let lineage = parent.map_or(String::new(), |p| format!(", child of key {}", p.id));
    let metering = metering_note(&new.usage);
    let audit = AuditEntry::new(now, actor, AuditAction::ApiKeyCreated, "api_key").detail(format!(
        "for user {} with scopes {scopes}{lineage}{metering}",
        owner.user.id
    ));
    match store.create_api_key(new, audit).await? {
        KeyCreation::Created(key) => Ok((key, secret)),
        KeyCreation::ParentUnusable => Err(CreateApiKeyError::CreatorRevoked),
    }
}

/// What the creation's audit detail says of the key's limits and credits (never its meta).
fn metering_note(usage: &KeyUsageSettings) -> String {
    let mut note = String::new();
    let limits = [
        ("s", usage.limits.per_second),
        ("min", usage.limits.per_minute),
        ("h", usage.limits.per_hour),
    ];
    for (unit, limit) in limits {
        if let Some(limit) = limit {
            note.push_str(&format!(", {limit}/{unit}"));
        }
    }
    if let Some(credits) = usage.credits {
        note.push_str(&format!(", {credits} credits"));
    }
    if let Some(refill) = usage.refill {
        note.push_str(&format!(
            ", refilled {} to {}",
            refill.interval.as_str(),
            refill.amount
        ));
    }
    note
}
