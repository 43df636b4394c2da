//! Limits counted in Redis, so that every replica counts toward one total: the per-account
//! rate limit ([`windows`]) and the guess throttles ([`guesses`]). Configured by
//! `rate_limit.backend = "redis"`; see docs/architecture.md, "What holds across replicas".
//!
//! Redis is a help, never a dependency of answering: a call that fails or takes longer than
//! `rate_limit.redis_timeout_ms` marks Redis down, and while it is down every check is counted
//! by the process alone (the in-memory counters the `memory` backend uses), counted in
//! `gatekey_shared_limits_fallbacks_total`. No request asks Redis meanwhile: a watcher pings it
//! every [`PROBE_INTERVAL`], and the first answer makes the counting shared again.

mod breaker;
pub mod guesses;
pub mod windows;

use std::sync::{Arc, Weak};
use std::time::Duration;

use redis::aio::{ConnectionManager, ConnectionManagerConfig};

use crate::config::RateLimitConfig;
use crate::metrics::SharedLimitCounters;
use breaker::Breaker;

/// How often a Redis that is down is pinged.
pub const PROBE_INTERVAL: Duration = Duration::from_millis(250);

/// Why a shared count was not had; the caller counts on its own instead.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Unshared;

/// The connection to Redis and what is known of its health.
pub struct SharedRedis {
    connection: ConnectionManager,
    prefix: String,
    timeout: Duration,
    breaker: Breaker,
    counters: SharedLimitCounters,
}

/// No connection internals, no URL.
impl std::fmt::Debug for SharedRedis {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SharedRedis")
            .field("prefix", &self.prefix)
            .field("up", &self.breaker.is_up())
            .finish_non_exhaustive()
    }
}

/// Redis could not be reached when the server started.
#[derive(Debug, thiserror::Error)]
#[error("rate_limit.redis_url {url}: cannot reach Redis: {reason}")]
pub struct RedisStartError {
    url: String,
    reason: String,
}

impl SharedRedis {
    /// Connects to the configured Redis, or says why not. `None` with the `memory` backend.
    pub async fn connect(config: &RateLimitConfig) -> Result<Option<Arc<Self>>, RedisStartError> {
        let Some(url) = config.redis() else {
            return Ok(None);
        };
        let fail = |reason: String| RedisStartError {
            url: url.to_string(),
            reason,
        };
        let timeout = Duration::from_millis(config.redis_timeout_ms);
        let client = redis::Client::open(url.expose()).map_err(|error| fail(error.to_string()))?;
        let manager = ConnectionManagerConfig::new()
            .set_connection_timeout(timeout.max(Duration::from_secs(1)))
            .set_response_timeout(timeout)
            // Reconnecting is retried by the watcher's pings, not inside a request.
            .set_number_of_retries(0);
        let connection = tokio::time::timeout(
            timeout.max(Duration::from_secs(2)),
            ConnectionManager::new_with_config(client, manager),
        )
        .await
        .map_err(|_| fail("no answer".to_owned()))?
        .map_err(|error| fail(error.to_string()))?;
        let shared = Self {
            connection,
            prefix: config.redis_key_prefix.clone(),
            timeout,
            breaker: Breaker::new(),
            counters: SharedLimitCounters::default(),
        };
        shared
            .ping()
            .await
            .map_err(|error| fail(error.to_string()))?;
        shared.counters.up.set(1);
        let shared = Arc::new(shared);
        tokio::spawn(Self::watch(Arc::downgrade(&shared)));
        Ok(Some(shared))
    }

    /// While Redis is down, pings it every [`PROBE_INTERVAL`] until it answers; ends with the
    /// server.
    async fn watch(redis: Weak<Self>) {
        let mut ticks = tokio::time::interval(PROBE_INTERVAL);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            ticks.tick().await;
            let Some(redis) = redis.upgrade() else {
                return;
            };
            if redis.breaker.is_up() {
                continue;
            }
            let answered = tokio::time::timeout(redis.timeout, redis.ping()).await;
            if matches!(answered, Ok(Ok(()))) {
                redis.answered();
            }
        }
    }

    fn answered(&self) {
        if self.breaker.succeeded() {
            self.counters.up.set(1);
            tracing::info!("Redis answers again; limits are counted across replicas");
        }
    }

    /// What this backend counts into, for `/metrics`.
    pub fn counters(&self) -> &SharedLimitCounters {
        &self.counters
    }

    async fn ping(&self) -> redis::RedisResult<()> {
        let mut connection = self.connection.clone();
        redis::cmd("PING")
            .query_async::<String>(&mut connection)
            .await
            .map(drop)
    }

    /// Runs `script` with `keys` and `args`, unless Redis is known down; a failure or a
    /// timeout marks it down.
    async fn run<T: redis::FromRedisValue>(
        &self,
        script: &redis::Script,
        keys: &[&str],
        args: &[i64],
    ) -> Result<T, Unshared> {
        if !self.breaker.is_up() {
            return Err(Unshared);
        }
        let mut invocation = script.prepare_invoke();
        for key in keys {
            invocation.key(*key);
        }
        for arg in args {
            invocation.arg(*arg);
        }
        let mut connection = self.connection.clone();
        let answer =
            tokio::time::timeout(self.timeout, invocation.invoke_async::<T>(&mut connection)).await;
        match answer {
            Ok(Ok(value)) => Ok(value),
            Ok(Err(error)) => Err(self.failed(&error.to_string())),
            Err(_) => Err(self.failed("no answer within rate_limit.redis_timeout_ms")),
        }
    }

    fn failed(&self, reason: &str) -> Unshared {
        if self.breaker.failed() {
            self.counters.up.set(0);
            tracing::warn!(
                reason,
                "Redis failed; each replica counts rate limits and throttles on its own until \
                 it answers again"
            );
        }
        Unshared
    }

    /// Counts one check that this process counted on its own.
    fn fell_back(&self) -> Unshared {
        self.counters.fallbacks.inc();
        Unshared
    }

    /// A key of this installation: `{prefix}:{kind}:{{subject}}{suffix}`. The subject is a
    /// hash tag, so that the keys of one script share a slot on a Redis cluster.
    fn key(&self, kind: &str, subject: &str, suffix: &str) -> String {
        format!("{}:{kind}:{{{subject}}}{suffix}", self.prefix)
    }
}
