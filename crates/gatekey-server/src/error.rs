//! The REST API's error: a status, an error code, a description, and for authentication
//! failures the `WWW-Authenticate` challenge of RFC 6750 §3.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use gatekey_core::page::PageError;
use gatekey_core::store::StoreError;
use gatekey_proto::ErrorBody;

/// The realm named in every Bearer challenge.
pub const REALM: &str = "gatekey";

/// An error answered to an API caller.
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    code: &'static str,
    description: String,
    challenge: Option<String>,
    retry_after: Option<u64>,
}

impl ApiError {
    /// An error with a status, a code and a description.
    pub fn new(status: StatusCode, code: &'static str, description: impl Into<String>) -> Self {
        Self {
            status,
            code,
            description: description.into(),
            challenge: None,
            retry_after: None,
        }
    }

    /// 400 `invalid_request`.
    pub fn bad_request(description: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "invalid_request", description)
    }

    /// 404 `not_found`.
    pub fn not_found(what: &str) -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "not_found",
            format!("{what} not found"),
        )
    }

    /// 409 `conflict`.
    pub fn conflict(description: impl Into<String>) -> Self {
        Self::new(StatusCode::CONFLICT, "conflict", description)
    }

    /// 403 `forbidden`: the caller's role does not allow this.
    pub fn forbidden(description: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, "forbidden", description)
    }

    /// 401 without an error code: no credential was presented (RFC 6750 §3.1).
    pub fn missing_credential() -> Self {
        let mut error = Self::new(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "authentication required",
        );
        error.challenge = Some(format!("Bearer realm=\"{REALM}\""));
        error
    }

    /// 401 `invalid_token`: the credential is malformed, unknown, expired or revoked.
    pub fn invalid_token(description: &'static str) -> Self {
        let mut error = Self::new(StatusCode::UNAUTHORIZED, "invalid_token", description);
        error.challenge = Some(format!("Bearer realm=\"{REALM}\", error=\"invalid_token\", error_description=\"{description}\""));
        error
    }

    /// 400 `invalid_request` with a Bearer challenge: a malformed authentication attempt.
    pub fn invalid_auth_request(description: &'static str) -> Self {
        let mut error = Self::new(StatusCode::BAD_REQUEST, "invalid_request", description);
        error.challenge = Some(format!("Bearer realm=\"{REALM}\", error=\"invalid_request\", error_description=\"{description}\""));
        error
    }

    /// 403 `insufficient_scope` naming the scope that is needed.
    pub fn insufficient_scope(scope: &'static str) -> Self {
        let description = format!("this request needs the {scope} scope");
        let mut error = Self::new(
            StatusCode::FORBIDDEN,
            "insufficient_scope",
            description.clone(),
        );
        error.challenge =
            Some(format!("Bearer realm=\"{REALM}\", error=\"insufficient_scope\", scope=\"{scope}\", error_description=\"{description}\""));
        error
    }

    /// 429 `rate_limited`.
    pub fn rate_limited(retry_after: u64) -> Self {
        let mut error = Self::new(
            StatusCode::TOO_MANY_REQUESTS,
            "rate_limited",
            "rate limit exceeded; retry later",
        );
        error.retry_after = Some(retry_after.max(1));
        error
    }

    /// 503 `temporarily_unavailable`: storage failed. The detail is logged, not returned.
    pub fn unavailable(detail: &str) -> Self {
        tracing::error!(error = %detail, "storage failure");
        Self::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "temporarily_unavailable",
            "storage is unavailable; retry later",
        )
    }

    /// The HTTP status.
    pub fn status(&self) -> StatusCode {
        self.status
    }
}

impl From<StoreError> for ApiError {
    fn from(error: StoreError) -> Self {
        match error {
            StoreError::NotFound => Self::not_found("resource"),
            StoreError::Conflict(what) => Self::conflict(format!("{what} already exists")),
            StoreError::Unavailable(detail) => Self::unavailable(&detail),
        }
    }
}

impl From<PageError> for ApiError {
    fn from(error: PageError) -> Self {
        Self::bad_request(error.to_string())
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = ErrorBody {
            error: self.code.to_owned(),
            error_description: Some(self.description),
        };
        let mut response = (self.status, Json(body)).into_response();
        let headers = response.headers_mut();
        if let Some(challenge) = self.challenge.and_then(|c| HeaderValue::from_str(&c).ok()) {
            headers.insert(header::WWW_AUTHENTICATE, challenge);
        }
        if let Some(seconds) = self.retry_after {
            headers.insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        response
    }
}
