//! The time expiry is judged by. A test passes its own clock and moves it, instead of
//! sleeping through a cache's lifetime or a token's.

use std::time::SystemTime;

/// Where the verifier reads the time: token expiry, cache lifetimes and the JWKS refetch floor.
pub trait Clock: Send + Sync + 'static {
    /// The time now.
    fn now(&self) -> SystemTime;
}

/// The system's clock, the default.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> SystemTime {
        SystemTime::now()
    }
}
