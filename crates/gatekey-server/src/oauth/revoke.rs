//! `POST /oauth/revoke` (RFC 7009): a client revokes one of its own access or refresh tokens,
//! by the rules of [`gatekey_core::oauth::revocation`]. The answer is 200 for a token that is
//! unknown, already revoked or another client's, which is left alone (RFC 7009 §2.2); a
//! storage failure is 503, never 200.

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::post;
use axum::Router;
use gatekey_core::oauth::revocation::revoke_token as revoke;

use super::client_request::ClientRequest;
use super::error::{no_store, post_only, OAuthError};
use crate::state::AppState;

/// The revocation endpoint's routes.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/oauth/revoke", post(revoke_token).fallback(post_only))
        .layer(no_store())
}

/// `POST /oauth/revoke`. `token_type_hint` is accepted and not needed: the token's prefix says
/// what it is, so a missing or wrong hint changes nothing (RFC 7009 §2.1).
async fn revoke_token(
    State(state): State<AppState>,
    request: ClientRequest,
) -> Result<StatusCode, OAuthError> {
    let client = request.authenticate(&state).await?;
    let presented = request.form.require("token")?;
    let now = state.clock.now();
    // Whether anything was revoked is not told: an unknown token or another client's is
    // answered like a success (RFC 7009 §2.2).
    revoke(&state.store, &client.application, presented, now).await?;
    Ok(StatusCode::OK)
}
