//! The server's metadata document (RFC 8414), where the client learns its endpoints.

use serde::Deserialize;

use crate::ClientError;

/// What the client reads of the metadata document. Only `issuer` and `token_endpoint` are
/// required; a method that needs another endpoint says so when the server lacks it.
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct ServerMetadata {
    pub(crate) issuer: String,
    #[serde(default)]
    pub(crate) authorization_endpoint: Option<String>,
    pub(crate) token_endpoint: String,
    #[serde(default)]
    pub(crate) revocation_endpoint: Option<String>,
    #[serde(default)]
    pub(crate) device_authorization_endpoint: Option<String>,
    #[serde(default)]
    pub(crate) authorization_response_iss_parameter_supported: bool,
    /// Where the keys that sign ID tokens are published (RFC 8414 §2).
    #[serde(default)]
    pub(crate) jwks_uri: Option<String>,
}

/// Fetches `/.well-known/oauth-authorization-server` of `server` and checks that its
/// `issuer` is `server` itself (RFC 8414 §3.3), so a document copied from elsewhere cannot
/// send the client's credentials to another server.
pub(crate) async fn discover(
    http: &reqwest::Client,
    server: &str,
) -> Result<ServerMetadata, ClientError> {
    let url = format!("{server}/.well-known/oauth-authorization-server");
    let response = http.get(&url).send().await?;
    if !response.status().is_success() {
        return Err(ClientError::Metadata(format!(
            "GET {url} answered {}",
            response.status()
        )));
    }
    let metadata: ServerMetadata = response
        .json()
        .await
        .map_err(|e| ClientError::Metadata(format!("{url}: {e}")))?;
    if metadata.issuer.trim_end_matches('/') != server {
        return Err(ClientError::Metadata(format!(
            "the server says its issuer is {:?}, not {server:?}: use that as Server",
            metadata.issuer
        )));
    }
    Ok(metadata)
}
