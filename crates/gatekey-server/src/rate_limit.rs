//! Rate limits: per account (fixed one-minute and one-second windows, from the configuration)
//! and per API key (one-second, one-minute and one-hour windows, the key's own limits, on top
//! of its account's). Counted in this process, or with `rate_limit.backend = "redis"` in Redis
//! for all replicas together ([`crate::shared_limits::windows`]), falling back to this process
//! while Redis fails; see docs/architecture.md, "What holds across replicas".

use std::sync::{Arc, Mutex, PoisonError};

use gatekey_core::api_key_usage::KeyLimits;
use moka::policy::EvictionPolicy;
use moka::sync::Cache;

use time::OffsetDateTime;

use crate::config::RateLimitConfig;
use crate::shared_limits::windows::{Counted, SharedWindows, WindowLimits};
use crate::shared_limits::{SharedRedis, Unshared};

/// Most accounts (and, apart, most keys) counted at once; the least recently used go first
/// past it.
const MAX_SUBJECTS: u64 = 100_000;

/// The outcome of one check. On a refusal, `limit`, `reset` and `retry_after` describe the
/// window that refused and `remaining` is 0; on success they describe the window reported
/// (for an account, its minute window; for a key, the window with the fewest requests left).
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

    /// The tighter of two allowed decisions: the one with fewer requests left (`self` on a
    /// tie), or the one with a limit when the other has none.
    pub fn tighter(self, other: Self) -> Self {
        match (self.limit, other.limit) {
            (None, Some(_)) => other,
            (Some(_), Some(_)) if other.remaining < self.remaining => other,
            _ => self,
        }
    }

    /// No limit applies: allowed, and no header to add.
    fn unlimited(now: OffsetDateTime) -> Self {
        Self {
            allowed: true,
            limit: None,
            remaining: 0,
            reset: (now.unix_timestamp().div_euclid(60) + 1) * 60,
            retry_after: 0,
        }
    }
}

#[derive(Debug, Default, Clone, Copy)]
struct Windows {
    second: i64,
    second_count: u32,
    minute: i64,
    minute_count: u32,
    hour: i64,
    hour_count: u32,
}

/// The windows of one kind of subject: in Redis with every replica's when the backend is
/// shared and Redis answers, else in a bounded cache of this process, where a subject idle for
/// an hour has nothing left to count and is dropped.
#[derive(Debug)]
struct Counter {
    windows: Cache<i64, Arc<Mutex<Windows>>>,
    shared: Option<Arc<SharedWindows>>,
}

impl Counter {
    fn new(redis: Option<&Arc<SharedRedis>>, kind: &'static str, idle: u64) -> Self {
        Self {
            shared: redis.map(|redis| Arc::new(SharedWindows::new(redis.clone(), kind))),
            windows: Cache::builder()
                .max_capacity(MAX_SUBJECTS)
                .time_to_idle(std::time::Duration::from_secs(idle))
                .eviction_policy(EvictionPolicy::lru())
                .build(),
        }
    }

    async fn count(&self, subject: i64, limits: WindowLimits, now: OffsetDateTime) -> Counted {
        match &self.shared {
            Some(shared) => match shared.count(subject, limits, now).await {
                Ok(counted) => counted,
                Err(Unshared) => self.count_here(subject, limits, now),
            },
            None => self.count_here(subject, limits, now),
        }
    }

    /// Counts in this process. A refused request is not counted.
    fn count_here(&self, subject: i64, limits: WindowLimits, now: OffsetDateTime) -> Counted {
        let second = now.unix_timestamp();
        let minute = second.div_euclid(60);
        let hour = second.div_euclid(3600);
        let entry = self.windows.get_with(subject, Arc::default);
        let mut windows = entry.lock().unwrap_or_else(PoisonError::into_inner);
        if windows.second != second {
            windows.second = second;
            windows.second_count = 0;
        }
        if windows.minute != minute {
            windows.minute = minute;
            windows.minute_count = 0;
        }
        if windows.hour != hour {
            windows.hour = hour;
            windows.hour_count = 0;
        }
        let fits = |limit: u32, count: u32| limit == 0 || count < limit;
        let granted = fits(limits.per_second, windows.second_count)
            && fits(limits.per_minute, windows.minute_count)
            && fits(limits.per_hour, windows.hour_count);
        if granted {
            windows.second_count += 1;
            windows.minute_count += 1;
            windows.hour_count += 1;
        }
        Counted {
            granted,
            second: windows.second_count,
            minute: windows.minute_count,
            hour: windows.hour_count,
        }
    }
}

/// Counts requests per account, and per API key for keys with limits of their own.
#[derive(Debug)]
pub struct RateLimiter {
    config: RateLimitConfig,
    accounts: Counter,
    keys: Counter,
}

impl RateLimiter {
    /// A limiter with the configured limits, counting in `redis` when given.
    pub fn new(config: RateLimitConfig, redis: Option<&Arc<SharedRedis>>) -> Self {
        Self {
            accounts: Counter::new(redis, "account", 60),
            keys: Counter::new(redis, "key", 3600),
            config,
        }
    }

    fn account_limits(&self) -> WindowLimits {
        WindowLimits {
            per_second: self.config.per_second,
            per_minute: self.config.per_minute,
            per_hour: 0,
        }
    }

    /// Counts one request of `account_id` at `now` and says whether it may go on. A refused
    /// request is not counted.
    pub async fn check(&self, account_id: i64, now: OffsetDateTime) -> RateDecision {
        let limits = self.account_limits();
        if limits.is_off() {
            return RateDecision::unlimited(now);
        }
        let counted = self.accounts.count(account_id, limits, now).await;
        decide_account(limits, counted, now)
    }

    /// Counts one request of the API key `key_id` under its own `limits` at `now`. A refused
    /// request is not counted; a key without limits is not counted at all.
    pub async fn check_key(
        &self,
        key_id: i64,
        limits: &KeyLimits,
        now: OffsetDateTime,
    ) -> RateDecision {
        let limits = WindowLimits::from(limits);
        if limits.is_off() {
            return RateDecision::unlimited(now);
        }
        let counted = self.keys.count(key_id, limits, now).await;
        decide_key(limits, counted, now)
    }
}

/// One window as a decision would report it: its limit, count and end.
#[derive(Debug, Clone, Copy)]
struct Window {
    limit: u32,
    count: u32,
    reset: i64,
}

impl Window {
    fn all(limits: WindowLimits, counted: Counted, now: OffsetDateTime) -> [Self; 3] {
        let second = now.unix_timestamp();
        [
            Self {
                limit: limits.per_hour,
                count: counted.hour,
                reset: (second.div_euclid(3600) + 1) * 3600,
            },
            Self {
                limit: limits.per_minute,
                count: counted.minute,
                reset: (second.div_euclid(60) + 1) * 60,
            },
            Self {
                limit: limits.per_second,
                count: counted.second,
                reset: second + 1,
            },
        ]
    }

    fn remaining(&self) -> u32 {
        self.limit.saturating_sub(self.count)
    }

    fn refused(&self, now: OffsetDateTime) -> RateDecision {
        RateDecision {
            allowed: false,
            limit: Some(self.limit),
            remaining: 0,
            reset: self.reset,
            retry_after: u64::try_from(self.reset - now.unix_timestamp())
                .unwrap_or(1)
                .max(1),
        }
    }

    fn allowed(&self) -> RateDecision {
        RateDecision {
            allowed: true,
            limit: Some(self.limit),
            remaining: self.remaining(),
            reset: self.reset,
            retry_after: 0,
        }
    }
}

/// The answer for an account's request counted as `counted`: on a refusal, the window that
/// refused (the minute first); on success, the minute window when it has a limit.
fn decide_account(limits: WindowLimits, counted: Counted, now: OffsetDateTime) -> RateDecision {
    let [_, minute, second] = Window::all(limits, counted, now);
    let reported = if minute.limit > 0 { minute } else { second };
    if counted.granted {
        return reported.allowed();
    }
    if minute.limit > 0 && minute.count >= minute.limit {
        minute.refused(now)
    } else {
        second.refused(now)
    }
}

/// The answer for a key's request counted as `counted`: on a refusal, the longest window that
/// is full; on success, the window with the fewest requests left (the longer on a tie).
fn decide_key(limits: WindowLimits, counted: Counted, now: OffsetDateTime) -> RateDecision {
    let windows = Window::all(limits, counted, now);
    let mut limited = windows.iter().filter(|w| w.limit > 0);
    if !counted.granted {
        let full = windows
            .iter()
            .find(|w| w.limit > 0 && w.count >= w.limit)
            .or_else(|| windows.iter().rev().find(|w| w.limit > 0));
        return full.map_or(RateDecision::unlimited(now), |w| w.refused(now));
    }
    let Some(first) = limited.next() else {
        return RateDecision::unlimited(now);
    };
    let tightest = limited.fold(*first, |best, w| {
        if w.remaining() < best.remaining() {
            *w
        } else {
            best
        }
    });
    tightest.allowed()
}

#[cfg(test)]
mod tests {
    use super::*;

    impl RateLimiter {
        fn check_now(&self, account_id: i64, now: OffsetDateTime) -> RateDecision {
            let limits = self.account_limits();
            decide_account(
                limits,
                self.accounts.count_here(account_id, limits, now),
                now,
            )
        }

        fn check_key_now(
            &self,
            key_id: i64,
            limits: KeyLimits,
            now: OffsetDateTime,
        ) -> RateDecision {
            let limits = WindowLimits::from(&limits);
            decide_key(limits, self.keys.count_here(key_id, limits, now), now)
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

    #[test]
    fn a_key_reports_its_tightest_window_and_refuses_by_the_longest_full_one() {
        let limiter = RateLimiter::new(RateLimitConfig::default(), None);
        let limits = KeyLimits {
            per_second: Some(3),
            per_minute: None,
            per_hour: Some(4),
        };
        let t = 7_200;
        let first = limiter.check_key_now(9, limits, at(t));
        assert_eq!(
            (first.limit, first.remaining, first.reset),
            (Some(3), 2, t + 1),
            "the second has fewer left"
        );
        limiter.check_key_now(9, limits, at(t));
        let third = limiter.check_key_now(9, limits, at(t));
        assert_eq!((third.limit, third.remaining), (Some(3), 0));
        let refused = limiter.check_key_now(9, limits, at(t));
        assert!(!refused.allowed);
        assert_eq!((refused.limit, refused.retry_after), (Some(3), 1));
        let fourth = limiter.check_key_now(9, limits, at(t + 1));
        assert_eq!(
            (fourth.limit, fourth.remaining, fourth.reset),
            (Some(4), 0, t + 3600),
            "now the hour has fewer left"
        );
        let hour_full = limiter.check_key_now(9, limits, at(t + 2));
        assert!(!hour_full.allowed);
        assert_eq!(
            (hour_full.limit, hour_full.reset, hour_full.retry_after),
            (Some(4), t + 3600, 3598)
        );
        assert!(
            limiter.check_key_now(10, limits, at(t + 2)).allowed,
            "keys are counted apart"
        );
        assert!(limiter.check_key_now(9, limits, at(t + 3600)).allowed);
    }

    #[test]
    fn the_tighter_decision_has_fewer_requests_left() {
        let minute = RateDecision {
            allowed: true,
            limit: Some(300),
            remaining: 299,
            reset: 60,
            retry_after: 0,
        };
        let key = RateDecision {
            limit: Some(10),
            remaining: 9,
            reset: 3600,
            ..minute
        };
        assert_eq!(minute.tighter(key), key);
        assert_eq!(key.tighter(minute), key);
        let none = RateDecision::unlimited(at(0));
        assert_eq!(none.tighter(minute), minute);
        assert_eq!(minute.tighter(none), minute);
    }
}
