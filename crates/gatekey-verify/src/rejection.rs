//! The HTTP answer for each [`VerifyError`]: RFC 6750 §3's status and `WWW-Authenticate`
//! challenge, with a body in gatekey's shape `{"error","error_description"}`.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use gatekey_proto::ErrorBody;

use crate::VerifyError;

/// Seconds a caller is asked to wait when gatekey cannot be reached.
const RETRY_AFTER_SECONDS: u32 = 1;

impl VerifyError {
    /// The HTTP status this error is answered with.
    pub fn status(&self) -> StatusCode {
        match self {
            Self::Missing | Self::InvalidToken(_) => StatusCode::UNAUTHORIZED,
            Self::MalformedRequest(_) => StatusCode::BAD_REQUEST,
            Self::InsufficientScope { .. } => StatusCode::FORBIDDEN,
            Self::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
        }
    }

    /// The error code of the body and of the challenge.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Missing => "unauthorized",
            Self::MalformedRequest(_) => "invalid_request",
            Self::InvalidToken(_) => "invalid_token",
            Self::InsufficientScope { .. } => "insufficient_scope",
            Self::Unavailable(_) => "temporarily_unavailable",
        }
    }

    /// What the caller is told. An outage's detail stays in the log.
    fn description(&self) -> String {
        match self {
            Self::Unavailable(_) => {
                "the authorization server cannot be reached; retry later".into()
            }
            other => other.to_string(),
        }
    }

    /// The `WWW-Authenticate` challenge (RFC 6750 §3): none for an outage, no error code when
    /// no credential was presented (§3.1), the needed scope with `insufficient_scope`.
    fn challenge(&self, description: &str) -> Option<String> {
        let quoted = quoted_string(description);
        match self {
            Self::Missing => Some("Bearer".to_owned()),
            Self::MalformedRequest(_) | Self::InvalidToken(_) => Some(format!(
                "Bearer error=\"{}\", error_description=\"{quoted}\"",
                self.code()
            )),
            Self::InsufficientScope { scope } => Some(format!(
                "Bearer error=\"insufficient_scope\", scope=\"{}\", error_description=\"{quoted}\"",
                quoted_string(scope)
            )),
            Self::Unavailable(_) => None,
        }
    }
}

impl IntoResponse for VerifyError {
    fn into_response(self) -> Response {
        if let Self::Unavailable(detail) = &self {
            tracing::warn!(error = %detail, "a credential could not be checked");
        }
        let description = self.description();
        let challenge = self.challenge(&description);
        let body = ErrorBody {
            error: self.code().to_owned(),
            error_description: Some(description),
        };
        let mut response = (self.status(), Json(body)).into_response();
        let headers = response.headers_mut();
        if let Some(value) = challenge.and_then(|c| HeaderValue::from_str(&c).ok()) {
            headers.insert(header::WWW_AUTHENTICATE, value);
        }
        if matches!(self, Self::Unavailable(_)) {
            headers.insert(header::RETRY_AFTER, HeaderValue::from(RETRY_AFTER_SECONDS));
        }
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        response
    }
}

/// `text` fit for an RFC 7230 quoted-string within RFC 6750's restricted character set
/// (§3: `%x20-21 / %x23-5B / %x5D-7E`): quotes, backslashes and anything else are dropped.
fn quoted_string(text: &str) -> String {
    text.chars()
        .filter(|c| matches!(*c, ' '..='~') && *c != '"' && *c != '\\')
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::TokenRefusal;

    fn challenge_of(error: VerifyError) -> (StatusCode, Option<String>) {
        let response = error.into_response();
        let challenge = response
            .headers()
            .get(header::WWW_AUTHENTICATE)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        (response.status(), challenge)
    }

    #[test]
    fn each_error_has_its_rfc_6750_challenge() {
        assert_eq!(
            challenge_of(VerifyError::Missing),
            (StatusCode::UNAUTHORIZED, Some("Bearer".into()))
        );
        let (status, challenge) = challenge_of(TokenRefusal::Expired.into());
        assert_eq!(status, StatusCode::UNAUTHORIZED);
        assert_eq!(
            challenge.as_deref(),
            Some("Bearer error=\"invalid_token\", error_description=\"the token has expired\"")
        );
        let (status, challenge) = challenge_of(VerifyError::InsufficientScope {
            scope: "notes:write".into(),
        });
        assert_eq!(status, StatusCode::FORBIDDEN);
        assert!(challenge.is_some_and(
            |c| c.starts_with("Bearer error=\"insufficient_scope\", scope=\"notes:write\"")
        ));
        assert_eq!(
            challenge_of(VerifyError::Unavailable("connection refused".into())),
            (StatusCode::SERVICE_UNAVAILABLE, None)
        );
    }

    #[test]
    fn quoted_strings_keep_only_what_rfc_6750_allows() {
        assert_eq!(quoted_string("a \"b\" \\c\né"), "a b c");
    }
}
