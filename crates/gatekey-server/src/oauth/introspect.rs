//! `POST /oauth/introspect` (RFC 7662): a resource server asks whether a token is active and
//! what it may do. Only confidential clients authenticated with their secret may ask (RFC 7662
//! §2.1, against token scanning); which tokens each may see is decided by
//! [`may_introspect`]: its own, its account's with the `introspect` permission, every account's
//! only when the operator allowed it. Anything else, and every token that is not active, is
//! exactly `{"active":false}` (§2.2), so the answer never tells whether a token exists.

use axum::extract::State;
use axum::http::StatusCode;
use axum::middleware::map_response;
use axum::routing::post;
use axum::{Json, Router};
use gatekey_core::audit::CredentialRef;
use gatekey_core::oauth::exchange::effective_token_scopes;
use gatekey_core::oauth::introspection::{may_introspect, refresh_token_visible, TokenOwner};
use gatekey_core::oauth::store::TokenStore;
use gatekey_core::oauth::token::TokenRecord;
use gatekey_core::role_scopes::AccountScopes;
use gatekey_core::secret::{Secret, SecretKind};
use gatekey_core::store::StoreError;
use gatekey_proto::oauth::IntrospectionResponse;

use super::client_auth::AuthenticatedClient;
use super::client_request::ClientRequest;
use super::error::{no_store, post_only, OAuthError};
use crate::auth::access_token::check_access_token;
use crate::auth::cache::{CachedKey, CredentialSource};
use crate::state::AppState;

/// The introspection endpoint's routes.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route(
            "/oauth/introspect",
            post(introspect_token).fallback(post_only),
        )
        .layer(map_response(no_store))
}

/// `POST /oauth/introspect`.
async fn introspect_token(
    State(state): State<AppState>,
    request: ClientRequest,
) -> Result<Json<IntrospectionResponse>, OAuthError> {
    let client = request.authenticate(&state).await?;
    if !client.is_confidential() {
        return Err(OAuthError::invalid_client(
            "introspection needs a confidential client authenticated with its secret",
        ));
    }
    let presented = request.form.require("token")?;
    let now = state.clock.now();
    let answer = match SecretKind::of(presented) {
        // Access tokens go through the same cache as the REST API: a revocation anywhere
        // evicts them, and an active token is answered without touching the database.
        Some(SecretKind::AccessToken) => match check_access_token(&state, presented).await {
            Ok(entry) => describe_cached(&state.issuer, &entry, &client),
            Err(error) if error.status() == StatusCode::SERVICE_UNAVAILABLE => {
                return Err(OAuthError::unavailable(&StoreError::Unavailable(
                    "token lookup failed".into(),
                )));
            }
            Err(_) => IntrospectionResponse::inactive(),
        },
        Some(SecretKind::RefreshToken) => {
            match Secret::parse(SecretKind::RefreshToken, presented) {
                Ok(secret) => match state
                    .store
                    .refresh_token(&secret.hash())
                    .await?
                    .filter(|token| refresh_token_visible(&client.application, token, now))
                {
                    Some(token) => {
                        let held = state.account_scopes(token.account.id).await?;
                        describe_refresh_token(&state.issuer, &token, &held)
                    }
                    None => IntrospectionResponse::inactive(),
                },
                Err(_) => IntrospectionResponse::inactive(),
            }
        }
        _ => IntrospectionResponse::inactive(),
    };
    Ok(Json(answer))
}

/// The answer for an access token found valid through the credential cache.
fn describe_cached(
    issuer: &str,
    entry: &CachedKey,
    client: &AuthenticatedClient,
) -> IntrospectionResponse {
    let CredentialSource::AccessToken {
        application_id,
        issued_at,
        ..
    } = entry.source
    else {
        return IntrospectionResponse::inactive();
    };
    let CredentialRef::OAuth { client_id, .. } = &entry.principal.credential else {
        return IntrospectionResponse::inactive();
    };
    let p = &entry.principal;
    let owner = TokenOwner {
        application_id,
        account_id: p.account.id,
    };
    if !may_introspect(&client.application, owner) {
        return IntrospectionResponse::inactive();
    }
    IntrospectionResponse {
        active: true,
        scope: Some(p.effective_scopes().to_string()),
        client_id: Some(client_id.clone()),
        username: Some(p.user.email.clone()),
        sub: Some(p.user.id.to_string()),
        account: Some(p.account.slug.clone()),
        exp: p.expires_at.map(|at| at.unix_timestamp()),
        iat: Some(issued_at.unix_timestamp()),
        token_type: Some("Bearer".to_owned()),
        iss: Some(issuer.to_owned()),
    }
}

/// The answer for an active refresh token. `scope` is what the token may do now: its effective scopes
/// (granted ∩ the application's current scopes ∩ what the user's current role holds, `held`),
/// as the REST API applies them.
fn describe_refresh_token(
    issuer: &str,
    token: &TokenRecord,
    held: &AccountScopes,
) -> IntrospectionResponse {
    IntrospectionResponse {
        active: true,
        scope: Some(effective_token_scopes(token, held).to_string()),
        client_id: Some(token.application.client_id.clone()),
        username: Some(token.user.email.clone()),
        sub: Some(token.user.id.to_string()),
        account: Some(token.account.slug.clone()),
        exp: Some(token.expires_at.unix_timestamp()),
        iat: Some(token.created_at.unix_timestamp()),
        // Never `Bearer`: a resource server must not take a refresh token for an access token.
        token_type: Some("refresh_token".to_owned()),
        iss: Some(issuer.to_owned()),
    }
}
