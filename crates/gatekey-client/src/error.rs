//! Errors of API calls.

use gatekey_proto::ErrorBody;

/// Why an API call failed.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The server answered with an error status and (usually) an error body.
    #[error("{status}: {}", body.error_description.as_deref().unwrap_or(&body.error))]
    Api {
        /// The HTTP status.
        status: u16,
        /// The server's `error` and `error_description`.
        body: ErrorBody,
    },
    /// The request could not be sent or the response read.
    #[error("request failed: {0}")]
    Transport(#[from] reqwest::Error),
    /// The server URL is not an http(s) URL.
    #[error("the server URL must start with http:// or https://, got {0:?}")]
    BadServerUrl(String),
}

impl ClientError {
    /// The server's error code (`invalid_token`, `insufficient_scope`, …), if it sent one.
    pub fn code(&self) -> Option<&str> {
        match self {
            Self::Api { body, .. } => Some(&body.error),
            _ => None,
        }
    }
}
