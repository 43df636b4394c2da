//! Checking a presented API key: the checksum first (no database for a typo), then the cache,
//! then the database.

use std::net::IpAddr;
use std::sync::Arc;

use gatekey_core::principal::Principal;
use gatekey_core::secret::SecretKind;
use gatekey_core::store::ApiKeyStore;

use super::cache::{CacheLookup, CachedKey, CredentialSource};
use crate::error::ApiError;
use crate::metrics::CredentialOutcome;
use crate::state::AppState;

/// Resolves an API key to its cached entry and records its use from `client_ip`
/// (`last_used_at`, `last_used_ip`), or answers 401 `invalid_token`: authenticating a request
/// with the key.
pub async fn check_api_key(
    state: &AppState,
    presented: &str,
    client_ip: Option<IpAddr>,
) -> Result<Arc<CachedKey>, ApiError> {
    let entry = verify_api_key(state, presented).await?;
    entry.touch(state.clock.now(), client_ip);
    Ok(entry)
}

/// Resolves an API key to its cached entry, or answers 401 `invalid_token`, by the same checks
/// as [`check_api_key`] (revoked, with its parent too; expired; user disabled; a secret a roll
/// replaced, past its grace), without recording a use: a resource server checking a key it was
/// handed is not the key's holder using it. A replaced secret is cached only until its grace
/// ends: its principal expires then.
pub async fn verify_api_key(state: &AppState, presented: &str) -> Result<Arc<CachedKey>, ApiError> {
    let now = state.clock.now();
    let lookup = state
        .credentials
        .look_up(SecretKind::ApiKey, presented, now, &state.metrics)?;
    let (hash, generation) = match lookup {
        CacheLookup::Cached(entry) => return Ok(entry),
        CacheLookup::Missing { hash, generation } => (hash, generation),
    };
    let Some(found) = state.store.api_key_credential(&hash).await? else {
        state.metrics.credential_check(CredentialOutcome::Unknown);
        return Err(ApiError::invalid_token("the credential is unknown"));
    };
    if found.key.revoked_at.is_some() || found.user.is_disabled() {
        state.metrics.credential_check(CredentialOutcome::Revoked);
        return Err(ApiError::invalid_token("the credential has been revoked"));
    }
    if !found.key.is_usable_at(now) {
        state.metrics.credential_check(CredentialOutcome::Expired);
        return Err(ApiError::invalid_token("the credential has expired"));
    }
    let expires_at = found.expires_at();
    if found.by_previous_secret && expires_at.is_some_and(|at| at <= now) {
        state.metrics.credential_check(CredentialOutcome::Expired);
        return Err(ApiError::invalid_token(
            "the key was rolled and this secret's grace period is over",
        ));
    }
    // Read before the key is cached: a change to what the role holds evicts the key.
    let role_scopes = state.role_scopes(found.account.id, found.role).await?;
    state.metrics.credential_check(CredentialOutcome::Verified);
    let principal = Principal {
        user: Arc::new(found.user),
        account: Arc::new(found.account),
        membership_id: found.key.membership_id,
        role: found.role,
        role_scopes,
        credential: gatekey_core::audit::CredentialRef::ApiKey(found.key.id),
        credential_scopes: found.key.scopes,
        expires_at,
    };
    let source = CredentialSource::ApiKey {
        key_id: found.key.id,
        created_at: found.key.created_at,
    };
    Ok(state
        .credentials
        .insert(hash, Arc::new(principal), source, generation))
}
