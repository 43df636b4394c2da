//! The state every handler shares. Built once at start-up and passed in; nothing is global.

use std::ops::Deref;
use std::sync::Arc;
use std::time::Duration;

use gatekey_core::Clock;
use gatekey_store::SqlStore;

use crate::auth::cache::CredentialCache;
use crate::config::Config;
use crate::login_throttle::LoginThrottle;
use crate::metrics::Metrics;
use crate::rate_limit::RateLimiter;

/// Shared server state; cheap to clone.
#[derive(Clone, Debug)]
pub struct AppState(Arc<Inner>);

/// What [`AppState`] holds.
#[derive(Debug)]
pub struct Inner {
    /// The database.
    pub store: SqlStore,
    /// The source of time.
    pub clock: Arc<dyn Clock>,
    /// The configuration.
    pub config: Config,
    /// The public base URL, without a trailing slash.
    pub issuer: String,
    /// Checked API keys.
    pub credentials: CredentialCache,
    /// Per-account rate limits.
    pub rate_limiter: RateLimiter,
    /// Login brute-force protection.
    pub login_throttle: LoginThrottle,
    /// Guessing protection for device user codes (RFC 8628 §5.1): failures per user and per IP.
    pub user_code_throttle: LoginThrottle,
    /// Failed client authentications at the OAuth endpoints, counted per client id.
    pub client_auth_throttle: LoginThrottle,
    /// Prometheus metrics.
    pub metrics: Metrics,
    /// Applications by client id.
    pub applications: crate::oauth::application_cache::ApplicationCache,
    /// What client credentials issuance needs, by application.
    pub service_accounts: crate::oauth::service_account_cache::ServiceAccountCache,
    /// Device authorization requests per client address.
    pub device_requests: crate::oauth::device_request_limit::DeviceRequestLimit,
}

impl AppState {
    /// Builds the state from an opened store.
    pub fn new(store: SqlStore, clock: Arc<dyn Clock>, config: Config) -> Self {
        let issuer = config.issuer();
        Self(Arc::new(Inner {
            store,
            clock,
            credentials: CredentialCache::new(Duration::from_secs(config.cache.credential_ttl)),
            rate_limiter: RateLimiter::new(config.rate_limit.clone()),
            login_throttle: LoginThrottle::new(config.login.clone()),
            user_code_throttle: LoginThrottle::new(crate::config::LoginConfig {
                max_failures_per_email: 10,
                max_failures_per_ip: 30,
                failure_window: 900,
            }),
            // Keyed by client id only (no IP is passed): 20 failures per 5 minutes.
            client_auth_throttle: LoginThrottle::new(crate::config::LoginConfig {
                max_failures_per_email: 20,
                max_failures_per_ip: u32::MAX,
                failure_window: 300,
            }),
            metrics: Metrics::default(),
            applications: crate::oauth::application_cache::ApplicationCache::new(
                Duration::from_secs(config.cache.credential_ttl),
            ),
            service_accounts: crate::oauth::service_account_cache::ServiceAccountCache::new(
                Duration::from_secs(config.cache.credential_ttl),
            ),
            device_requests: crate::oauth::device_request_limit::DeviceRequestLimit::new(
                config.device_authorization.per_ip_per_minute,
            ),
            issuer,
            config,
        }))
    }

    /// Evicts what the invalidations make stale from every cache of this server: checked
    /// credentials, applications, and client credentials contexts.
    pub fn invalidate(&self, invalidations: &[gatekey_core::store::Invalidation]) {
        self.credentials.invalidate(invalidations);
        self.applications.invalidate(invalidations);
        self.service_accounts.invalidate(invalidations);
    }

    /// Whether cookies must carry `Secure`: when the issuer is https.
    pub fn secure_cookies(&self) -> bool {
        self.issuer.starts_with("https://")
    }
}

impl Deref for AppState {
    type Target = Inner;

    fn deref(&self) -> &Inner {
        &self.0
    }
}
