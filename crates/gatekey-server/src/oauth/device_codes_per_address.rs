//! How many device codes one client address may hold for one application: without it, anyone
//! who knows a public client's id could take all of the application's pending slots
//! (`device_authorization.max_pending_per_client`) from one address and leave real devices with
//! `429` for the codes' lifetime.
//!
//! Each (application, address) pair remembers when its codes were issued; a code counts until
//! its lifetime has passed, whatever became of it. IPv6 addresses count per /64
//! ([`counting_key`]). The pairs live in a bounded cache (at most [`MAX_PAIRS`], each dropped once
//! unused for a code's lifetime, when all its codes have expired). Counted in this process.

use std::collections::VecDeque;
use std::net::IpAddr;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration as StdDuration;

use moka::policy::EvictionPolicy;
use moka::sync::Cache;
use time::{Duration, OffsetDateTime};

use crate::client_address::counting_key;

/// (Application, address) pairs remembered at once.
pub const MAX_PAIRS: u64 = 100_000;

/// Device codes per application and client address.
pub struct DeviceCodesPerAddress {
    max: u32,
    lifetime: Duration,
    issued: Cache<(i64, IpAddr), Arc<Mutex<VecDeque<OffsetDateTime>>>>,
}

/// Counts only: the cache's own `Debug` would print every entry.
impl std::fmt::Debug for DeviceCodesPerAddress {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DeviceCodesPerAddress")
            .field("max", &self.max)
            .field("entries", &self.issued.entry_count())
            .finish_non_exhaustive()
    }
}

impl DeviceCodesPerAddress {
    /// At most `max` codes per pair within `lifetime` seconds (the device codes' lifetime);
    /// `max` 0 turns the limit off.
    pub fn new(max: u32, lifetime: u64) -> Self {
        Self {
            max,
            lifetime: Duration::seconds(i64::try_from(lifetime).unwrap_or(i64::MAX / 2)),
            issued: Cache::builder()
                .max_capacity(MAX_PAIRS)
                .time_to_idle(StdDuration::from_secs(lifetime.max(1)))
                .eviction_policy(EvictionPolicy::lru())
                .build(),
        }
    }

    /// Takes a slot for a code `application_id` issues to `ip` at `now`; `Err(seconds)` until
    /// the pair's oldest code expires when all slots are taken. Give the slot back with
    /// [`Self::give_back`] when no code is issued after all.
    pub fn take(&self, application_id: i64, ip: &str, now: OffsetDateTime) -> Result<(), u64> {
        if self.max == 0 {
            return Ok(());
        }
        let entry = self
            .issued
            .get_with((application_id, counting_key(ip)), Arc::default);
        let mut issued = lock(&entry);
        while issued
            .front()
            .is_some_and(|at| *at + self.lifetime <= now || *at > now)
        {
            issued.pop_front();
        }
        if issued.len() >= self.max as usize {
            let wait = issued
                .front()
                .map_or(1, |oldest| (*oldest + self.lifetime - now).whole_seconds());
            return Err(u64::try_from(wait).unwrap_or(1).max(1));
        }
        issued.push_back(now);
        Ok(())
    }

    /// Gives back a slot taken at `at` for a code that was not issued.
    pub fn give_back(&self, application_id: i64, ip: &str, at: OffsetDateTime) {
        if let Some(entry) = self.issued.get(&(application_id, counting_key(ip))) {
            let mut issued = lock(&entry);
            if let Some(index) = issued.iter().rposition(|taken| *taken == at) {
                issued.remove(index);
            }
        }
    }
}

fn lock(issued: &Mutex<VecDeque<OffsetDateTime>>) -> MutexGuard<'_, VecDeque<OffsetDateTime>> {
    issued.lock().unwrap_or_else(PoisonError::into_inner)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_address_holds_at_most_its_share_of_an_applications_codes() {
        let limit = DeviceCodesPerAddress::new(2, 600);
        let t0 = OffsetDateTime::UNIX_EPOCH + Duration::days(20_000);
        assert_eq!(limit.take(1, "192.0.2.1", t0), Ok(()));
        assert_eq!(
            limit.take(1, "192.0.2.1", t0 + Duration::seconds(100)),
            Ok(())
        );
        assert_eq!(
            limit.take(1, "192.0.2.1", t0 + Duration::seconds(200)),
            Err(400)
        );
        assert_eq!(
            limit.take(2, "192.0.2.1", t0),
            Ok(()),
            "another application"
        );
        assert_eq!(limit.take(1, "192.0.2.2", t0), Ok(()), "another address");
        assert_eq!(
            limit.take(1, "192.0.2.1", t0 + Duration::seconds(600)),
            Ok(()),
            "the oldest code expired"
        );
    }

    #[test]
    fn a_slot_given_back_is_free_and_a_subscriber_block_is_one_address() {
        let limit = DeviceCodesPerAddress::new(1, 600);
        let t0 = OffsetDateTime::UNIX_EPOCH + Duration::days(20_000);
        assert_eq!(limit.take(1, "2001:db8:1:2::1", t0), Ok(()));
        assert!(limit.take(1, "2001:db8:1:2::2", t0).is_err());
        limit.give_back(1, "2001:db8:1:2::1", t0);
        assert_eq!(limit.take(1, "2001:db8:1:2::2", t0), Ok(()));
        assert_eq!(DeviceCodesPerAddress::new(0, 600).take(1, "x", t0), Ok(()));
    }
}
