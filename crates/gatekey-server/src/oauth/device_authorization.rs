//! `POST /oauth/device_authorization` (RFC 8628 §3.1, §3.2): a device asks for a device code
//! and a user code to show its user.
//!
//! Every request stores a row, and a public client has no secret, so anyone who knows a client
//! id could fill the table. Limits answer that (RFC 8628 §5.2 leaves them to the server):
//! requests per client address per minute, checked before anything else, and pending device codes
//! per application, checked in the insert itself. So that one address cannot take all of an
//! application's slots, codes per application and address are capped too (in this process). Over either, the answer is `429 Too Many
//! Requests` (RFC 6585 §4) with `Retry-After` and the RFC 6749 §5.2 body
//! `{"error":"temporarily_unavailable"}`: `slow_down` belongs to the token endpoint's polling
//! (RFC 8628 §3.5), and `invalid_request` would tell the device its request is malformed and not
//! worth retrying, whereas this one succeeds later unchanged. `temporarily_unavailable` is the
//! registered OAuth code for "try again later" (RFC 6749 §4.1.2.1, §11.4).

use axum::extract::State;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use gatekey_core::oauth::application::GrantType;
use gatekey_core::oauth::device::{
    display_user_code, new_user_code, DeviceCodeSlot, NewDeviceCode, DEFAULT_INTERVAL_SECS,
};
use gatekey_core::oauth::exchange::{check_grant_type, requested_scopes_within};
use gatekey_core::oauth::store::DeviceStore;
use gatekey_core::secret::{Secret, SecretKind};
use gatekey_core::store::StoreError;
use gatekey_proto::ErrorBody;
use serde::Serialize;

use super::client_request::ClientRequest;
use super::error::{no_store, post_only, set_no_store, OAuthError};
use crate::state::AppState;

/// The endpoint's routes.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route(
            "/oauth/device_authorization",
            post(start_device_authorization).fallback(post_only),
        )
        .layer(no_store())
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

/// `429` with `Retry-After` and `temporarily_unavailable` (see the module documentation).
fn too_many(retry_after: u64, description: &str) -> Response {
    let body = ErrorBody {
        error: "temporarily_unavailable".to_owned(),
        error_description: Some(description.to_owned()),
    };
    let mut response = (StatusCode::TOO_MANY_REQUESTS, Json(body)).into_response();
    response
        .headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from(retry_after.max(1)));
    set_no_store(&mut response);
    response
}

/// Starts a device authorization for the authenticated client.
async fn start_device_authorization(
    State(state): State<AppState>,
    request: ClientRequest,
) -> Result<Response, OAuthError> {
    if let Some(ip) = &request.origin.ip {
        if let Err(retry_after) = state.device_requests.check(ip, state.clock.now()) {
            return Ok(too_many(
                retry_after,
                "too many device authorization requests from this address; retry later",
            ));
        }
    }
    let client = request.authenticate(&state).await?;
    let app = &client.application;
    check_grant_type(app, GrantType::DeviceCode)?;
    let scopes = requested_scopes_within(
        request.form.get("scope"),
        &app.scopes,
        &app.requestable_scopes(),
    )?;
    let now = state.clock.now();
    // One address may not take all of the application's slots (a public client needs only
    // its id); the slot is given back if no code is issued after all.
    let per_address = &state.device_codes_per_address;
    if let Some(ip) = &request.origin.ip {
        if let Err(retry_after) = per_address.take(app.id, ip, now) {
            return Ok(too_many(
                retry_after,
                "this address holds too many pending device authorizations for this \
                 application; retry later",
            ));
        }
    }
    let give_back = || {
        if let Some(ip) = &request.origin.ip {
            per_address.give_back(app.id, ip, now);
        }
    };
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
            scopes: scopes.clone(),
            created_at: now,
            expires_at: now + time::Duration::seconds(i64::try_from(ttl).unwrap_or(600)),
        };
        let max_pending = state.config.device_authorization.max_pending_per_client;
        match state
            .store
            .create_device_code_within(new, max_pending)
            .await
        {
            Ok(DeviceCodeSlot::Created(_)) => break user_code,
            Ok(DeviceCodeSlot::Full { free_at }) => {
                give_back();
                let wait = (free_at - now).whole_seconds();
                return Ok(too_many(
                    u64::try_from(wait).unwrap_or(1),
                    "this application has too many pending device authorizations; retry later",
                ));
            }
            Err(StoreError::Conflict(_)) if attempts < 5 => attempts += 1,
            Err(error) => {
                give_back();
                return Err(error.into());
            }
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
