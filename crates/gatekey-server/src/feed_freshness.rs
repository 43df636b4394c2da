//! How current this server's view of the invalidation feed is.
//!
//! The feed has no "last event" a server could measure lag by: a quiet feed (nothing revoked
//! for hours) and a dead one look the same from the rows. What a server can know is when it
//! last *read* the feed successfully: the poller reads it every `cache.invalidation_poll_ms` on
//! both databases (PostgreSQL's `LISTEN` only speeds delivery up; the poll still runs). So the
//! feed's age is the time since the last poll that succeeded, by the app's clock. A stopped
//! poller, a failing query or a lost database all make it grow; a server whose age is past its
//! bound may be trusting revoked credentials, and `/readyz` says so.

use std::sync::atomic::{AtomicI64, Ordering};

use gatekey_core::clock::to_millis;
use time::{Duration, OffsetDateTime};

/// When the invalidation feed was last read successfully.
#[derive(Debug)]
pub struct FeedFreshness {
    last_read_millis: AtomicI64,
}

impl FeedFreshness {
    /// A feed counted as read at `start` (the server's start): a server that has not polled
    /// yet is as fresh as one that just did, until the bound passes.
    pub fn new(start: OffsetDateTime) -> Self {
        Self {
            last_read_millis: AtomicI64::new(to_millis(start)),
        }
    }

    /// Records a successful read at `now`. Never moves back, so a poll that finished late
    /// cannot hide a later one.
    pub fn read_at(&self, now: OffsetDateTime) {
        self.last_read_millis
            .fetch_max(to_millis(now), Ordering::Relaxed);
    }

    /// Time since the last successful read, at `now`; zero if the clock went back.
    pub fn age(&self, now: OffsetDateTime) -> Duration {
        let millis = to_millis(now) - self.last_read_millis.load(Ordering::Relaxed);
        Duration::milliseconds(millis.max(0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn age_counts_from_the_last_read_and_never_goes_negative() {
        let start = OffsetDateTime::from_unix_timestamp(1_000_000).expect("a time");
        let feed = FeedFreshness::new(start);
        assert_eq!(feed.age(start + Duration::seconds(3)), Duration::seconds(3));
        feed.read_at(start + Duration::seconds(5));
        feed.read_at(start + Duration::seconds(4));
        assert_eq!(feed.age(start + Duration::seconds(6)), Duration::seconds(1));
        assert_eq!(feed.age(start), Duration::ZERO, "the clock went back");
    }
}
