//! Errors of the client: API calls, token requests, options, token commands and the cache.

use gatekey_proto::ErrorBody;

use crate::{CommandError, ConnectionError, IdTokenError};

/// Why a call failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ClientError {
    /// The server answered an API call with an error status and (usually) an error body.
    #[error("{status}: {}", body.error_description.as_deref().unwrap_or(&body.error))]
    Api {
        /// The HTTP status.
        status: u16,
        /// The server's `error` and `error_description`.
        body: ErrorBody,
    },
    /// The authorization server refused a token request (RFC 6749 §5.2), e.g. `invalid_grant`
    /// for a spent or revoked refresh token.
    #[error("the authorization server refused the token request: {error}{}{}",
        description.as_deref().map(|d| format!(" ({d})")).unwrap_or_default(),
        hint.map(|h| format!("; {h}")).unwrap_or_default())]
    OAuth {
        /// The RFC 6749 error code.
        error: String,
        /// The server's `error_description`.
        description: Option<String>,
        /// What the user can do about it, when the client knows.
        hint: Option<&'static str>,
    },
    /// The access token has expired or was refused, and this connection has nothing that could
    /// obtain a new one.
    #[error(
        "the access token has expired and nothing can renew it: supply a new AccessToken \
         (set_access_token), an AccessTokenCommand or a RefreshToken"
    )]
    AccessTokenExpired,
    /// The connection options are incomplete or wrong.
    #[error(transparent)]
    Connection(#[from] ConnectionError),
    /// The `AccessTokenCommand` failed.
    #[error("AccessTokenCommand: {0}")]
    Command(#[from] CommandError),
    /// The server's metadata document (RFC 8414) is missing, unreadable, or names another
    /// issuer or lacks an endpoint this method needs.
    #[error("server metadata: {0}")]
    Metadata(String),
    /// The server's ID token (OpenID Connect) failed validation; the variant names the check.
    /// The tokens that came with it are not used.
    #[error("ID token refused: {0}")]
    IdToken(#[from] IdTokenError),
    /// An interactive login (browser or device) did not complete.
    #[error("login failed: {0}")]
    Login(String),
    /// The token cache file could not be read or written.
    #[error("token cache {path}: {reason}")]
    TokenCache {
        /// The file.
        path: String,
        /// What went wrong.
        reason: String,
    },
    /// The request could not be sent or the response read.
    #[error("request failed: {0}")]
    Transport(#[from] reqwest::Error),
    /// The server URL is not an http(s) URL.
    #[error("the server URL must start with http:// or https://, got {0:?}")]
    BadServerUrl(String),
    /// A response was not what the protocol promises (e.g. a list without `pagination`).
    #[error("unexpected response: {0}")]
    UnexpectedResponse(String),
}

impl ClientError {
    /// The server's error code (`invalid_token`, `insufficient_scope`, `invalid_grant`, …),
    /// if it sent one.
    pub fn code(&self) -> Option<&str> {
        match self {
            Self::Api { body, .. } => Some(&body.error),
            Self::OAuth { error, .. } => Some(error),
            _ => None,
        }
    }

    /// The HTTP status of an API error.
    pub fn status(&self) -> Option<u16> {
        match self {
            Self::Api { status, .. } => Some(*status),
            _ => None,
        }
    }
}
