//! The ID token of a token response (OpenID Connect Core 1.0 §3.1.3.3), issued when the
//! tokens carry `openid`: by the code grant, the device grant, and the refresh grant (§12.2:
//! the same `sub` and `auth_time`, a new `iat`, no `nonce`).

use gatekey_core::oauth::id_token::{IdTokenClaims, IdTokenFacts, ID_TOKEN_TYPE};
use gatekey_core::oauth::identity_claims::identity_claims;
use gatekey_core::scope::{IdentityScope, ScopeSet};
use time::OffsetDateTime;

use super::access_token_text::{after, TokenHolder};
use crate::oauth::error::OAuthError;
use crate::state::AppState;

/// The signed ID token for `holder` when `scopes` hold `openid`, with `at_hash` over
/// `access_token`; signed with the application's `id_token_signed_response_alg` by the key
/// current at `now`.
pub fn sign_id_token(
    state: &AppState,
    holder: &TokenHolder<'_>,
    scopes: &ScopeSet,
    access_token: &str,
    now: OffsetDateTime,
) -> Result<Option<String>, OAuthError> {
    if !scopes.has_identity(IdentityScope::OpenId) {
        return Ok(None);
    }
    let algorithm = holder.application.id_token_signed_response_alg;
    let signer = state
        .signing_keys
        .loaded()
        .signer(algorithm, now)
        .ok_or_else(|| OAuthError::no_signing_key(algorithm))?;
    let person = identity_claims(holder.user, holder.account_slug, scopes);
    let facts = IdTokenFacts {
        issuer: &state.issuer,
        client_id: &holder.application.client_id,
        issued_at: now,
        expires_at: after(now, state.config.id_token_ttl),
        auth_time: holder.sign_in.as_ref().map(|sign_in| sign_in.auth_time),
        nonce: holder.nonce,
        sid: holder.sign_in.as_ref().map(|sign_in| sign_in.sid.as_str()),
        access_token: Some((access_token, algorithm)),
    };
    let token = signer
        .sign(ID_TOKEN_TYPE, &IdTokenClaims::new(person, &facts))
        .map_err(|_| OAuthError::no_signing_key(algorithm))?;
    Ok(Some(token))
}
