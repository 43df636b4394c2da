//! Configuring a [`Verifier`]: the issuer and the introspecting application, the resource
//! server's audience, and the cache and network options, each with a default.

use std::sync::Arc;
use std::time::Duration;

use crate::clock::{Clock, SystemClock};
use crate::secret::ClientSecret;
use crate::Verifier;

/// How long an active introspection answer is reused by default.
pub const DEFAULT_INTROSPECTION_TTL: Duration = Duration::from_secs(5);
/// The shortest time between two JWKS fetches by default.
pub const DEFAULT_JWKS_REFETCH_FLOOR: Duration = Duration::from_secs(30);
/// How long a fetched JWKS is trusted before it is fetched again on its next use, by default:
/// gatekey says `Cache-Control: max-age=3600`.
pub const DEFAULT_JWKS_MAX_AGE: Duration = Duration::from_secs(3600);
/// How far the clocks of gatekey and the resource server may disagree, by default.
pub const DEFAULT_LEEWAY: Duration = Duration::from_secs(30);
/// Credentials each cache holds at most, by default.
pub const DEFAULT_CACHE_CAPACITY: u64 = 10_000;
/// How long a request to gatekey may take, by default.
pub const DEFAULT_HTTP_TIMEOUT: Duration = Duration::from_secs(5);
/// The longest a checked JWT stays in the cache, whatever its `exp` says.
pub(crate) const MAX_JWT_CACHE_LIFETIME: Duration = Duration::from_secs(3600);

/// Why a verifier could not be built.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The issuer is not an absolute `http`/`https` URL without query or fragment.
    #[error("the issuer {0:?} is not an absolute http(s) URL without query or fragment")]
    Issuer(String),
    /// The HTTP client could not be built (no TLS backend).
    #[error("the HTTP client could not be built: {0}")]
    Http(String),
}

/// Builds a [`Verifier`]; start with [`Verifier::builder`].
#[derive(Debug)]
pub struct VerifierBuilder {
    pub(crate) issuer: String,
    pub(crate) client_id: String,
    pub(crate) client_secret: ClientSecret,
    pub(crate) audience: Option<String>,
    pub(crate) introspection_ttl: Duration,
    pub(crate) introspection_cache_capacity: u64,
    pub(crate) jwt_cache_capacity: u64,
    pub(crate) jwks_refetch_floor: Duration,
    pub(crate) jwks_max_age: Duration,
    pub(crate) leeway: Duration,
    pub(crate) http_timeout: Duration,
    pub(crate) clock: ClockOption,
}

/// The clock, behind a `Debug` that says nothing of it.
#[derive(Clone)]
pub(crate) struct ClockOption(pub(crate) Arc<dyn Clock>);

impl std::fmt::Debug for ClockOption {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Clock")
    }
}

impl VerifierBuilder {
    pub(crate) fn new(issuer: String, client_id: String, client_secret: ClientSecret) -> Self {
        Self {
            issuer,
            client_id,
            client_secret,
            audience: None,
            introspection_ttl: DEFAULT_INTROSPECTION_TTL,
            introspection_cache_capacity: DEFAULT_CACHE_CAPACITY,
            jwt_cache_capacity: DEFAULT_CACHE_CAPACITY,
            jwks_refetch_floor: DEFAULT_JWKS_REFETCH_FLOOR,
            jwks_max_age: DEFAULT_JWKS_MAX_AGE,
            leeway: DEFAULT_LEEWAY,
            http_timeout: DEFAULT_HTTP_TIMEOUT,
            clock: ClockOption(Arc::new(SystemClock)),
        }
    }

    /// This resource server's identifier (RFC 8707), as registered among the `resources` of
    /// the applications that call it. With it, JWT access tokens are verified offline and must
    /// name it in `aud`; without it, they are introspected like opaque tokens.
    pub fn audience(mut self, audience: impl Into<String>) -> Self {
        self.audience = Some(audience.into());
        self
    }

    /// How long an active introspection answer is reused (default 5 s; zero asks gatekey
    /// every time). A revoked API key or opaque token keeps working this long.
    pub fn introspection_ttl(mut self, ttl: Duration) -> Self {
        self.introspection_ttl = ttl;
        self
    }

    /// How many introspection answers are kept at most (default 10 000).
    pub fn introspection_cache_capacity(mut self, entries: u64) -> Self {
        self.introspection_cache_capacity = entries;
        self
    }

    /// How many checked JWTs are kept at most (default 10 000; zero checks every signature).
    pub fn jwt_cache_capacity(mut self, entries: u64) -> Self {
        self.jwt_cache_capacity = entries;
        self
    }

    /// The shortest time between two JWKS fetches (default 30 s), whatever triggers them.
    pub fn jwks_refetch_floor(mut self, floor: Duration) -> Self {
        self.jwks_refetch_floor = floor;
        self
    }

    /// How long a fetched JWKS is trusted before its next use fetches it again (default 1 h).
    pub fn jwks_max_age(mut self, max_age: Duration) -> Self {
        self.jwks_max_age = max_age;
        self
    }

    /// How far the clocks may disagree when `exp`, `nbf` and `iat` are judged (default 30 s).
    pub fn leeway(mut self, leeway: Duration) -> Self {
        self.leeway = leeway;
        self
    }

    /// How long one request to gatekey may take (default 5 s); past it the caller gets `503`.
    pub fn http_timeout(mut self, timeout: Duration) -> Self {
        self.http_timeout = timeout;
        self
    }

    /// The clock expiry and cache lifetimes are read on (default: the system's).
    pub fn clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = ClockOption(clock);
        self
    }

    /// The verifier. Nothing is fetched yet: the metadata and the JWKS are fetched by the
    /// first request that needs them, so a service may start before gatekey does.
    pub fn build(self) -> Result<Verifier, ConfigError> {
        Verifier::from_builder(self)
    }
}
