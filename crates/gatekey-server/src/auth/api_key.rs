//! Checking a presented API key: the checksum first (no database for a typo), then the cache,
//! then the database.

use std::net::IpAddr;
use std::sync::Arc;

use gatekey_core::api_key_verification::{key_standing, VerifyCode};
use gatekey_core::principal::Principal;
use gatekey_core::secret::{Secret, SecretKind};
use gatekey_core::store::ApiKeyStore;

use super::cache::{CacheLookup, CachedKey, CredentialSource};
use crate::error::ApiError;
use crate::metering::policy::KeyPolicy;
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

/// Why a presented API key does not work, with the account of a key that exists.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyRefusal {
    /// Not a well-formed key (prefix, length, alphabet, checksum).
    Malformed,
    /// Never issued by this server.
    Unknown,
    /// Revoked (or a parent of it was).
    Revoked {
        /// The key's account.
        account_id: i64,
    },
    /// Its user is disabled.
    Disabled {
        /// The key's account.
        account_id: i64,
    },
    /// Expired.
    Expired {
        /// The key's account.
        account_id: i64,
    },
}

impl KeyRefusal {
    /// The REST API's answer: 401 `invalid_token`. A disabled user's key is "revoked" there,
    /// as it has always been.
    fn into_error(self) -> ApiError {
        ApiError::invalid_token(match self {
            Self::Malformed => "the credential is malformed",
            Self::Unknown => "the credential is unknown",
            Self::Revoked { .. } | Self::Disabled { .. } => "the credential has been revoked",
            Self::Expired { .. } => "the credential has expired",
        })
    }
}

/// Resolves an API key to its cached entry, or answers 401 `invalid_token`, by the same checks
/// as [`check_api_key`] (revoked, with its parent too; expired; user disabled; a secret a roll
/// replaced, past its grace), without recording a use: a resource server checking a key it was
/// handed is not the key's holder using it. A replaced secret is cached only until its grace
/// ends: its principal expires then.
pub async fn verify_api_key(state: &AppState, presented: &str) -> Result<Arc<CachedKey>, ApiError> {
    look_up_api_key(state, presented)
        .await?
        .map_err(KeyRefusal::into_error)
}

/// Resolves an API key to its cached entry, or says why it does not work; `Err` only when
/// storage fails. Records no use.
pub async fn look_up_api_key(
    state: &AppState,
    presented: &str,
) -> Result<Result<Arc<CachedKey>, KeyRefusal>, ApiError> {
    let now = state.clock.now();
    let Ok(secret) = Secret::parse(SecretKind::ApiKey, presented) else {
        state.metrics.credential_check(CredentialOutcome::Malformed);
        return Ok(Err(KeyRefusal::Malformed));
    };
    let hash = secret.hash();
    let lookup = match state.credentials.look_up_hash(hash, now, &state.metrics) {
        Ok(lookup) => lookup,
        // Cached, and past its expiry (counted by the cache).
        Err(_) => {
            let account_id = state
                .credentials
                .get(&hash)
                .map_or(0, |entry| entry.principal.account.id);
            return Ok(Err(KeyRefusal::Expired { account_id }));
        }
    };
    let (hash, generation) = match lookup {
        CacheLookup::Cached(entry) => return Ok(Ok(entry)),
        CacheLookup::Missing { hash, generation } => (hash, generation),
    };
    let Some(found) = state.store.api_key_credential(&hash).await? else {
        state.metrics.credential_check(CredentialOutcome::Unknown);
        return Ok(Err(KeyRefusal::Unknown));
    };
    let account_id = found.account.id;
    let refused = match key_standing(&found.key, &found.user, now) {
        VerifyCode::Revoked => Some((
            CredentialOutcome::Revoked,
            KeyRefusal::Revoked { account_id },
        )),
        VerifyCode::Disabled => Some((
            CredentialOutcome::Revoked,
            KeyRefusal::Disabled { account_id },
        )),
        VerifyCode::Expired => Some((
            CredentialOutcome::Expired,
            KeyRefusal::Expired { account_id },
        )),
        _ => None,
    };
    if let Some((outcome, refusal)) = refused {
        state.metrics.credential_check(outcome);
        return Ok(Err(refusal));
    }
    let expires_at = found.expires_at();
    if found.by_previous_secret && expires_at.is_some_and(|at| at <= now) {
        // The same answer as from the cache, where the entry expires at the grace's end.
        state.metrics.credential_check(CredentialOutcome::Expired);
        return Ok(Err(KeyRefusal::Expired { account_id }));
    }
    // Read before the key is cached: a change to what the role holds evicts the key.
    let role_scopes = state.role_scopes(found.account.id, found.role).await?;
    state.metrics.credential_check(CredentialOutcome::Verified);
    let policy = KeyPolicy::of(&found.key);
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
    Ok(Ok(state.credentials.insert_with_policy(
        hash,
        Arc::new(principal),
        source,
        policy,
        generation,
    )))
}
