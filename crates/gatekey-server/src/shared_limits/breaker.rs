//! Whether Redis is worth asking: after a failure, nobody asks for a while, then one caller
//! at a time probes. Time is the process's monotonic clock, not the app's: this is about a
//! network peer, not about expiry rules.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// Up, or down until a moment.
#[derive(Debug)]
pub struct Breaker {
    start: Instant,
    retry_after: Duration,
    /// 0 while up; else the millisecond (since `start`, plus one) from which one caller may
    /// probe.
    down_until: AtomicU64,
}

impl Breaker {
    /// A breaker that is up, and stays down for `retry_after` after each failure.
    pub fn new(retry_after: Duration) -> Self {
        Self {
            start: Instant::now(),
            retry_after,
            down_until: AtomicU64::new(0),
        }
    }

    fn now(&self) -> u64 {
        u64::try_from(self.start.elapsed().as_millis()).unwrap_or(u64::MAX - 1) + 1
    }

    fn later(&self) -> u64 {
        self.now()
            .saturating_add(u64::try_from(self.retry_after.as_millis()).unwrap_or(u64::MAX / 2))
    }

    /// Whether Redis is up.
    pub fn is_up(&self) -> bool {
        self.down_until.load(Ordering::Acquire) == 0
    }

    /// Whether this caller may ask: always while up; while down, one caller once the wait is
    /// over (the others keep waiting another round, so a probe that never ends cannot keep
    /// Redis down for good).
    pub fn allows(&self) -> bool {
        let until = self.down_until.load(Ordering::Acquire);
        if until == 0 {
            return true;
        }
        self.now() >= until
            && self
                .down_until
                .compare_exchange(until, self.later(), Ordering::AcqRel, Ordering::Acquire)
                .is_ok()
    }

    /// A call succeeded; true when that ended an outage.
    pub fn succeeded(&self) -> bool {
        self.down_until.load(Ordering::Acquire) != 0
            && self.down_until.swap(0, Ordering::AcqRel) != 0
    }

    /// A call failed; true when that began an outage.
    pub fn failed(&self) -> bool {
        self.down_until.swap(self.later(), Ordering::AcqRel) == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn down_after_a_failure_then_one_probe_at_a_time() {
        let breaker = Breaker::new(Duration::from_millis(30));
        assert!(breaker.allows() && breaker.allows(), "up: everyone asks");
        assert!(breaker.failed(), "the first failure begins the outage");
        assert!(!breaker.failed(), "a second one does not");
        assert!(!breaker.allows(), "down: nobody asks");
        std::thread::sleep(Duration::from_millis(40));
        assert!(breaker.allows(), "the wait is over: one probe");
        assert!(!breaker.allows(), "only one");
        assert!(breaker.succeeded(), "the probe ends the outage");
        assert!(!breaker.succeeded());
        assert!(breaker.is_up() && breaker.allows());
    }
}
