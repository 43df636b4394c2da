//! The router: every route, and the layers every response passes through.

use axum::extract::{DefaultBodyLimit, Request};
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware;
use axum::response::{IntoResponse, Response};
use axum::Router;
use gatekey_core::audit::truncate_for_storage;
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::trace::TraceLayer;

use crate::auth::require_caller;
use crate::error::ApiError;
use crate::metrics::track_requests;
use crate::state::AppState;
use crate::web::content_security::CONTENT_SECURITY_POLICY;

/// Most bytes of a request's method written to the logs.
const MAX_LOGGED_METHOD: usize = 16;
/// Most bytes of a request's path written to the logs.
const MAX_LOGGED_PATH: usize = 256;

/// Builds the application.
pub fn router(state: AppState) -> Router {
    let api = crate::api::routes().route_layer(middleware::from_fn_with_state(
        state.clone(),
        require_caller,
    ));
    let mut app = Router::new()
        .merge(api)
        .merge(crate::api::self_authenticating_routes())
        .merge(crate::api::openapi::route(&state.issuer))
        .merge(crate::web::routes())
        .merge(crate::oauth::routes())
        .merge(crate::gateway::routes())
        .merge(crate::leak_reports::routes(&state.config.leak_reports))
        .merge(crate::health::probes());
    if state.config.operations.listen.is_none() {
        app = app.merge(crate::health::metrics_route());
    }
    // The layers every request passes, in one layer of the router (the first the outermost):
    // each layer given to the router on its own wraps every route in one more boxed service,
    // which each request would cross.
    app.fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer((
            TraceLayer::new_for_http().make_span_with(|request: &Request| {
                // The path only: a query string could carry a credential someone sent by mistake.
                // Both are cut, since a client may send a method or path of many kilobytes.
                tracing::debug_span!(
                    "request",
                    method = %truncate_for_storage(request.method().as_str(), MAX_LOGGED_METHOD),
                    path = %truncate_for_storage(loggable_path(request.uri().path()), MAX_LOGGED_PATH)
                )
            }),
            security_headers(),
            middleware::from_fn_with_state(state.clone(), track_requests),
            DefaultBodyLimit::max(state.config.http.body_limit),
        ))
        .with_state(state)
}

/// The application of the operations listener (`operations.listen`): the probes and
/// `/metrics`, counted like every other request.
pub fn operations_router(state: AppState) -> Router {
    crate::health::probes()
        .merge(crate::health::metrics_route())
        .fallback(not_found)
        .layer(middleware::from_fn_with_state(
            state.clone(),
            track_requests,
        ))
        .with_state(state)
}

/// The path as request logs show it: an invitation link's one-time secret is left out.
fn loggable_path(path: &str) -> &str {
    if path.starts_with("/invitations/") {
        "/invitations/{code}"
    } else {
        path
    }
}

async fn not_found() -> Response {
    ApiError::new(StatusCode::NOT_FOUND, "not_found", "no such endpoint").into_response()
}

async fn method_not_allowed() -> Response {
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        "this endpoint does not take that method",
    )
    .into_response()
}

/// The headers every response carries: a content security policy unless the response set its
/// own, no framing, no referrer, no content sniffing.
fn security_headers() -> (
    SetResponseHeaderLayer<HeaderValue>,
    SetResponseHeaderLayer<HeaderValue>,
    SetResponseHeaderLayer<HeaderValue>,
    SetResponseHeaderLayer<HeaderValue>,
) {
    (
        SetResponseHeaderLayer::if_not_present(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(CONTENT_SECURITY_POLICY),
        ),
        SetResponseHeaderLayer::overriding(
            header::X_FRAME_OPTIONS,
            HeaderValue::from_static("DENY"),
        ),
        SetResponseHeaderLayer::overriding(
            header::REFERRER_POLICY,
            HeaderValue::from_static("no-referrer"),
        ),
        SetResponseHeaderLayer::overriding(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ),
    )
}
