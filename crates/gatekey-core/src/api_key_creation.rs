//! Creating API keys: the checks of [`crate::api_key`] applied to a request, then the key
//! stored with its audit entry. Kept apart from the key type so that the storage traits can
//! name [`ApiKey`] without the key module depending on storage in turn.

use time::OffsetDateTime;

use crate::api_key::{
    expiry_within_parent, scopes_for_new_key, validate_expiry, validate_key_name, ApiKey,
    ApiKeyInputError, ApiKeyRequest, KeyOwner, ParentKey,
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
    };
    let lineage = parent.map_or(String::new(), |p| format!(", child of key {}", p.id));
    let audit = AuditEntry::new(now, actor, AuditAction::ApiKeyCreated, "api_key").detail(format!(
        "for user {} with scopes {scopes}{lineage}",
        owner.user.id
    ));
    match store.create_api_key(new, audit).await? {
        KeyCreation::Created(key) => Ok((key, secret)),
        KeyCreation::ParentUnusable => Err(CreateApiKeyError::CreatorRevoked),
    }
}
