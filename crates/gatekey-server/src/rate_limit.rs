//! Per-account rate limits: fixed one-minute and one-second windows. Counted in this process,
//! or with `rate_limit.backend = "redis"` in Redis for all replicas together
//! ([`crate::shared_limits::windows`]), falling back to this process while Redis fails; see
//! docs/architecture.md, "What holds across replicas".

use std::sync::{Arc, Mutex, PoisonError};

use moka::policy::EvictionPolicy;
use moka::sync::Cache;

use time::OffsetDateTime;

use crate::config::RateLimitConfig;
use crate::shared_limits::windows::{Counted, SharedWindows};
use crate::shared_limits::{SharedRedis, Unshared};

/// Most accounts counted at once; the least recently used go first past it.
const MAX_ACCOUNTS: u64 = 100_000;

/// The outcome of one check. On a refusal, `limit`, `reset` and `retry_after` describe the
/// window that refused (the minute or the second) and `remaining` is 0; on success they describe
/// the minute window.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateDecision {
    /// Whether the request may go on.
    pub allowed: bool,
    /// The limit reported in `X-Ratelimit-Limit`; `None` when limits are off.
    pub limit: Option<u32>,
    /// Requests left in the reported window.
    pub remaining: u32,
    /// When the reported window ends, in Unix seconds.
    pub reset: i64,
    /// Seconds to wait when refused.
    pub retry_after: u64,
}

impl RateDecision {
    /// Adds the `X-Ratelimit-Limit`, `-Remaining` and `-Reset` headers, when limits are on.
    pub fn insert_headers(&self, headers: &mut axum::http::HeaderMap) {
        use axum::http::HeaderValue;
        if let Some(limit) = self.limit {
            headers.insert("x-ratelimit-limit", HeaderValue::from(limit));
            headers.insert("x-ratelimit-remaining", HeaderValue::from(self.remaining));
            headers.insert("x-ratelimit-reset", HeaderValue::from(self.reset));
        }
    }
}

#[derive(Debug, Default, Clone, Copy)]
struct Windows {
    minute: i64,
    minute_count: u32,
    second: i64,
    second_count: u32,
}

/// Counts requests per account: in Redis with every replica's when the backend is shared and
/// Redis answers, else in a bounded cache of this process, where an account idle for a minute
/// has nothing left to count and is dropped.
#[derive(Debug)]
pub struct RateLimiter {
    config: RateLimitConfig,
    windows: Cache<i64, Arc<Mutex<Windows>>>,
    shared: Option<Arc<SharedWindows>>,
}

impl RateLimiter {
    /// A limiter with the configured limits, counting in `redis` when given.
    pub fn new(config: RateLimitConfig, redis: Option<&Arc<SharedRedis>>) -> Self {
        Self {
            shared: redis.map(|redis| {
                Arc::new(SharedWindows::new(
                    redis.clone(),
                    "account",
                    config.per_minute,
                    config.per_second,
                ))
            }),
            config,
            windows: Cache::builder()
                .max_capacity(MAX_ACCOUNTS)
                .time_to_idle(std::time::Duration::from_secs(60))
                .eviction_policy(EvictionPolicy::lru())
                .build(),
        }
    }

    /// Counts one request of `account_id` at `now` and says whether it may go on. A refused
    /// request is not counted.
    pub async fn check(&self, account_id: i64, now: OffsetDateTime) -> RateDecision {
        if self.config.per_minute == 0 && self.config.per_second == 0 {
            let minute_reset = (now.unix_timestamp().div_euclid(60) + 1) * 60;
            return RateDecision {
                allowed: true,
                limit: None,
                remaining: 0,
                reset: minute_reset,
                retry_after: 0,
            };
        }
        let counted = match &self.shared {
            Some(shared) => match shared.count(account_id, now).await {
                Ok(counted) => counted,
                Err(Unshared) => self.count_here(account_id, now),
            },
            None => self.count_here(account_id, now),
        };
        self.decide(counted, now)
    }

    /// Counts in this process.
    fn count_here(&self, account_id: i64, now: OffsetDateTime) -> Counted {
        let RateLimitConfig {
            per_minute,
            per_second,
            ..
        } = self.config;
        let second = now.unix_timestamp();
        let minute = second.div_euclid(60);
        let entry = self.windows.get_with(account_id, Arc::default);
        let mut windows = entry.lock().unwrap_or_else(PoisonError::into_inner);
        if windows.minute != minute {
            windows.minute = minute;
            windows.minute_count = 0;
        }
        if windows.second != second {
            windows.second = second;
            windows.second_count = 0;
        }
        let granted = (per_minute == 0 || windows.minute_count < per_minute)
            && (per_second == 0 || windows.second_count < per_second);
        if granted {
            windows.minute_count += 1;
            windows.second_count += 1;
        }
        Counted {
            granted,
            minute: windows.minute_count,
            second: windows.second_count,
        }
    }

    /// The answer for a request counted as `counted` at `now`: on a refusal, the window that
    /// refused (the minute first); on success, the minute window when it has a limit.
    fn decide(&self, counted: Counted, now: OffsetDateTime) -> RateDecision {
        let RateLimitConfig {
            per_minute,
            per_second,
            ..
        } = self.config;
        let second = now.unix_timestamp();
        let minute_reset = (second.div_euclid(60) + 1) * 60;
        if !counted.granted {
            if per_minute > 0 && counted.minute >= per_minute {
                return RateDecision {
                    allowed: false,
                    limit: Some(per_minute),
                    remaining: 0,
                    reset: minute_reset,
                    retry_after: u64::try_from(minute_reset - second).unwrap_or(1).max(1),
                };
            }
            return RateDecision {
                allowed: false,
                limit: Some(per_second),
                remaining: 0,
                reset: second + 1,
                retry_after: 1,
            };
        }
        let (limit, used, reset) = if per_minute > 0 {
            (per_minute, counted.minute, minute_reset)
        } else {
            (per_second, counted.second, second + 1)
        };
        RateDecision {
            allowed: true,
            limit: Some(limit),
            remaining: limit.saturating_sub(used),
            reset,
            retry_after: 0,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    impl RateLimiter {
        fn check_now(&self, account_id: i64, now: OffsetDateTime) -> RateDecision {
            self.decide(self.count_here(account_id, now), now)
        }
    }

    fn at(seconds: i64) -> OffsetDateTime {
        OffsetDateTime::from_unix_timestamp(seconds).unwrap()
    }

    #[test]
    fn second_and_minute_windows() {
        let limiter = RateLimiter::new(
            RateLimitConfig {
                per_minute: 5,
                per_second: 2,
                ..RateLimitConfig::default()
            },
            None,
        );
        assert!(limiter.check_now(1, at(600)).allowed);
        assert!(limiter.check_now(1, at(600)).allowed);
        let refused = limiter.check_now(1, at(600));
        assert!(!refused.allowed);
        assert_eq!(
            (
                refused.limit,
                refused.remaining,
                refused.reset,
                refused.retry_after
            ),
            (Some(2), 0, 601, 1),
            "the second window refused, and the answer describes it"
        );
        assert!(
            limiter.check_now(2, at(600)).allowed,
            "accounts are counted apart"
        );
        assert!(limiter.check_now(1, at(601)).allowed);
        assert!(limiter.check_now(1, at(602)).allowed);
        let last = limiter.check_now(1, at(603));
        assert!(last.allowed);
        assert_eq!(last.remaining, 0);
        let full = limiter.check_now(1, at(604));
        assert!(!full.allowed);
        assert_eq!(
            (full.limit, full.remaining, full.reset, full.retry_after),
            (Some(5), 0, 660, 56)
        );
        assert!(limiter.check_now(1, at(660)).allowed);
    }
}
