//! Per-account rate limits: fixed one-minute and one-second windows, counted in this process.
//! With several replicas each counts its own share; see docs/configuration.md.

use std::collections::HashMap;
use std::sync::Mutex;

use time::OffsetDateTime;

use crate::config::RateLimitConfig;

/// The outcome of one check.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateDecision {
    /// Whether the request may go on.
    pub allowed: bool,
    /// The per-minute limit, reported in `X-Ratelimit-Limit`; `None` when limits are off.
    pub limit: Option<u32>,
    /// Requests left in this minute.
    pub remaining: u32,
    /// When the minute window ends, in Unix seconds.
    pub reset: i64,
    /// Seconds to wait when refused.
    pub retry_after: u64,
}

#[derive(Debug, Default, Clone, Copy)]
struct Windows {
    minute: i64,
    minute_count: u32,
    second: i64,
    second_count: u32,
}

/// Counts requests per account.
#[derive(Debug)]
pub struct RateLimiter {
    config: RateLimitConfig,
    windows: Mutex<HashMap<i64, Windows>>,
}

impl RateLimiter {
    /// A limiter with the configured limits.
    pub fn new(config: RateLimitConfig) -> Self {
        Self {
            config,
            windows: Mutex::new(HashMap::new()),
        }
    }

    /// Counts one request of `account_id` at `now` and says whether it may go on. A refused
    /// request is not counted.
    pub fn check(&self, account_id: i64, now: OffsetDateTime) -> RateDecision {
        let RateLimitConfig {
            per_minute,
            per_second,
        } = self.config;
        let second = now.unix_timestamp();
        let minute = second.div_euclid(60);
        let reset = (minute + 1) * 60;
        if per_minute == 0 && per_second == 0 {
            return RateDecision {
                allowed: true,
                limit: None,
                remaining: 0,
                reset,
                retry_after: 0,
            };
        }
        let mut all = self.windows.lock().unwrap_or_else(|p| p.into_inner());
        if all.len() > 100_000 {
            all.retain(|_, w| w.minute == minute);
        }
        let windows = all.entry(account_id).or_default();
        if windows.minute != minute {
            windows.minute = minute;
            windows.minute_count = 0;
        }
        if windows.second != second {
            windows.second = second;
            windows.second_count = 0;
        }
        let minute_full = per_minute > 0 && windows.minute_count >= per_minute;
        let second_full = per_second > 0 && windows.second_count >= per_second;
        let limit = if per_minute > 0 {
            per_minute
        } else {
            per_second
        };
        if minute_full || second_full {
            let retry_after = if minute_full {
                u64::try_from(reset - second).unwrap_or(1)
            } else {
                1
            };
            let remaining = per_minute.saturating_sub(windows.minute_count);
            return RateDecision {
                allowed: false,
                limit: Some(limit),
                remaining,
                reset,
                retry_after,
            };
        }
        windows.minute_count += 1;
        windows.second_count += 1;
        let remaining = if per_minute > 0 {
            per_minute - windows.minute_count
        } else {
            per_second - windows.second_count
        };
        RateDecision {
            allowed: true,
            limit: Some(limit),
            remaining,
            reset,
            retry_after: 0,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(seconds: i64) -> OffsetDateTime {
        OffsetDateTime::from_unix_timestamp(seconds).unwrap()
    }

    #[test]
    fn second_and_minute_windows() {
        let limiter = RateLimiter::new(RateLimitConfig {
            per_minute: 5,
            per_second: 2,
        });
        assert!(limiter.check(1, at(600)).allowed);
        assert!(limiter.check(1, at(600)).allowed);
        let refused = limiter.check(1, at(600));
        assert!(!refused.allowed);
        assert_eq!(refused.retry_after, 1);
        assert!(
            limiter.check(2, at(600)).allowed,
            "accounts are counted apart"
        );
        assert!(limiter.check(1, at(601)).allowed);
        assert!(limiter.check(1, at(602)).allowed);
        let last = limiter.check(1, at(603));
        assert!(last.allowed);
        assert_eq!(last.remaining, 0);
        let full = limiter.check(1, at(604));
        assert!(!full.allowed);
        assert_eq!((full.reset, full.retry_after), (660, 56));
        assert!(limiter.check(1, at(660)).allowed);
    }
}
