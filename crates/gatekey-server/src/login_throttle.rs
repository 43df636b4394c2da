//! Brute-force protection for password logins: failures are counted per email and per client
//! IP over a sliding window; past the limit, logins for that email or from that IP are refused
//! until the oldest failure leaves the window. Counted in this process.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;

use time::{Duration, OffsetDateTime};

use crate::config::LoginConfig;

/// Counts failed logins.
#[derive(Debug)]
pub struct LoginThrottle {
    config: LoginConfig,
    by_email: Mutex<HashMap<String, VecDeque<OffsetDateTime>>>,
    by_ip: Mutex<HashMap<String, VecDeque<OffsetDateTime>>>,
}

/// A refusal: how long until a login may be tried again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Throttled {
    /// Seconds to wait.
    pub retry_after: u64,
}

impl LoginThrottle {
    /// A throttle with the configured limits.
    pub fn new(config: LoginConfig) -> Self {
        Self {
            config,
            by_email: Mutex::default(),
            by_ip: Mutex::default(),
        }
    }

    fn window(&self) -> Duration {
        Duration::seconds(i64::try_from(self.config.failure_window).unwrap_or(i64::MAX / 2))
    }

    /// Whether a login for `email` from `ip` may be tried at `now`.
    pub fn check(
        &self,
        email: &str,
        ip: Option<&str>,
        now: OffsetDateTime,
    ) -> Result<(), Throttled> {
        let email_wait = wait(
            &self.by_email,
            email,
            self.config.max_failures_per_email,
            self.window(),
            now,
        );
        let ip_wait = ip.and_then(|ip| {
            wait(
                &self.by_ip,
                ip,
                self.config.max_failures_per_ip,
                self.window(),
                now,
            )
        });
        match email_wait.max(ip_wait) {
            Some(retry_after) => Err(Throttled { retry_after }),
            None => Ok(()),
        }
    }

    /// Records a failed login.
    pub fn record_failure(&self, email: &str, ip: Option<&str>, now: OffsetDateTime) {
        push(&self.by_email, email, now, self.window());
        if let Some(ip) = ip {
            push(&self.by_ip, ip, now, self.window());
        }
    }

    /// Forgets the failures of an email after a successful login.
    pub fn record_success(&self, email: &str) {
        self.by_email
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(email);
    }
}

fn wait(
    map: &Mutex<HashMap<String, VecDeque<OffsetDateTime>>>,
    key: &str,
    max: u32,
    window: Duration,
    now: OffsetDateTime,
) -> Option<u64> {
    let mut map = map.lock().unwrap_or_else(|p| p.into_inner());
    let failures = map.get_mut(key)?;
    while failures.front().is_some_and(|at| *at + window <= now) {
        failures.pop_front();
    }
    if failures.len() < max as usize {
        return None;
    }
    let oldest = *failures.front()?;
    Some(
        u64::try_from((oldest + window - now).whole_seconds())
            .unwrap_or(0)
            .max(1),
    )
}

fn push(
    map: &Mutex<HashMap<String, VecDeque<OffsetDateTime>>>,
    key: &str,
    now: OffsetDateTime,
    window: Duration,
) {
    let mut map = map.lock().unwrap_or_else(|p| p.into_inner());
    if map.len() > 100_000 {
        map.retain(|_, failures| failures.back().is_some_and(|at| *at + window > now));
    }
    let failures = map.entry(key.to_owned()).or_default();
    failures.push_back(now);
    if failures.len() > 1_000 {
        failures.pop_front();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locks_after_the_limit_and_unlocks_after_the_window() {
        let throttle = LoginThrottle::new(LoginConfig {
            max_failures_per_email: 2,
            max_failures_per_ip: 10,
            failure_window: 60,
        });
        let t0 = OffsetDateTime::UNIX_EPOCH;
        throttle.record_failure("a@x.io", Some("1.2.3.4"), t0);
        assert!(throttle.check("a@x.io", None, t0).is_ok());
        throttle.record_failure("a@x.io", Some("1.2.3.4"), t0 + Duration::seconds(10));
        assert_eq!(
            throttle.check("a@x.io", None, t0 + Duration::seconds(10)),
            Err(Throttled { retry_after: 50 })
        );
        assert!(throttle.check("b@x.io", Some("1.2.3.4"), t0).is_ok());
        assert!(throttle
            .check("a@x.io", None, t0 + Duration::seconds(61))
            .is_ok());
    }
}
