//! `POST /oauth/device_authorization` (RFC 8628 §3.1, §3.2): a device asks for a device code
//! and a user code to show its user.

use axum::extract::State;
use axum::http::HeaderMap;
use axum::middleware::map_response;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use gatekey_core::oauth::application::GrantType;
use gatekey_core::oauth::device::{
    display_user_code, new_user_code, NewDeviceCode, DEFAULT_INTERVAL_SECS,
};
use gatekey_core::oauth::exchange::{requested_scopes, ExchangeError, TokenErrorCode};
use gatekey_core::oauth::store::DeviceStore;
use gatekey_core::secret::{Secret, SecretKind};
use gatekey_core::store::StoreError;
use serde::Serialize;

use super::client_auth::authenticate_client;
use super::error::{no_store, post_only, OAuthError};
use super::form::OAuthForm;
use crate::auth::ClientInfo;
use crate::state::AppState;

/// The endpoint's routes.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route(
            "/oauth/device_authorization",
            post(start_device_authorization).fallback(post_only),
        )
        .layer(map_response(no_store))
}

/// The device authorization response (RFC 8628 §3.2).
#[derive(Serialize)]
struct DeviceAuthorizationResponse {
    device_code: String,
    user_code: String,
    verification_uri: String,
    verification_uri_complete: String,
    expires_in: u64,
    interval: i64,
}

fn refused(code: TokenErrorCode, description: impl Into<String>) -> OAuthError {
    ExchangeError {
        code,
        description: description.into(),
    }
    .into()
}

/// Starts a device authorization for the authenticated client.
async fn start_device_authorization(
    State(state): State<AppState>,
    origin: ClientInfo,
    headers: HeaderMap,
    form: OAuthForm,
) -> Result<Response, OAuthError> {
    let client = authenticate_client(&state, &origin, &headers, &form).await?;
    let app = &client.application;
    if !app.allows(GrantType::DeviceCode) {
        return Err(refused(
            TokenErrorCode::UnauthorizedClient,
            "this application may not use the device flow",
        ));
    }
    let scopes = requested_scopes(form.get("scope"), app.scopes)?;
    let now = state.clock.now();
    let ttl = state.config.device_code_ttl;
    let device_code = Secret::generate(SecretKind::DeviceCode);
    // A user code has about 34 bits; draw again on the rare collision with a live one.
    let mut attempts = 0;
    let user_code = loop {
        let user_code = new_user_code();
        let new = NewDeviceCode {
            hash: device_code.hash(),
            user_code: user_code.clone(),
            application_id: app.id,
            scopes,
            created_at: now,
            expires_at: now + time::Duration::seconds(i64::try_from(ttl).unwrap_or(600)),
        };
        match state.store.create_device_code(new).await {
            Ok(_) => break user_code,
            Err(StoreError::Conflict(_)) if attempts < 5 => attempts += 1,
            Err(error) => return Err(error.into()),
        }
    };
    let shown = display_user_code(&user_code);
    let body = DeviceAuthorizationResponse {
        device_code: device_code.expose().to_owned(),
        verification_uri: format!("{}/device", state.issuer),
        verification_uri_complete: format!("{}/device?user_code={shown}", state.issuer),
        user_code: shown,
        expires_in: ttl,
        interval: DEFAULT_INTERVAL_SECS,
    };
    Ok(Json(body).into_response())
}
