//! How often one client address may ask for device codes (`POST /oauth/device_authorization`):
//! a fixed one-minute window per address, counted in this process.
//!
//! The windows live in a bounded cache (at most [`MAX_ADDRESSES`] addresses, each forgotten a
//! minute after its window opened), so a flood from many addresses costs bounded memory. IPv6
//! addresses are counted per /64, the block one subscriber usually holds, so rotating addresses
//! inside it gains nothing; anything that is not an IP address shares one window.

use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration as StdDuration;

use moka::sync::Cache;
use time::{Duration, OffsetDateTime};

use crate::client_address::counting_key;

/// Addresses remembered at once.
pub const MAX_ADDRESSES: u64 = 100_000;
/// The window.
const WINDOW: Duration = Duration::minutes(1);

#[derive(Debug)]
struct Window {
    start: OffsetDateTime,
    count: u32,
}

/// Device authorization requests per client address.
pub struct DeviceRequestLimit {
    per_minute: u32,
    windows: Cache<IpAddr, Arc<Mutex<Window>>>,
}

/// Counts only: the cache's own `Debug` would print every entry.
impl std::fmt::Debug for DeviceRequestLimit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DeviceRequestLimit")
            .field("entries", &self.windows.entry_count())
            .finish_non_exhaustive()
    }
}

impl DeviceRequestLimit {
    /// A limit of `per_minute` requests per address; 0 turns it off.
    pub fn new(per_minute: u32) -> Self {
        Self {
            per_minute,
            windows: Cache::builder()
                .max_capacity(MAX_ADDRESSES)
                // A window is over a minute after it opened; keep it a little longer so a clock
                // that runs ahead of the cache's never sees a window vanish early.
                .time_to_live(StdDuration::from_secs(120))
                .build(),
        }
    }

    /// Counts one request from `ip` at `now`; `Err(seconds)` when over the limit, with the
    /// seconds until the address's window ends. A refused request is not counted.
    pub fn check(&self, ip: &str, now: OffsetDateTime) -> Result<(), u64> {
        if self.per_minute == 0 {
            return Ok(());
        }
        let window = self.windows.get_with(counting_key(ip), || {
            Arc::new(Mutex::new(Window {
                start: now,
                count: 0,
            }))
        });
        let mut window = window.lock().unwrap_or_else(|p| p.into_inner());
        if now - window.start >= WINDOW || now < window.start {
            *window = Window {
                start: now,
                count: 0,
            };
        }
        if window.count >= self.per_minute {
            let left = (window.start + WINDOW - now).whole_seconds();
            return Err(u64::try_from(left).unwrap_or(1).max(1));
        }
        window.count += 1;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_address_gets_its_own_window() {
        let limit = DeviceRequestLimit::new(2);
        let t0 = OffsetDateTime::UNIX_EPOCH + Duration::days(20_000);
        assert_eq!(limit.check("192.0.2.1", t0), Ok(()));
        assert_eq!(limit.check("192.0.2.1", t0), Ok(()));
        assert_eq!(
            limit.check("192.0.2.1", t0 + Duration::seconds(20)),
            Err(40)
        );
        assert_eq!(limit.check("192.0.2.2", t0), Ok(()), "another address");
        assert_eq!(limit.check("192.0.2.1", t0 + Duration::seconds(60)), Ok(()));
    }

    #[test]
    fn an_ipv6_subscriber_block_counts_as_one_address() {
        let limit = DeviceRequestLimit::new(1);
        let t0 = OffsetDateTime::UNIX_EPOCH + Duration::days(20_000);
        assert_eq!(limit.check("2001:db8:1:2::1", t0), Ok(()));
        assert!(limit.check("2001:db8:1:2:ffff::9", t0).is_err());
        assert_eq!(limit.check("2001:db8:1:3::1", t0), Ok(()));
        assert_eq!(limit.check("not an address", t0), Ok(()));
        assert!(
            limit.check("neither is this", t0).is_err(),
            "one shared window"
        );
    }
}
