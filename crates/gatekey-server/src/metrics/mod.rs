//! Prometheus metrics, served at `/metrics` in the OpenMetrics text format. docs/operations.md
//! lists each metric, what it means and the alerts built on it.
//!
//! Counters are counted where the event happens: requests and the storage failures they
//! answer by [`track_requests`], credential checks by the authentication, reuse detections by
//! the token endpoint, guesses by the guess throttles, rate-limit refusals by the API's
//! middleware, storage failures no request answers by the task that met them. What is a
//! state rather than an event (the invalidation feed's age, cache sizes) is read when
//! `/metrics` is asked ([`Metrics::observe`]).

mod account_labels;
mod labels;
mod requests;

use std::sync::atomic::AtomicU64;
use std::time::Duration;

use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::metrics::info::Info;
use prometheus_client::registry::Registry;

pub use account_labels::{MAX_ACCOUNT_LABELS, OTHER_ACCOUNTS};
pub use labels::{
    BackgroundOperation, CacheName, CredentialOutcome, GuessedSecret, ReusedCredential,
};
pub use requests::{
    method_label, track_requests, RequestLabels, RouteLabels, StorageFailure, UNMATCHED_ROUTE,
};

use account_labels::AccountLabels as BoundedAccounts;
use labels::{
    AccountLabels, BuildLabels, CacheLabels, CredentialLabels, OperationLabels, OutcomeLabels,
    RefusalLabels, SecretLabels,
};

type Count = Counter<u64, AtomicU64>;

/// The server's metrics.
pub struct Metrics {
    registry: Registry,
    requests: Family<RequestLabels, Count>,
    latency: Family<RouteLabels, Histogram>,
    credential_checks: Family<OutcomeLabels, Count>,
    storage_errors: Family<OperationLabels, Count>,
    reuse_detections: Family<CredentialLabels, Count>,
    guess_failures: Family<SecretLabels, Count>,
    guess_refusals: Family<RefusalLabels, Count>,
    rate_limit_refusals: Count,
    rate_limit_refusals_by_account: Family<AccountLabels, Count>,
    credit_refusals: Count,
    labelled_accounts: BoundedAccounts,
    invalidation_feed_age: Gauge<f64, AtomicU64>,
    cache_entries: Family<CacheLabels, Gauge>,
}

/// How the shared counting of limits on Redis fares: the shared-limit backend counts into
/// them, and [`Metrics::register_shared_limits`] shows them.
#[derive(Debug, Clone, Default)]
pub struct SharedLimitCounters {
    /// Checks this process counted on its own because Redis failed or was known down.
    pub fallbacks: Count,
    /// 1 while Redis answers, 0 while this process counts on its own.
    pub up: Gauge,
}

/// What [`Metrics::observe`] reads from the server when `/metrics` is asked.
#[derive(Debug, Clone, Copy)]
pub struct Snapshot {
    /// Time since the invalidation feed was last read successfully.
    pub invalidation_feed_age: Duration,
    /// Entries held by each cache.
    pub cache_entries: [(CacheName, u64); 3],
}

/// Counted per guess throttle: wrong secrets, and guesses refused by each limit. Handed to a
/// [`crate::login_throttle::GuessThrottle`], which counts into them.
#[derive(Debug, Clone)]
pub struct GuessCounters {
    failures: Count,
    refusals: Family<RefusalLabels, Count>,
    secret: &'static str,
}

impl GuessCounters {
    /// Creates the series of refusals by `limit` at zero (a series that first appears at 1 hides that
    /// first refusal from `increase()`).
    pub fn start_at_zero(&self, limit: &'static str) {
        let _ = self.refusals.get_or_create(&RefusalLabels {
            secret: self.secret,
            limit,
        });
    }

    /// One wrong secret.
    pub fn failed(&self) {
        self.failures.inc();
    }

    /// One guess refused, unchecked, by the limit named `limit` (`subject`, `address` or
    /// `capacity`, see [`crate::login_throttle::RefusedBy`]).
    pub fn refused(&self, limit: &'static str) {
        self.refusals
            .get_or_create(&RefusalLabels {
                secret: self.secret,
                limit,
            })
            .inc();
    }
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Metrics")
    }
}

impl Default for Metrics {
    fn default() -> Self {
        let latency = Family::<RouteLabels, Histogram>::new_with_constructor(|| {
            Histogram::new([
                0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
            ])
        });
        let metrics = Self {
            registry: Registry::with_prefix("gatekey"),
            requests: Family::default(),
            latency,
            credential_checks: Family::default(),
            storage_errors: Family::default(),
            reuse_detections: Family::default(),
            guess_failures: Family::default(),
            guess_refusals: Family::default(),
            rate_limit_refusals: Count::default(),
            rate_limit_refusals_by_account: Family::default(),
            credit_refusals: Count::default(),
            labelled_accounts: BoundedAccounts::default(),
            invalidation_feed_age: Gauge::default(),
            cache_entries: Family::default(),
        };
        metrics.registered().with_known_series()
    }
}

impl Metrics {
    fn registered(mut self) -> Self {
        let r = &mut self.registry;
        r.register(
            "http_requests",
            "HTTP requests by route, method and status",
            self.requests.clone(),
        );
        r.register(
            "http_request_duration_seconds",
            "HTTP request latency by route and method",
            self.latency.clone(),
        );
        r.register(
            "credential_checks",
            "Credential checks by outcome",
            self.credential_checks.clone(),
        );
        r.register(
            "storage_errors",
            "Storage failures, by the route that answered 503 or the background operation",
            self.storage_errors.clone(),
        );
        r.register(
            "token_reuse_detections",
            "Spent refresh tokens and authorization codes presented again",
            self.reuse_detections.clone(),
        );
        r.register(
            "guess_failures",
            "Wrong passwords, device user codes and client secrets",
            self.guess_failures.clone(),
        );
        r.register(
            "guess_refusals",
            "Guesses refused by a guess throttle before they were checked, by limit",
            self.guess_refusals.clone(),
        );
        r.register(
            "rate_limit_refusals",
            "API requests refused by the per-account rate limit",
            self.rate_limit_refusals.clone(),
        );
        r.register(
            "rate_limit_refusals_by_account",
            "API requests refused by the rate limit, by account (the first 20 accounts refused \
             since start; the rest as _other)",
            self.rate_limit_refusals_by_account.clone(),
        );
        r.register(
            "credit_refusals",
            "Requests refused because their API key had no credits left",
            self.credit_refusals.clone(),
        );
        r.register(
            "invalidation_feed_age_seconds",
            "Seconds since this server last read the invalidation feed successfully",
            self.invalidation_feed_age.clone(),
        );
        r.register(
            "cache_entries",
            "Entries held by each cache",
            self.cache_entries.clone(),
        );
        r.register(
            "build",
            "The running version",
            Info::new(BuildLabels {
                version: env!("CARGO_PKG_VERSION"),
            }),
        );
        self
    }

    /// Creates at zero the series whose labels are known in advance. A series that first
    /// appears at 1 hides its first event from Prometheus' `increase()`, which an alert on a
    /// rare event (one refresh-token reuse) would miss.
    fn with_known_series(self) -> Self {
        for credential in ReusedCredential::ALL {
            let _ = self.reuse_detections.get_or_create(&CredentialLabels {
                credential: credential.as_str(),
            });
        }
        for operation in BackgroundOperation::ALL {
            let _ = self.storage_errors.get_or_create(&OperationLabels {
                operation: operation.as_str().to_owned(),
            });
        }
        self
    }

    /// Counts one credential check.
    pub fn credential_check(&self, outcome: CredentialOutcome) {
        self.credential_checks
            .get_or_create(&OutcomeLabels {
                outcome: outcome.as_str(),
            })
            .inc();
    }

    /// Counts one storage failure answered at `route` (a route template).
    pub fn storage_error(&self, route: &str) {
        self.storage_errors
            .get_or_create(&OperationLabels {
                operation: route.to_owned(),
            })
            .inc();
    }

    /// Counts one storage failure of work no request answers for.
    pub fn background_storage_error(&self, operation: BackgroundOperation) {
        self.storage_error(operation.as_str());
    }

    /// Counts one spent credential presented again.
    pub fn reuse_detected(&self, credential: ReusedCredential) {
        self.reuse_detections
            .get_or_create(&CredentialLabels {
                credential: credential.as_str(),
            })
            .inc();
    }

    /// The counters of the guess throttle of `secret`.
    pub fn guess_counters(&self, secret: GuessedSecret) -> GuessCounters {
        let secret = secret.as_str();
        GuessCounters {
            failures: self
                .guess_failures
                .get_or_create(&SecretLabels { secret })
                .clone(),
            refusals: self.guess_refusals.clone(),
            secret,
        }
    }

    /// Counts one API request of the account `slug` refused by the rate limit.
    pub fn rate_limited(&self, slug: &str) {
        self.rate_limit_refusals.inc();
        self.rate_limit_refusals_by_account
            .get_or_create(&AccountLabels {
                account: self.labelled_accounts.label_for(slug),
            })
            .inc();
    }

    /// Counts one request refused because its API key had no credits left.
    pub fn usage_exceeded(&self) {
        self.credit_refusals.inc();
    }

    /// Shows the counters of the shared-limit backend; a server counting in memory has none.
    pub fn register_shared_limits(&mut self, counters: &SharedLimitCounters) {
        self.registry.register(
            "shared_limits_fallbacks",
            "Rate-limit and throttle checks this process counted on its own because the shared \
             backend (Redis) failed or was known down",
            counters.fallbacks.clone(),
        );
        self.registry.register(
            "shared_limits_up",
            "1 while the shared-limit backend (Redis) answers, 0 while this process counts on \
             its own",
            counters.up.clone(),
        );
    }

    /// Records the states read at scrape time.
    pub fn observe(&self, snapshot: &Snapshot) {
        self.invalidation_feed_age
            .set(snapshot.invalidation_feed_age.as_secs_f64());
        for (cache, entries) in snapshot.cache_entries {
            self.cache_entries
                .get_or_create(&CacheLabels {
                    cache: cache.as_str(),
                })
                .set(i64::try_from(entries).unwrap_or(i64::MAX));
        }
    }

    /// The text exposition of every metric.
    pub fn render(&self) -> String {
        let mut out = String::new();
        if prometheus_client::encoding::text::encode(&mut out, &self.registry).is_err() {
            out.clear();
        }
        out
    }
}
