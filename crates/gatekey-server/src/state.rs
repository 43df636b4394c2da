//! The state every handler shares. Built once at start-up and passed in; nothing is global.

use std::ops::Deref;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::FromRef;
use gatekey_core::gateway::route_rules::{RouteRules, Unmatched};
use gatekey_core::oauth::signing_key_material::KeyEncryptionKey;
use gatekey_core::role::Role;
use gatekey_core::role_scopes::AccountScopes;
use gatekey_core::scope::ScopeSet;
use gatekey_core::store::{Invalidation, StoreError};
use gatekey_core::Clock;
use gatekey_store::{LocalCaches, SqlStore};

use crate::auth::cache::CredentialCache;
use crate::clocked_cache::CacheTrust;
use crate::config::Config;
use crate::feed_freshness::FeedFreshness;
use crate::login_throttle::{FirstInWindow, GuessThrottle, ThrottleLimits};
use crate::metering::credits::CreditLedger;
use crate::metrics::{GuessedSecret, Metrics};
use crate::oauth::application_cache::ApplicationCache;
use crate::oauth::service_account_cache::ServiceAccountCache;
use crate::password_hashing::PasswordHashing;
use crate::rate_limit::RateLimiter;
use crate::scope_cache::ScopeCache;
use crate::shared_limits::SharedRedis;
use crate::signing::key_set::SigningKeys;

/// Wrong client secrets allowed per client and source IP within [`CLIENT_AUTH_WINDOW`].
pub const CLIENT_AUTH_FAILURES: u32 = 20;
/// The client authentication window, in seconds; also how often a client's failures are
/// audited (once per window).
pub const CLIENT_AUTH_WINDOW: u64 = 300;

/// Shared server state; cheap to clone.
#[derive(Clone, Debug)]
pub struct AppState(Arc<Inner>);

/// What [`AppState`] holds.
#[derive(Debug)]
pub struct Inner {
    /// The database, telling this server's caches of every invalidation its writes commit.
    pub store: SqlStore,
    /// The source of time.
    pub clock: Arc<dyn Clock>,
    /// The configuration.
    pub config: Config,
    /// The public base URL, without a trailing slash.
    pub issuer: String,
    /// Checked API keys and access tokens.
    pub credentials: Arc<CredentialCache>,
    /// Per-account and per-key rate limits.
    pub rate_limiter: RateLimiter,
    /// The credits this server leased of API keys that have credits.
    pub credits: Arc<CreditLedger>,
    /// Password guessing protection (sign-in and password change), per email and per IP.
    pub login_throttle: GuessThrottle,
    /// Guessing protection for device user codes (RFC 8628 §5.1): failures per user and per IP.
    pub user_code_throttle: GuessThrottle,
    /// Failed client secrets at the OAuth endpoints, per client id and source IP.
    pub client_auth_throttle: GuessThrottle,
    /// Which clients' failed authentications were audited in the current window.
    pub client_auth_audited: FirstInWindow,
    /// Which emails' throttled sign-ins and password changes were audited in the window.
    pub login_throttled_audited: FirstInWindow,
    /// Bounded password hashing.
    pub password_hashing: PasswordHashing,
    /// Prometheus metrics.
    pub metrics: Arc<Metrics>,
    /// When the invalidation feed was last read; the caches trust nothing while it is older
    /// than `cache.max_staleness_ms`.
    pub invalidation_feed: Arc<FeedFreshness>,
    /// Applications by client id.
    pub applications: Arc<ApplicationCache>,
    /// What client credentials issuance needs, by application.
    pub service_accounts: Arc<ServiceAccountCache>,
    /// The scope catalogue and what the roles hold in each account.
    pub scopes: Arc<ScopeCache>,
    /// Refused API requests, audited at most once per caller per minute.
    pub refusals: crate::auth::refusals::RefusalAudit,
    /// Device authorization requests per client address.
    pub device_requests: crate::oauth::device_request_limit::DeviceRequestLimit,
    /// Device codes per application and client address.
    pub device_codes_per_address: crate::oauth::device_codes_per_address::DeviceCodesPerAddress,
    /// The signing keys, in memory, and the key that opens them.
    pub signing_keys: Arc<SigningKeys>,
    /// The discovery documents, rendered once per scope catalogue.
    pub discovery: crate::oauth::discovery_documents::DiscoveryDocuments,
    /// The forward-auth endpoint's route rules, read once from `[gateway]`.
    pub gateway_routes: RouteRules,
    /// The header an API key's meta goes to the upstream in (`gateway.key_meta_header`).
    pub gateway_meta_header: Option<axum::http::HeaderName>,
    /// This process's name among the replicas, random at each start: the holder of the job
    /// leases it takes ([`gatekey_core::store::JobLeaseStore`]).
    pub replica_id: String,
}

impl AppState {
    /// Builds the state from an opened store, whose writes will reach the state's caches, and
    /// the key-encryption key of the signing keys (loaded by `signing::refresh_signing_keys`).
    pub fn new(
        store: SqlStore,
        clock: Arc<dyn Clock>,
        config: Config,
        kek: KeyEncryptionKey,
        redis: Option<Arc<SharedRedis>>,
    ) -> Self {
        let issuer = config.issuer();
        let invalidation_feed = Arc::new(FeedFreshness::new(clock.now()));
        let trust = CacheTrust::new(
            Duration::from_secs(config.cache.credential_ttl),
            clock.clone(),
        )
        .while_feed_read_within(
            invalidation_feed.clone(),
            Duration::from_millis(config.cache.max_staleness_ms),
        );
        let caches = ServerCaches {
            credentials: Arc::new(CredentialCache::new(trust.clone())),
            applications: Arc::new(ApplicationCache::new(trust.clone())),
            service_accounts: Arc::new(ServiceAccountCache::new(trust.clone())),
            scopes: Arc::new(ScopeCache::new(trust)),
            credits: Arc::new(CreditLedger::default()),
        };
        let store = store.with_local_caches(Arc::new(caches.clone()));
        let mut metrics = Metrics::default();
        if let Some(redis) = &redis {
            metrics.register_shared_limits(redis.counters());
        }
        let metrics = Arc::new(metrics);
        let redis = redis.as_ref();
        let counted = |secret| metrics.guess_counters(secret);
        Self(Arc::new(Inner {
            invalidation_feed,
            store,
            clock,
            credentials: caches.credentials,
            applications: caches.applications,
            service_accounts: caches.service_accounts,
            scopes: caches.scopes,
            credits: caches.credits,
            rate_limiter: RateLimiter::new(config.rate_limit.clone(), redis),
            login_throttle: GuessThrottle::new(ThrottleLimits::login(&config.login))
                .counted_by(counted(GuessedSecret::Password))
                .shared_in(redis, "login"),
            user_code_throttle: GuessThrottle::new(ThrottleLimits {
                per_subject: 10,
                per_ip: Some(30),
                window: 900,
                forgive_on_success: false,
            })
            .counted_by(counted(GuessedSecret::UserCode))
            .shared_in(redis, "user_code"),
            // Keyed by client id and source IP together, so that nobody can lock a client out
            // from its own servers: 20 wrong secrets per 5 minutes.
            client_auth_throttle: GuessThrottle::new(ThrottleLimits {
                per_subject: CLIENT_AUTH_FAILURES,
                per_ip: None,
                window: CLIENT_AUTH_WINDOW,
                forgive_on_success: true,
            })
            .counted_by(counted(GuessedSecret::ClientSecret))
            .shared_in(redis, "client_secret"),
            client_auth_audited: FirstInWindow::new(CLIENT_AUTH_WINDOW),
            login_throttled_audited: FirstInWindow::new(config.login.failure_window),
            password_hashing: PasswordHashing::new(&config.password_hashing),
            metrics: metrics.clone(),
            refusals: crate::auth::refusals::RefusalAudit::default(),
            device_requests: crate::oauth::device_request_limit::DeviceRequestLimit::new(
                config.device_authorization.per_ip_per_minute,
            ),
            device_codes_per_address:
                crate::oauth::device_codes_per_address::DeviceCodesPerAddress::new(
                    config.device_authorization.max_pending_per_address,
                    config.device_code_ttl,
                ),
            signing_keys: Arc::new(SigningKeys::new(kek)),
            discovery: Default::default(),
            gateway_routes: gateway_routes(&config),
            gateway_meta_header: config.gateway.key_meta_header_name().ok().flatten(),
            replica_id: format!("{:032x}", rand::random::<u128>()),
            issuer,
            config,
        }))
    }

    /// What the roles hold in `account_id` (built-in and catalogue scopes), from the cache.
    pub async fn account_scopes(&self, account_id: i64) -> Result<Arc<AccountScopes>, StoreError> {
        self.scopes.of_account(&self.store, account_id).await
    }

    /// Everything `role` holds in `account_id`.
    pub async fn role_scopes(&self, account_id: i64, role: Role) -> Result<ScopeSet, StoreError> {
        Ok(self.account_scopes(account_id).await?.held_by(role).clone())
    }

    /// Whether cookies must carry `Secure`: when the issuer is https.
    pub fn secure_cookies(&self) -> bool {
        self.issuer.starts_with("https://")
    }
}

/// The metrics alone, for middleware that needs nothing else.
impl FromRef<AppState> for Arc<Metrics> {
    fn from_ref(state: &AppState) -> Self {
        state.metrics.clone()
    }
}

/// Every cache of this server, which the store tells of each invalidation: those its own
/// writes commit, and those the feed brings from other processes.
#[derive(Debug, Clone)]
struct ServerCaches {
    credentials: Arc<CredentialCache>,
    applications: Arc<ApplicationCache>,
    service_accounts: Arc<ServiceAccountCache>,
    scopes: Arc<ScopeCache>,
    credits: Arc<CreditLedger>,
}

impl LocalCaches for ServerCaches {
    fn invalidate(&self, invalidations: &[Invalidation]) {
        self.credits.invalidate(invalidations);
        self.credentials.invalidate(invalidations);
        self.applications.invalidate(invalidations);
        self.service_accounts.invalidate(invalidations);
        self.scopes.invalidate(invalidations);
    }
}

impl Deref for AppState {
    type Target = Inner;

    fn deref(&self) -> &Inner {
        &self.0
    }
}

/// The route rules of `config`. [`Config::load`] has refused bad rules already; a
/// configuration built in code that slipped past it gets rules that deny everything, never
/// rules that allow more than written.
fn gateway_routes(config: &Config) -> RouteRules {
    config.gateway.route_rules().unwrap_or_else(|error| {
        tracing::error!(%error, "gateway route rules refused; the forward-auth endpoint denies every request");
        RouteRules::new(Vec::new(), Unmatched::Deny)
    })
}
