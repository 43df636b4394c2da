//! `POST /oauth/introspect` (RFC 7662): a resource server asks whether a token or an API key
//! is active and what it may do. Only confidential clients authenticated with their secret may
//! ask (RFC 7662 §2.1, against token scanning); which credentials each may see is decided by
//! [`may_introspect`] (tokens: its own, its account's with the `introspect` permission, every
//! account's only when the operator allowed it) and [`may_introspect_account`] (API keys: the
//! same, but none is its own). Anything else, and every credential that is not active, is
//! exactly `{"active":false}` (§2.2), so the answer never tells whether a credential exists.
//!
//! Access tokens and API keys are checked as the REST API checks them, through the credential
//! cache, and answered with the same fields, so one resource server code path takes both.
//! Checking a key this way neither counts against its account's rate limit (this endpoint is
//! not under `/api/v1`) nor records a use of it (`last_used_at`).

use std::sync::Arc;

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::post;
use axum::{Json, Router};
use gatekey_core::audit::CredentialRef;
use gatekey_core::oauth::exchange::effective_token_scopes;
use gatekey_core::oauth::introspection::{
    may_introspect, may_introspect_account, refresh_token_visible, TokenOwner,
};
use gatekey_core::oauth::jwt_access_token::looks_like_jwt;
use gatekey_core::oauth::store::TokenStore;
use gatekey_core::oauth::token::TokenRecord;
use gatekey_core::role_scopes::AccountScopes;
use gatekey_core::secret::{Secret, SecretKind};
use gatekey_core::store::StoreError;
use gatekey_proto::oauth::IntrospectionResponse;

use super::client_auth::AuthenticatedClient;
use super::client_request::ClientRequest;
use super::error::{no_store, post_only, OAuthError};
use crate::auth::access_token::{check_access_token, check_jwt_access_token};
use crate::auth::api_key::verify_api_key;
use crate::auth::cache::{CachedKey, CredentialSource};
use crate::error::ApiError;
use crate::state::AppState;

/// `token_type` of an introspected API key.
const API_KEY_TOKEN_TYPE: &str = "api_key";

/// The introspection endpoint's routes.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route(
            "/oauth/introspect",
            post(introspect_token).fallback(post_only),
        )
        .layer(no_store())
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
    // `token_type_hint` is not read: the prefix says what the credential is, so a missing,
    // wrong or unknown hint changes nothing (RFC 7662 §2.1 lets the server ignore it).
    let answer = match SecretKind::of(presented) {
        // Access tokens and API keys go through the same cache as the REST API: a revocation
        // anywhere evicts them, and an active one is answered without touching the database.
        Some(SecretKind::AccessToken) => {
            describe_checked(&state, &client, check_access_token(&state, presented).await)?
        }
        // A JWT access token (RFC 9068), checked like one presented to the REST API but for
        // any audience: the resource server asking is the audience.
        None if looks_like_jwt(presented) => describe_checked(
            &state,
            &client,
            check_jwt_access_token(&state, presented, None).await,
        )?,
        Some(SecretKind::ApiKey) => {
            describe_checked(&state, &client, verify_api_key(&state, presented).await)?
        }
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

/// The answer for the outcome of the REST API's check of an access token or API key: a refusal
/// is `{"active":false}`, except a storage failure, which is `503` so the resource server
/// retries rather than takes a good credential for a bad one.
fn describe_checked(
    state: &AppState,
    client: &AuthenticatedClient,
    checked: Result<Arc<CachedKey>, ApiError>,
) -> Result<IntrospectionResponse, OAuthError> {
    match checked {
        Ok(entry) => Ok(describe_cached(&state.issuer, &entry, client)),
        Err(error) if error.status() == StatusCode::SERVICE_UNAVAILABLE => Err(
            OAuthError::unavailable(&StoreError::Unavailable("credential lookup failed".into())),
        ),
        Err(_) => Ok(IntrospectionResponse::inactive()),
    }
}

/// The answer for an access token or API key found valid through the credential cache, if
/// `client` may see it. `scope` is what the credential may do now (its scopes within the
/// user's current role, and for a token within its application's), as the REST API applies
/// them; `sub`, `username` and `account` are the same for a key and a token of one user.
fn describe_cached(
    issuer: &str,
    entry: &CachedKey,
    client: &AuthenticatedClient,
) -> IntrospectionResponse {
    let p = &entry.principal;
    let (visible, token_type, client_id, issued_at) = match (&entry.source, &p.credential) {
        (
            CredentialSource::AccessToken {
                application_id,
                issued_at,
                ..
            },
            CredentialRef::OAuth { client_id, .. },
        ) => {
            let owner = TokenOwner {
                application_id: *application_id,
                account_id: p.account.id,
            };
            (
                may_introspect(&client.application, owner),
                "Bearer",
                Some(client_id.clone()),
                *issued_at,
            )
        }
        (CredentialSource::ApiKey { created_at, .. }, CredentialRef::ApiKey(_)) => (
            may_introspect_account(&client.application, p.account.id),
            API_KEY_TOKEN_TYPE,
            None,
            *created_at,
        ),
        _ => return IntrospectionResponse::inactive(),
    };
    if !visible {
        return IntrospectionResponse::inactive();
    }
    IntrospectionResponse {
        active: true,
        scope: Some(p.effective_scopes().to_string()),
        client_id,
        username: Some(p.user.email.clone()),
        sub: Some(p.user.id.to_string()),
        account: Some(p.account.slug.clone()),
        account_id: Some(p.account.id),
        role: Some(p.role.as_str().to_owned()),
        exp: p.expires_at.map(|at| at.unix_timestamp()),
        iat: Some(issued_at.unix_timestamp()),
        token_type: Some(token_type.to_owned()),
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
        account_id: Some(token.account.id),
        role: None,
        exp: Some(token.expires_at.unix_timestamp()),
        iat: Some(token.created_at.unix_timestamp()),
        // Never `Bearer`: a resource server must not take a refresh token for an access token.
        token_type: Some("refresh_token".to_owned()),
        iss: Some(issuer.to_owned()),
    }
}
