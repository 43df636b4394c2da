//! The pre-shared bearer token GitLab sends with every call of the token revocation API.

use axum::http::header::{AUTHORIZATION, WWW_AUTHENTICATE};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};

use crate::config::LeakReportsConfig;
use crate::error::ApiError;

/// A call without the configured GitLab token: 401, the token never logged.
pub struct GitlabTokenRefused;

impl IntoResponse for GitlabTokenRefused {
    fn into_response(self) -> Response {
        let mut response = ApiError::new(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "a valid bearer token is required",
        )
        .into_response();
        response
            .headers_mut()
            .insert(WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        response
    }
}

/// Checks `Authorization: Bearer …` against `leak_reports.gitlab_token`.
pub fn require_gitlab_token(
    config: &LeakReportsConfig,
    headers: &HeaderMap,
) -> Result<(), GitlabTokenRefused> {
    let presented = headers
        .get(AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.strip_prefix("Bearer "))
        .unwrap_or_default();
    if config.gitlab_token_matches(presented.trim()) {
        Ok(())
    } else {
        Err(GitlabTokenRefused)
    }
}
