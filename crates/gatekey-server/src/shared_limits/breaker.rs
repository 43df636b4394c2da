//! Whether Redis is worth asking. Requests stop asking at the first failure; from then on only
//! the watcher of [`super::SharedRedis`] does, by a ping every [`super::PROBE_INTERVAL`], until
//! one is answered. So no request waits on a Redis that is known down.

use std::sync::atomic::{AtomicBool, Ordering};

/// Up or down.
#[derive(Debug)]
pub struct Breaker {
    up: AtomicBool,
}

impl Breaker {
    /// A breaker that is up.
    pub fn new() -> Self {
        Self {
            up: AtomicBool::new(true),
        }
    }

    /// Whether requests may ask Redis.
    pub fn is_up(&self) -> bool {
        self.up.load(Ordering::Acquire)
    }

    /// Redis answered; true when that ended an outage.
    pub fn succeeded(&self) -> bool {
        !self.is_up() && !self.up.swap(true, Ordering::AcqRel)
    }

    /// A call failed; true when that began an outage.
    pub fn failed(&self) -> bool {
        self.up.swap(false, Ordering::AcqRel)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_outage_begins_and_ends_once() {
        let breaker = Breaker::new();
        assert!(breaker.is_up());
        assert!(breaker.failed(), "the first failure begins the outage");
        assert!(!breaker.failed(), "a second one does not");
        assert!(!breaker.is_up());
        assert!(breaker.succeeded(), "an answer ends it");
        assert!(!breaker.succeeded());
        assert!(breaker.is_up());
    }
}
