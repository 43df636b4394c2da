//! Error answers. [`ErrorReply`] is the one body builder: `{"error","error_description"}` as
//! JSON, never cached, with the optional `WWW-Authenticate` and `Retry-After` headers. The REST
//! API's [`ApiError`] is built on it, and so is the OAuth endpoints' error (RFC 6749 §5.2) in
//! [`crate::oauth::error`]. For authentication failures the REST API adds the Bearer challenge
//! of RFC 6750 §3.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use gatekey_core::page::PageError;
use gatekey_core::store::StoreError;
use gatekey_proto::ErrorBody;

use crate::metrics::StorageFailure;

/// The realm named in every Bearer challenge.
pub const REALM: &str = "gatekey";

/// Seconds a client is asked to wait after a storage failure: an outage is answered at once,
/// and the database is probed every quarter of a second, so a retry soon is worth it.
pub const STORAGE_RETRY_AFTER: u64 = 1;

/// What every error answer holds: a status, an error code, a description, and the headers
/// that go with some of them.
#[derive(Debug)]
pub struct ErrorReply {
    status: StatusCode,
    code: &'static str,
    description: String,
    challenge: Option<String>,
    retry_after: Option<u64>,
    storage_failure: bool,
}

impl ErrorReply {
    /// An answer with a status, a code and a description.
    pub fn new(status: StatusCode, code: &'static str, description: impl Into<String>) -> Self {
        Self {
            status,
            code,
            description: description.into(),
            challenge: None,
            retry_after: None,
            storage_failure: false,
        }
    }

    /// 503 `temporarily_unavailable` with `Retry-After: 1`, for a storage failure whose detail
    /// stays in the log. The response is marked [`StorageFailure`], so the metrics count it
    /// under its route.
    pub fn storage_unavailable() -> Self {
        Self {
            storage_failure: true,
            retry_after: Some(STORAGE_RETRY_AFTER),
            ..Self::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "temporarily_unavailable",
                "storage is unavailable; retry later",
            )
        }
    }

    /// Adds a `WWW-Authenticate` challenge.
    pub fn with_challenge(mut self, challenge: String) -> Self {
        self.challenge = Some(challenge);
        self
    }

    /// Adds `Retry-After`, at least one second: zero would invite an immediate retry.
    pub fn with_retry_after(mut self, seconds: u64) -> Self {
        self.retry_after = Some(seconds.max(1));
        self
    }

    /// The HTTP status.
    pub fn status(&self) -> StatusCode {
        self.status
    }

    /// The `error` code.
    pub fn code(&self) -> &'static str {
        self.code
    }
}

impl IntoResponse for ErrorReply {
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
        if self.storage_failure {
            response.extensions_mut().insert(StorageFailure);
        }
        response
    }
}

/// An error answered to an API caller.
#[derive(Debug)]
pub struct ApiError(ErrorReply);

impl ApiError {
    /// An error with a status, a code and a description.
    pub fn new(status: StatusCode, code: &'static str, description: impl Into<String>) -> Self {
        Self(ErrorReply::new(status, code, description))
    }

    /// 400 `invalid_request`.
    pub fn bad_request(description: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "invalid_request", description)
    }

    /// 400 `invalid_scope` (RFC 6749 §5.2's code, in the REST API's error shape): a scope name
    /// that is malformed, unknown, or not allowed where it was given.
    pub fn invalid_scope(description: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "invalid_scope", description)
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
        Self(
            ErrorReply::new(
                StatusCode::UNAUTHORIZED,
                "unauthorized",
                "authentication required",
            )
            .with_challenge(format!("Bearer realm=\"{REALM}\"")),
        )
    }

    /// 401 `invalid_token`: the credential is malformed, unknown, expired or revoked.
    pub fn invalid_token(description: &'static str) -> Self {
        Self(
            ErrorReply::new(StatusCode::UNAUTHORIZED, "invalid_token", description)
                .with_challenge(bearer_challenge("invalid_token", description)),
        )
    }

    /// 400 `invalid_request` with a Bearer challenge: a malformed authentication attempt.
    pub fn invalid_auth_request(description: &'static str) -> Self {
        Self(
            ErrorReply::new(StatusCode::BAD_REQUEST, "invalid_request", description)
                .with_challenge(bearer_challenge("invalid_request", description)),
        )
    }

    /// 403 `insufficient_scope` naming the scope that is needed.
    pub fn insufficient_scope(scope: &str) -> Self {
        let description = format!("this request needs the {scope} scope");
        let challenge = format!("Bearer realm=\"{REALM}\", error=\"insufficient_scope\", scope=\"{scope}\", error_description=\"{description}\"");
        Self(
            ErrorReply::new(StatusCode::FORBIDDEN, "insufficient_scope", description)
                .with_challenge(challenge),
        )
    }

    /// 429 `rate_limited`.
    pub fn rate_limited(retry_after: u64) -> Self {
        Self(
            ErrorReply::new(
                StatusCode::TOO_MANY_REQUESTS,
                "rate_limited",
                "rate limit exceeded; retry later",
            )
            .with_retry_after(retry_after),
        )
    }

    /// 429 `usage_exceeded`: the API key has no credits left. `Retry-After` says when the key
    /// is next refilled, when it is; without a refill no wait helps, and none is given.
    pub fn usage_exceeded(retry_after: Option<u64>) -> Self {
        let reply = ErrorReply::new(
            StatusCode::TOO_MANY_REQUESTS,
            "usage_exceeded",
            match retry_after {
                Some(_) => "the API key has no credits left until its next refill",
                None => "the API key has no credits left",
            },
        );
        Self(match retry_after {
            Some(seconds) => reply.with_retry_after(seconds),
            None => reply,
        })
    }

    /// 503 `temporarily_unavailable`: storage failed. The detail is logged, not returned.
    pub fn unavailable(detail: &str) -> Self {
        tracing::error!(error = %detail, "storage failure");
        Self(ErrorReply::storage_unavailable())
    }

    /// The HTTP status.
    pub fn status(&self) -> StatusCode {
        self.0.status()
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
        self.0.into_response()
    }
}

/// A Bearer challenge naming the error (RFC 6750 §3).
fn bearer_challenge(code: &str, description: &str) -> String {
    format!("Bearer realm=\"{REALM}\", error=\"{code}\", error_description=\"{description}\"")
}
