//! `POST /oauth/revoke` (RFC 7009): a client revokes one of its own access or refresh tokens.
//! Revoking a refresh token revokes its whole family with the family's access tokens. The
//! answer is 200 for a token that is unknown, already revoked or another client's, which is
//! left alone (RFC 7009 §2.2: the client cannot use such a token anyway, and a different answer
//! would tell it which tokens exist); a storage failure is 503, never 200.

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::middleware::map_response;
use axum::routing::post;
use axum::Router;
use gatekey_core::oauth::store::TokenStore;
use gatekey_core::oauth::token::TokenRecord;
use gatekey_core::secret::{Secret, SecretKind};

use super::client_auth::{authenticate_client, AuthenticatedClient};
use super::error::{no_store, post_only, OAuthError};
use super::form::OAuthForm;
use crate::auth::ClientInfo;
use crate::state::AppState;

/// The revocation endpoint's routes.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/oauth/revoke", post(revoke_token).fallback(post_only))
        .layer(map_response(no_store))
}

/// `POST /oauth/revoke`. `token_type_hint` is accepted and not needed: the token's prefix says
/// what it is, so a missing or wrong hint changes nothing (RFC 7009 §2.1).
async fn revoke_token(
    State(state): State<AppState>,
    origin: ClientInfo,
    headers: HeaderMap,
    form: OAuthForm,
) -> Result<StatusCode, OAuthError> {
    let client = authenticate_client(&state, &origin, &headers, &form).await?;
    let presented = form.require("token")?;
    match SecretKind::of(presented) {
        Some(SecretKind::AccessToken) => revoke_access_token(&state, &client, presented).await?,
        Some(SecretKind::RefreshToken) => revoke_refresh_token(&state, &client, presented).await?,
        _ => {}
    }
    Ok(StatusCode::OK)
}

/// Whether `client` may revoke `token`: it was issued to it and is not revoked yet.
fn revocable_by(token: &TokenRecord, client: &AuthenticatedClient) -> bool {
    token.application.id == client.application.id && token.revoked_at.is_none()
}

async fn revoke_access_token(
    state: &AppState,
    client: &AuthenticatedClient,
    presented: &str,
) -> Result<(), OAuthError> {
    let Ok(secret) = Secret::parse(SecretKind::AccessToken, presented) else {
        return Ok(());
    };
    let Some(token) = state.store.access_token(&secret.hash()).await? else {
        return Ok(());
    };
    if revocable_by(&token, client) {
        state
            .store
            .revoke_access_token(token.id, state.clock.now())
            .await?;
    }
    Ok(())
}

async fn revoke_refresh_token(
    state: &AppState,
    client: &AuthenticatedClient,
    presented: &str,
) -> Result<(), OAuthError> {
    let Ok(secret) = Secret::parse(SecretKind::RefreshToken, presented) else {
        return Ok(());
    };
    let Some(token) = state.store.refresh_token(&secret.hash()).await? else {
        return Ok(());
    };
    if let (true, Some(family_id)) = (revocable_by(&token, client), token.family_id) {
        state
            .store
            .revoke_family(family_id, state.clock.now(), None)
            .await?;
    }
    Ok(())
}
