//! The [`Verifier`]: which check each credential gets, and the caches in front of them.
//!
//! - `gk_key_…` API keys and `gk_at_…` opaque access tokens are introspected (RFC 7662), and
//!   an active answer is reused for `introspection_ttl` (never past the credential's `exp`).
//!   Inactive answers are not kept: a wrong credential costs gatekey little (its checksum
//!   fails before any lookup), and a refusal is never served from memory.
//! - A JWT access token (RFC 9068) is verified offline against the JWKS when an audience is
//!   configured, and kept until its `exp`, so a repeated token costs a hash and a lookup.
//!   Without an audience it is introspected like an opaque token.
//! - Anything else is refused without asking gatekey.

use std::sync::Arc;
use std::time::SystemTime;

use axum::http::HeaderMap;

use crate::bearer::bearer_credential;
use crate::builder::{ConfigError, VerifierBuilder, MAX_JWT_CACHE_LIFETIME};
use crate::cache::CallerCache;
use crate::discovery::Discovery;
use crate::introspection::{caller_of, Introspector};
use crate::jwt::{looks_like_jwt, parse, MAX_TOKEN_LENGTH};
use crate::jwt_claims::{check_claims, read_claims, Expected};
use crate::key_cache::KeyCache;
use crate::secret::{ClientSecret, CredentialDigest};
use crate::{Caller, TokenRefusal, VerifyError};

/// The prefixes of the credentials gatekey introspects: API keys and opaque access tokens.
const INTROSPECTED_PREFIXES: [&str; 2] = ["gk_key_", "gk_at_"];

/// Checks gatekey credentials for one resource server. Cheap to clone: clones share their
/// caches. `Debug` shows the configuration, never the client secret.
#[derive(Clone)]
pub struct Verifier {
    inner: Arc<Inner>,
}

struct Inner {
    discovery: Discovery,
    introspector: Introspector,
    audience: Option<String>,
    leeway: std::time::Duration,
    keys: KeyCache,
    jwt_cache: CallerCache,
    introspection_cache: CallerCache,
    introspection_ttl: std::time::Duration,
}

impl std::fmt::Debug for Verifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Verifier")
            .field("issuer", &self.inner.discovery.issuer())
            .field("introspector", &self.inner.introspector)
            .field("audience", &self.inner.audience)
            .finish_non_exhaustive()
    }
}

impl Verifier {
    /// A builder for the verifier of credentials issued by `issuer` (gatekey's public URL),
    /// introspecting as the application `client_id` with `client_secret`: a confidential
    /// application with the `introspect` permission.
    pub fn builder(
        issuer: impl Into<String>,
        client_id: impl Into<String>,
        client_secret: impl Into<ClientSecret>,
    ) -> VerifierBuilder {
        VerifierBuilder::new(issuer.into(), client_id.into(), client_secret.into())
    }

    pub(crate) fn from_builder(options: VerifierBuilder) -> Result<Self, ConfigError> {
        let issuer = url::Url::parse(&options.issuer)
            .ok()
            .filter(|url| matches!(url.scheme(), "http" | "https"))
            .filter(|url| url.query().is_none() && url.fragment().is_none() && url.has_host())
            .ok_or_else(|| ConfigError::Issuer(options.issuer.clone()))?;
        // No redirects: the endpoints are the metadata's, and a redirect is no reason to send
        // the client secret or trust keys somewhere else.
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(options.http_timeout)
            .build()
            .map_err(|e| ConfigError::Http(e.to_string()))?;
        let clock = options.clock.0;
        Ok(Self {
            inner: Arc::new(Inner {
                discovery: Discovery::new(&issuer, http.clone()),
                introspector: Introspector::new(
                    http.clone(),
                    options.client_id,
                    options.client_secret,
                ),
                audience: options.audience,
                leeway: options.leeway,
                keys: KeyCache::new(
                    http,
                    clock.clone(),
                    options.jwks_refetch_floor,
                    options.jwks_max_age,
                ),
                jwt_cache: CallerCache::new(
                    options.jwt_cache_capacity,
                    MAX_JWT_CACHE_LIFETIME,
                    clock.clone(),
                ),
                introspection_cache: CallerCache::new(
                    options.introspection_cache_capacity,
                    options.introspection_ttl,
                    clock,
                ),
                introspection_ttl: options.introspection_ttl,
            }),
        })
    }

    /// Checks the `Authorization: Bearer` credential of a request's `headers`.
    pub async fn verify_headers(&self, headers: &HeaderMap) -> Result<Caller, VerifyError> {
        self.verify(bearer_credential(headers)?).await
    }

    /// Checks `credential` (an API key, an opaque access token or a JWT access token) and
    /// returns who it acts for.
    pub async fn verify(&self, credential: &str) -> Result<Caller, VerifyError> {
        if credential.len() > MAX_TOKEN_LENGTH {
            return Err(TokenRefusal::Malformed.into());
        }
        if INTROSPECTED_PREFIXES
            .iter()
            .any(|p| credential.starts_with(p))
        {
            return self.introspect(credential).await;
        }
        if looks_like_jwt(credential) {
            return match &self.inner.audience {
                Some(audience) => self.verify_jwt(credential, audience).await,
                None => self.introspect(credential).await,
            };
        }
        Err(TokenRefusal::UnknownFormat.into())
    }

    /// Checks `credential` by introspection even when it is a JWT that could be verified
    /// offline: for the operations that must see a revocation at once. The answer is cached
    /// like any other (`introspection_ttl`).
    pub async fn introspect(&self, credential: &str) -> Result<Caller, VerifyError> {
        let inner = &self.inner;
        let digest = CredentialDigest::of(credential);
        if let Some(caller) = inner.introspection_cache.get(&digest) {
            return Ok(Caller::clone(&caller));
        }
        let endpoints = inner.discovery.endpoints().await?;
        let answer = inner
            .introspector
            .introspect(&endpoints.introspection_endpoint, credential)
            .await?;
        let now = inner.introspection_cache.now();
        let caller = caller_of(answer, inner.discovery.issuer(), now)?;
        let until = earliest(now + inner.introspection_ttl, caller.expires_at);
        inner
            .introspection_cache
            .insert(digest, Arc::new(caller.clone()), until);
        Ok(caller)
    }

    /// Verifies a JWT access token offline (RFC 9068 §4), or finds it already verified.
    async fn verify_jwt(&self, token: &str, audience: &str) -> Result<Caller, VerifyError> {
        let inner = &self.inner;
        let digest = CredentialDigest::of(token);
        if let Some(caller) = inner.jwt_cache.get(&digest) {
            return Ok(Caller::clone(&caller));
        }
        let signed = parse(token)?;
        let endpoints = inner.discovery.endpoints().await?;
        let jwks_uri = endpoints.jwks_uri.as_deref().ok_or_else(|| {
            VerifyError::Unavailable("gatekey's metadata names no jwks_uri".into())
        })?;
        let key = inner.keys.key(jwks_uri, &signed.kid, signed.alg).await?;
        signed.verify(&key)?;
        let expected = Expected {
            issuer: inner.discovery.issuer(),
            audience,
            leeway: inner.leeway,
        };
        let now = inner.jwt_cache.now();
        let caller = check_claims(read_claims(&signed.payload)?, expected, now)?;
        if let Some(expires_at) = caller.expires_at {
            inner
                .jwt_cache
                .insert(digest, Arc::new(caller.clone()), expires_at);
        }
        Ok(caller)
    }
}

/// The earlier of `deadline` and `expires_at`.
fn earliest(deadline: SystemTime, expires_at: Option<SystemTime>) -> SystemTime {
    expires_at.map_or(deadline, |at| at.min(deadline))
}
