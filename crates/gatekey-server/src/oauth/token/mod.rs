//! `POST /oauth/token` (RFC 6749 §3.2): authenticates the client, then hands the request to
//! the file of its grant type. Every answer carries `Cache-Control: no-store` and
//! `Pragma: no-cache` (RFC 6749 §5.1); any other method gets 405.

mod access_token_text;
mod authorization_code;
mod client_credentials;
mod device_code;
mod id_token;
mod issue;
mod refresh_token;

use axum::extract::State;
use axum::response::Response;
use axum::routing::post;
use axum::Router;
use gatekey_core::oauth::application::GrantType;
use gatekey_core::oauth::exchange::check_grant_type;
use gatekey_core::oauth::resource_indicator::requested_audience;

use self::issue::TokenRequest;
use super::client_request::ClientRequest;
use super::error::{no_store, post_only, OAuthError};
use crate::state::AppState;

/// The token endpoint's routes.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/oauth/token", post(issue_token).fallback(post_only))
        .layer(no_store())
}

/// The grant types this endpoint serves. Others are `unsupported_grant_type`.
fn served_grant_type(name: &str) -> Option<GrantType> {
    match name {
        "authorization_code" => Some(GrantType::AuthorizationCode),
        "refresh_token" => Some(GrantType::RefreshToken),
        "client_credentials" => Some(GrantType::ClientCredentials),
        "urn:ietf:params:oauth:grant-type:device_code" => Some(GrantType::DeviceCode),
        _ => None,
    }
}

/// `POST /oauth/token`.
async fn issue_token(
    State(state): State<AppState>,
    request: ClientRequest,
) -> Result<Response, OAuthError> {
    let grant_type = request.form.require("grant_type")?.to_owned();
    let client = request.authenticate(&state).await?;
    let Some(grant) = served_grant_type(&grant_type) else {
        return Err(OAuthError::unsupported_grant_type(format!(
            "the grant type {grant_type:?} is not supported"
        )));
    };
    check_grant_type(&client.application, grant)?;
    // Checked before the grant's own rules, so that a code or a refresh token is never spent
    // on a request that names a resource the application may not have.
    let audience = requested_audience(&client.application.resources, request.form.resources())?;
    let request = TokenRequest {
        state,
        client,
        form: request.form,
        origin: request.origin,
        audience,
    };
    match grant {
        GrantType::AuthorizationCode => authorization_code::exchange_code(&request).await,
        GrantType::RefreshToken => refresh_token::exchange_refresh_token(&request).await,
        GrantType::ClientCredentials => {
            client_credentials::issue_for_service_account(&request).await
        }
        GrantType::DeviceCode => device_code::poll_device(&request).await,
    }
}
