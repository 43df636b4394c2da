//! Validating OpenID Connect ID tokens (OpenID Connect Core 1.0 §3.1.3.7) against the
//! server's published keys.
//!
//! The JWKS at the metadata's `jwks_uri` is fetched when the first ID token arrives and kept.
//! A token whose `kid` is not in the kept set makes the client fetch it once more before
//! refusing the token: the server publishes a new key ahead of signing with it, but this
//! client may have kept the set from before.

mod algorithm;
mod claims;
mod error;
mod jwks;
mod jws;

use std::sync::Arc;
use std::time::SystemTime;

use tokio::sync::Mutex;

pub use error::IdTokenError;

pub(crate) use claims::check_same_subject;
use claims::{check_claims, Expected, IdTokenClaims};
use jwks::{KeySet, MAX_JWKS_BYTES};

use crate::Identity;

/// Checks ID tokens of one server for one client.
#[derive(Clone)]
pub(crate) struct IdTokenVerifier {
    http: reqwest::Client,
    jwks_uri: Option<String>,
    issuer: String,
    client_id: String,
    keys: Arc<Mutex<Option<Arc<KeySet>>>>,
}

impl std::fmt::Debug for IdTokenVerifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IdTokenVerifier")
            .field("jwks_uri", &self.jwks_uri)
            .field("issuer", &self.issuer)
            .field("client_id", &self.client_id)
            .finish_non_exhaustive()
    }
}

impl IdTokenVerifier {
    /// A verifier for tokens `issuer` issues to `client_id`, signed with the keys at
    /// `jwks_uri` (fetched through `http`, which follows no redirects).
    pub(crate) fn new(
        http: reqwest::Client,
        jwks_uri: Option<String>,
        issuer: &str,
        client_id: &str,
    ) -> Self {
        Self {
            http,
            jwks_uri,
            issuer: issuer.to_owned(),
            client_id: client_id.to_owned(),
            keys: Arc::default(),
        }
    }

    /// Validates `id_token` at `now` and returns who it names. `nonce` is the one sent with
    /// the authorization request, when there was one (the code grant); the refresh and device
    /// grants have none to compare.
    pub(crate) async fn verify(
        &self,
        id_token: &str,
        nonce: Option<&str>,
        now: SystemTime,
    ) -> Result<Identity, IdTokenError> {
        let token = jws::parse(id_token)?;
        let kid = token.kid.as_deref();
        let (keys, fresh) = self.key_set(false).await?;
        let keys = match keys.find(kid, token.alg) {
            Some(_) => keys,
            None if !fresh => self.key_set(true).await?.0,
            None => keys,
        };
        let key = keys
            .find(kid, token.alg)
            .ok_or_else(|| IdTokenError::UnknownKey {
                kid: token.kid.clone(),
                alg: format!("{:?}", token.alg),
            })?;
        token.verify(key)?;
        let claims: IdTokenClaims = serde_json::from_slice(&token.payload)
            .map_err(|_| IdTokenError::Malformed("the claims are not a JSON object"))?;
        check_claims(
            claims,
            Expected {
                issuer: &self.issuer,
                client_id: &self.client_id,
                nonce,
            },
            now,
        )
    }

    /// The kept key set, fetched first when there is none or when `refetch`; and whether it
    /// was fetched by this call.
    async fn key_set(&self, refetch: bool) -> Result<(Arc<KeySet>, bool), IdTokenError> {
        let mut kept = self.keys.lock().await;
        if let (Some(keys), false) = (kept.as_ref(), refetch) {
            return Ok((keys.clone(), false));
        }
        let keys = Arc::new(self.fetch().await?);
        *kept = Some(keys.clone());
        Ok((keys, true))
    }

    async fn fetch(&self) -> Result<KeySet, IdTokenError> {
        let url = self
            .jwks_uri
            .as_deref()
            .ok_or_else(|| IdTokenError::Keys("the server's metadata names no jwks_uri".into()))?;
        let failed = |e: reqwest::Error| IdTokenError::Keys(format!("GET {url}: {e}"));
        let response = self.http.get(url).send().await.map_err(failed)?;
        if !response.status().is_success() {
            return Err(IdTokenError::Keys(format!(
                "GET {url} answered {}",
                response.status()
            )));
        }
        let too_large =
            || IdTokenError::Keys(format!("GET {url}: more than {MAX_JWKS_BYTES} bytes"));
        if response
            .content_length()
            .is_some_and(|length| length > MAX_JWKS_BYTES as u64)
        {
            return Err(too_large());
        }
        let body = response.bytes().await.map_err(failed)?;
        if body.len() > MAX_JWKS_BYTES {
            return Err(too_large());
        }
        KeySet::from_json(&body)
    }
}

#[cfg(test)]
mod test_signer;
#[cfg(test)]
mod tests;
