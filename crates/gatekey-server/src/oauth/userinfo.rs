//! `GET` and `POST /oauth/userinfo` (OpenID Connect Core 1.0 §5.3): the claims about the person
//! that the access token's scopes allow, in JSON.
//!
//! The token comes as a Bearer credential (RFC 6750): in the `Authorization` header (§2.1) or,
//! for a POST, as `access_token` in a form body (§2.2); never in the URL (§2.3 is refused, since
//! URLs end up in logs), and never two ways at once (§2). It is checked like any Bearer
//! credential of the REST API, so every kind of access token gatekey issues works here. It must
//! be an OAuth access token carrying `openid`: UserInfo is about an OpenID Connect
//! authorization, which an API key is not. Errors are RFC 6750 §3's: no credential is 401 with
//! a bare challenge, a bad one 401 `invalid_token`, one without `openid` 403
//! `insufficient_scope`.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::header::{AUTHORIZATION, CACHE_CONTROL, CONTENT_TYPE};
use axum::http::request::Parts;
use axum::http::HeaderValue;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use gatekey_core::audit::CredentialRef;
use gatekey_core::oauth::identity_claims::identity_claims;
use gatekey_core::scope::IdentityScope;
use gatekey_proto::oauth::UserInfoResponse;

use crate::auth::caller::{bearer_token, check_bearer, refuse_credential_in_query};
use crate::error::ApiError;
use crate::state::AppState;

/// The UserInfo routes.
pub fn routes() -> Router<AppState> {
    Router::new().route("/oauth/userinfo", get(show_userinfo).post(post_userinfo))
}

/// `GET /oauth/userinfo`.
async fn show_userinfo(State(state): State<AppState>, parts: Parts) -> Response {
    answer(&state, &parts, None).await
}

/// `POST /oauth/userinfo`, whose form body may carry `access_token`.
async fn post_userinfo(State(state): State<AppState>, parts: Parts, body: Bytes) -> Response {
    answer(&state, &parts, Some(&body)).await
}

async fn answer(state: &AppState, parts: &Parts, body: Option<&[u8]>) -> Response {
    match userinfo(state, parts, body).await {
        Ok(claims) => {
            let mut response = Json(claims).into_response();
            response
                .headers_mut()
                .insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
            response
        }
        Err(error) => error.into_response(),
    }
}

async fn userinfo(
    state: &AppState,
    parts: &Parts,
    body: Option<&[u8]>,
) -> Result<UserInfoResponse, ApiError> {
    refuse_credential_in_query(parts)?;
    let from_header = parts
        .headers
        .get(AUTHORIZATION)
        .map(bearer_token)
        .transpose()?;
    let from_body = match body {
        Some(body) if is_form(parts) => token_in_form(body)?,
        _ => None,
    };
    let presented = match (from_header, from_body.as_deref()) {
        (Some(_), Some(_)) => {
            return Err(ApiError::invalid_auth_request(
                "the access token is sent two ways; send it once",
            ))
        }
        (Some(token), None) | (None, Some(token)) => token,
        (None, None) => return Err(ApiError::missing_credential()),
    };
    let client_ip = crate::auth::client::client_ip(parts, &state.config.http);
    let entry = check_bearer(state, presented, client_ip).await?;
    let principal = &entry.principal;
    if !matches!(principal.credential, CredentialRef::OAuth { .. }) {
        return Err(ApiError::invalid_token(
            "UserInfo accepts OAuth access tokens only",
        ));
    }
    let scopes = principal.effective_scopes();
    if !scopes.has_identity(IdentityScope::OpenId) {
        return Err(ApiError::insufficient_scope(IdentityScope::OpenId.as_str()));
    }
    let claims = identity_claims(&principal.user, &principal.account.slug, &scopes);
    Ok(UserInfoResponse {
        sub: claims.sub,
        name: claims.name,
        email: claims.email,
        email_verified: claims.email_verified,
        account: claims.account,
    })
}

fn is_form(parts: &Parts) -> bool {
    parts
        .headers
        .get(CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.split(';').next())
        .is_some_and(|media| {
            media
                .trim()
                .eq_ignore_ascii_case("application/x-www-form-urlencoded")
        })
}

/// The `access_token` of a form body (RFC 6750 §2.2), refusing a repeated one.
fn token_in_form(body: &[u8]) -> Result<Option<String>, ApiError> {
    let mut found = None;
    for (name, value) in url::form_urlencoded::parse(body) {
        if name == "access_token" {
            if found.is_some() {
                return Err(ApiError::invalid_auth_request("access_token is repeated"));
            }
            found = Some(value.into_owned());
        }
    }
    Ok(found)
}
