//! Checking a presented OAuth access token (RFC 6750) on the REST API, like an API key: the
//! checksum first, then the credential cache, then the database. The token acts as its grant's
//! user in the grant's account, with the token's scopes within its application's current scopes
//! and the user's current role.

use std::sync::Arc;

use gatekey_core::audit::CredentialRef;
use gatekey_core::oauth::exchange::token_scopes_within_application;
use gatekey_core::oauth::jwt_access_token::ACCESS_TOKEN_JWT_TYPE;
use gatekey_core::oauth::jwt_claims::{check_claims, ClaimRejection, ExpectedClaims};
use gatekey_core::oauth::store::TokenStore;
use gatekey_core::principal::Principal;
use gatekey_core::secret::{SecretKind, TokenHash};
use gatekey_core::store::UserStore;
use time::OffsetDateTime;

use super::cache::{CacheLookup, CachedKey, CredentialSource};
use crate::error::ApiError;
use crate::metrics::CredentialOutcome;
use crate::state::AppState;

/// Resolves an access token to its cached entry, or answers 401 `invalid_token`.
pub async fn check_access_token(
    state: &AppState,
    presented: &str,
) -> Result<Arc<CachedKey>, ApiError> {
    let now = state.clock.now();
    let lookup =
        state
            .credentials
            .look_up(SecretKind::AccessToken, presented, now, &state.metrics)?;
    load_access_token(state, lookup, now).await
}

/// Resolves a JWT access token (RFC 9068) like an opaque one, by the hash of its text; on a
/// cache miss its signature, type, issuer, expiry and, when given, `audience` are checked
/// first (RFC 9068 §4), so a forged or foreign token is refused without a database read.
pub async fn check_jwt_access_token(
    state: &AppState,
    presented: &str,
    audience: Option<&str>,
) -> Result<Arc<CachedKey>, ApiError> {
    let now = state.clock.now();
    let lookup = state
        .credentials
        .look_up_hash(TokenHash::of(presented), now, &state.metrics)?;
    if matches!(lookup, CacheLookup::Missing { .. }) {
        let keys = state.signing_keys.loaded();
        let verified = keys
            .verifier
            .verify(presented, Some(ACCESS_TOKEN_JWT_TYPE))
            .map_err(|_| {
                state.metrics.credential_check(CredentialOutcome::Malformed);
                ApiError::invalid_token("the token is not a JWT signed by this server")
            })?;
        let expected = ExpectedClaims {
            issuer: &state.issuer,
            audience,
            require_unexpired: true,
            now,
        };
        check_claims(&verified.claims, &expected).map_err(|refusal| {
            let (outcome, text) = match refusal {
                ClaimRejection::Expired => {
                    (CredentialOutcome::Expired, "the credential has expired")
                }
                ClaimRejection::WrongAudience => (
                    CredentialOutcome::Unknown,
                    "the token is not meant for this server",
                ),
                _ => (
                    CredentialOutcome::Unknown,
                    "the token's claims are not valid",
                ),
            };
            state.metrics.credential_check(outcome);
            ApiError::invalid_token(text)
        })?;
    }
    load_access_token(state, lookup, now).await
}

/// The cached entry of `lookup`, or the token read from the database, checked and cached.
async fn load_access_token(
    state: &AppState,
    lookup: CacheLookup,
    now: OffsetDateTime,
) -> Result<Arc<CachedKey>, ApiError> {
    let (hash, generation) = match lookup {
        CacheLookup::Cached(entry) => return Ok(entry),
        CacheLookup::Missing { hash, generation } => (hash, generation),
    };
    let Some(token) = state.store.access_token(&hash).await? else {
        state.metrics.credential_check(CredentialOutcome::Unknown);
        return Err(ApiError::invalid_token("the credential is unknown"));
    };
    if now >= token.expires_at && token.revoked_at.is_none() {
        state.metrics.credential_check(CredentialOutcome::Expired);
        return Err(ApiError::invalid_token("the credential has expired"));
    }
    // The membership is read again for its id (API keys made with this token hang off it).
    let member = if token.is_active_at(now) {
        state
            .store
            .member(token.grant.account_id, token.grant.user_id)
            .await?
    } else {
        None
    };
    let Some(member) = member.filter(|m| !m.user.is_disabled()) else {
        state.metrics.credential_check(CredentialOutcome::Revoked);
        return Err(ApiError::invalid_token("the credential has been revoked"));
    };
    let role_scopes = state
        .role_scopes(token.account.id, member.membership.role)
        .await?;
    state.metrics.credential_check(CredentialOutcome::Verified);
    let principal = Principal {
        user: token.user.clone(),
        account: token.account.clone(),
        membership_id: member.membership.id,
        role: member.membership.role,
        role_scopes,
        credential: CredentialRef::OAuth {
            client_id: token.application.client_id.clone(),
            grant_id: token.grant.id,
        },
        // Computed at use: the application's current scopes bound the token; the role is
        // applied by the principal.
        credential_scopes: token_scopes_within_application(&token),
        expires_at: Some(token.expires_at),
    };
    let source = CredentialSource::AccessToken {
        token_id: token.id,
        family_id: token.family_id,
        grant_id: token.grant.id,
        application_id: token.application.id,
        issued_at: token.created_at,
        audience: token.audience.clone().into(),
    };
    Ok(state
        .credentials
        .insert(hash, Arc::new(principal), source, generation))
}
