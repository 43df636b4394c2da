//! Token revocation at a client's request (RFC 7009): who may revoke which token, and what
//! revoking it takes down.
//!
//! A client may revoke only tokens issued to it (RFC 7009 §2.1: the server "verifies whether
//! the token was issued to the client making the revocation request"). Another client's token,
//! an unknown one and one already revoked are left alone and answered like a success (§2.2):
//! the client cannot use such a token anyway, and a different answer would tell it which tokens
//! exist. Revoking a refresh token revokes its whole family with the family's access tokens
//! (§2.1: the server "SHOULD also invalidate all access tokens based on the same
//! authorization grant" where it can).

use time::OffsetDateTime;

use super::application::Application;
use super::jwt_access_token::looks_like_jwt;
use super::store::TokenStore;
use super::token::TokenRecord;
use crate::secret::{Secret, SecretKind, TokenHash};
use crate::store::StoreResult;

/// Whether `client` may revoke `token`: it was issued to `client` and is not revoked yet.
pub fn may_revoke(client: &Application, token: &TokenRecord) -> bool {
    token.application.id == client.id && token.revoked_at.is_none()
}

/// Revokes `presented` (an access or a refresh token; its prefix says which, so
/// `token_type_hint` is never needed, RFC 7009 §2.1) if [`may_revoke`] allows it. Returns
/// whether anything was revoked; the store's write makes every server's caches drop it.
pub async fn revoke_token<S: TokenStore>(
    store: &S,
    client: &Application,
    presented: &str,
    now: OffsetDateTime,
) -> StoreResult<bool> {
    let (kind, hash) = match SecretKind::of(presented) {
        // A JWT access token (RFC 9068) is stored by the hash of its whole text.
        None if looks_like_jwt(presented) => (SecretKind::AccessToken, TokenHash::of(presented)),
        None => return Ok(false),
        Some(kind) => match Secret::parse(kind, presented) {
            Ok(secret) => (kind, secret.hash()),
            Err(_) => return Ok(false),
        },
    };
    let token = match kind {
        SecretKind::AccessToken => store.access_token(&hash).await?,
        SecretKind::RefreshToken => store.refresh_token(&hash).await?,
        _ => None,
    };
    let Some(token) = token.filter(|token| may_revoke(client, token)) else {
        return Ok(false);
    };
    match (kind, token.family_id) {
        (SecretKind::RefreshToken, Some(family_id)) => {
            store.revoke_family(family_id, now, None).await?;
            Ok(true)
        }
        (SecretKind::AccessToken, _) => {
            store.revoke_access_token(token.id, now, None).await?;
            Ok(true)
        }
        _ => Ok(false),
    }
}
