//! Error responses of the token, revocation and introspection endpoints (RFC 6749 §5.2):
//! `{"error","error_description"}` as JSON, never cached, built by the same [`ErrorReply`] as
//! the REST API's errors.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use gatekey_core::oauth::exchange::{ExchangeError, TokenErrorCode};
use gatekey_core::oauth::resource_indicator::InvalidTarget;
use gatekey_core::oauth::signing_key_schedule::SigningAlgorithm;
use gatekey_core::store::StoreError;
use tower_http::set_header::SetResponseHeaderLayer;

use crate::error::{ErrorReply, REALM};

/// A refused OAuth request.
#[derive(Debug)]
pub struct OAuthError {
    reply: ErrorReply,
    allow: Option<&'static str>,
}

impl OAuthError {
    fn new(status: StatusCode, code: &'static str, description: impl Into<String>) -> Self {
        ErrorReply::new(status, code, description).into()
    }

    /// 400 `invalid_request`.
    pub fn invalid_request(description: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "invalid_request", description)
    }

    /// 401 `invalid_client`, with a `WWW-Authenticate: Basic` challenge naming the scheme the
    /// endpoint supports. RFC 6749 §5.2 requires the 401 and challenge when the client tried
    /// the `Authorization` header; HTTP (RFC 9110 §15.5.2) requires the challenge on every 401,
    /// so it is sent for the other methods too.
    pub fn invalid_client(description: impl Into<String>) -> Self {
        ErrorReply::new(StatusCode::UNAUTHORIZED, "invalid_client", description)
            .with_challenge(format!("Basic realm=\"{REALM}\""))
            .into()
    }

    /// 429 `invalid_client`: too many failed authentications of this client id.
    pub fn client_throttled(retry_after: u64) -> Self {
        ErrorReply::new(
            StatusCode::TOO_MANY_REQUESTS,
            "invalid_client",
            "too many failed client authentications; retry later",
        )
        .with_retry_after(retry_after)
        .into()
    }

    /// 400 `unsupported_grant_type`.
    pub fn unsupported_grant_type(description: impl Into<String>) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            "unsupported_grant_type",
            description,
        )
    }

    /// 405: the endpoint takes only POST.
    pub fn method_not_allowed() -> Self {
        let mut error = Self::new(
            StatusCode::METHOD_NOT_ALLOWED,
            "invalid_request",
            "this endpoint takes only POST",
        );
        error.allow = Some("POST");
        error
    }

    /// 503 `temporarily_unavailable`: storage failed. The detail is logged, not returned; a
    /// failure is never answered as a success (RFC 7009 §2.2.1 names 503 for this).
    pub fn unavailable(error: &StoreError) -> Self {
        tracing::error!(%error, "storage failure at an OAuth endpoint");
        ErrorReply::storage_unavailable().into()
    }

    /// 503 `temporarily_unavailable`: no key of `algorithm` is loaded to sign with (the keys
    /// could not be loaded at start, or were deleted). Logged; the client may retry.
    pub fn no_signing_key(algorithm: SigningAlgorithm) -> Self {
        tracing::error!(%algorithm, "no signing key is loaded for a token that must be signed");
        ErrorReply::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "temporarily_unavailable",
            "the server cannot sign tokens right now; retry later",
        )
        .into()
    }

    /// The `error` code.
    pub fn code(&self) -> &'static str {
        self.reply.code()
    }
}

impl From<ErrorReply> for OAuthError {
    fn from(reply: ErrorReply) -> Self {
        Self { reply, allow: None }
    }
}

impl From<ExchangeError> for OAuthError {
    fn from(error: ExchangeError) -> Self {
        match error.code {
            TokenErrorCode::InvalidClient => Self::invalid_client(error.description),
            code => Self::new(StatusCode::BAD_REQUEST, code.as_str(), error.description),
        }
    }
}

impl From<InvalidTarget> for OAuthError {
    /// 400 `invalid_target` (RFC 8707 §2): a `resource` that is malformed or not the
    /// application's.
    fn from(error: InvalidTarget) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            InvalidTarget::CODE,
            error.to_string(),
        )
    }
}

impl From<StoreError> for OAuthError {
    fn from(error: StoreError) -> Self {
        Self::unavailable(&error)
    }
}

impl IntoResponse for OAuthError {
    fn into_response(self) -> Response {
        let mut response = self.reply.into_response();
        if let Some(allow) = self.allow {
            let headers = response.headers_mut();
            headers.insert(header::ALLOW, HeaderValue::from_static(allow));
        }
        set_no_store(&mut response);
        response
    }
}

/// Marks a response uncacheable, as RFC 6749 §5.1 requires of every response carrying tokens:
/// `Cache-Control: no-store` and `Pragma: no-cache`.
pub fn set_no_store(response: &mut Response) {
    let headers = response.headers_mut();
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
}

/// The layer form of [`set_no_store`], for every response of the token, revocation and
/// introspection endpoints, including ones axum answers itself.
pub fn no_store() -> (
    SetResponseHeaderLayer<HeaderValue>,
    SetResponseHeaderLayer<HeaderValue>,
) {
    (
        SetResponseHeaderLayer::overriding(
            header::CACHE_CONTROL,
            HeaderValue::from_static("no-store"),
        ),
        SetResponseHeaderLayer::overriding(header::PRAGMA, HeaderValue::from_static("no-cache")),
    )
}

/// Answers any method but POST with 405.
pub async fn post_only() -> OAuthError {
    OAuthError::method_not_allowed()
}
