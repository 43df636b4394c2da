//! Where gatekey's endpoints are: its authorization server metadata (RFC 8414), fetched on
//! the first request that needs it and kept. A failed fetch is not kept, so the next request
//! tries again: a resource server may start before gatekey does.

use std::sync::Arc;

use gatekey_proto::oauth::AuthorizationServerMetadata;
use tokio::sync::OnceCell;

use crate::response_body::get_bounded;
use crate::VerifyError;

/// The endpoints the verifier uses.
#[derive(Debug)]
pub(crate) struct Endpoints {
    /// `POST /oauth/introspect` (RFC 7662).
    pub(crate) introspection_endpoint: String,
    /// The JWKS (RFC 7517), when gatekey publishes keys.
    pub(crate) jwks_uri: Option<String>,
}

/// The metadata document of one issuer, fetched once.
#[derive(Debug)]
pub(crate) struct Discovery {
    metadata_url: String,
    issuer: String,
    http: reqwest::Client,
    endpoints: OnceCell<Arc<Endpoints>>,
}

impl Discovery {
    /// The metadata of `issuer` (an absolute URL), fetched through `http`.
    pub(crate) fn new(issuer: &url::Url, http: reqwest::Client) -> Self {
        Self {
            metadata_url: metadata_url(issuer),
            issuer: issuer_string(issuer),
            http,
            endpoints: OnceCell::new(),
        }
    }

    /// The issuer identifier, as tokens and metadata must state it.
    pub(crate) fn issuer(&self) -> &str {
        &self.issuer
    }

    /// The endpoints, fetched now if they never were.
    pub(crate) async fn endpoints(&self) -> Result<Arc<Endpoints>, VerifyError> {
        self.endpoints
            .get_or_try_init(|| self.fetch())
            .await
            .cloned()
    }

    async fn fetch(&self) -> Result<Arc<Endpoints>, VerifyError> {
        let url = &self.metadata_url;
        let failed = |detail: String| VerifyError::Unavailable(format!("GET {url}: {detail}"));
        let body = get_bounded(&self.http, url)
            .await
            .map_err(VerifyError::Unavailable)?;
        let metadata: AuthorizationServerMetadata = serde_json::from_slice(&body)
            .map_err(|e| failed(format!("not an RFC 8414 document: {e}")))?;
        // RFC 8414 §3.3: the document must name the issuer it was fetched for, exactly.
        if metadata.issuer != self.issuer {
            return Err(failed(format!(
                "the document names the issuer {:?}, not {:?}",
                metadata.issuer, self.issuer
            )));
        }
        Ok(Arc::new(Endpoints {
            introspection_endpoint: metadata.introspection_endpoint,
            jwks_uri: metadata.jwks_uri,
        }))
    }
}

/// The issuer as gatekey writes it: the configured URL without a trailing slash.
fn issuer_string(issuer: &url::Url) -> String {
    issuer.as_str().trim_end_matches('/').to_owned()
}

/// RFC 8414 §3: `/.well-known/oauth-authorization-server` between the host and the issuer's
/// path, if it has one.
fn metadata_url(issuer: &url::Url) -> String {
    let origin = issuer.origin().ascii_serialization();
    let path = issuer.path().trim_end_matches('/');
    format!("{origin}/.well-known/oauth-authorization-server{path}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_metadata_url_puts_the_well_known_part_before_the_path() {
        let url = |s: &str| url::Url::parse(s).unwrap();
        assert_eq!(
            metadata_url(&url("https://id.example")),
            "https://id.example/.well-known/oauth-authorization-server"
        );
        assert_eq!(
            metadata_url(&url("http://127.0.0.1:8080/tenant/")),
            "http://127.0.0.1:8080/.well-known/oauth-authorization-server/tenant"
        );
        assert_eq!(
            issuer_string(&url("https://id.example/")),
            "https://id.example"
        );
    }
}
