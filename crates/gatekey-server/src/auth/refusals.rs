//! Auditing refused API requests (403) without letting the audit be flooded.
//!
//! Every `403` answered to an authenticated caller (a role or rank that does not allow the
//! operation, a missing scope, an OAuth token on a credential endpoint) is worth an audit event:
//! it is how an administrator sees someone probing beyond their rights. But a caller can send
//! thousands of refused requests a minute, so at most one `access.refused` event is written per
//! caller (user in account) per minute. Refusals in between are counted, and the next event
//! written for that caller says how many it stands for. The detail holds only the HTTP method and
//! the route template, never user input, so each event stays a few dozen bytes.
//!
//! The windows live in a bounded cache, like the other throttle maps: at most [`MAX_CALLERS`]
//! callers, each forgotten after [`FORGET_AFTER`] without a refusal (with any count not yet
//! reported: it was at least that long ago).

use std::sync::{Arc, Mutex};
use std::time::Duration as StdDuration;

use moka::policy::EvictionPolicy;
use moka::sync::Cache;
use time::{Duration, OffsetDateTime};

/// How long one event stands for a caller's refusals.
pub const REFUSAL_WINDOW: Duration = Duration::minutes(1);

/// Callers tracked at once. When that many are tracked, a refusal of a caller not yet tracked
/// is not audited (it is still answered 403) rather than pushing out a caller whose count is
/// still to be reported.
pub const MAX_CALLERS: u64 = 10_000;

/// How long a caller with no refusal is remembered.
pub const FORGET_AFTER: StdDuration = StdDuration::from_secs(600);

/// Who was refused: a user in an account.
pub type CallerKey = (i64, i64);

#[derive(Debug, Clone, Copy)]
struct Window {
    started: OffsetDateTime,
    suppressed: u64,
}

/// The per-caller windows of refused requests.
pub struct RefusalAudit {
    windows: Cache<CallerKey, Arc<Mutex<Window>>>,
}

/// Counts only: the cache's own `Debug` would print every caller.
impl std::fmt::Debug for RefusalAudit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RefusalAudit")
            .field("callers", &self.windows.entry_count())
            .finish_non_exhaustive()
    }
}

impl Default for RefusalAudit {
    fn default() -> Self {
        Self {
            windows: Cache::builder()
                .max_capacity(MAX_CALLERS)
                .eviction_policy(EvictionPolicy::lru())
                .time_to_idle(FORGET_AFTER)
                .build(),
        }
    }
}

impl RefusalAudit {
    /// Counts a refusal of `caller` at `now`. Returns `Some(n)` when an event must be written
    /// now, `n` being the refusals of the previous window that were not written; `None` when
    /// this refusal is only counted.
    pub fn record(&self, caller: CallerKey, now: OffsetDateTime) -> Option<u64> {
        if !self.windows.contains_key(&caller) && self.is_full() {
            return None;
        }
        let entry = self.windows.entry(caller).or_insert_with(|| {
            Arc::new(Mutex::new(Window {
                started: now,
                suppressed: 0,
            }))
        });
        if entry.is_fresh() {
            return Some(0);
        }
        let window = entry.into_value();
        let mut window = window.lock().unwrap_or_else(|p| p.into_inner());
        if now < window.started + REFUSAL_WINDOW && now >= window.started {
            window.suppressed += 1;
            return None;
        }
        let carried = window.suppressed;
        *window = Window {
            started: now,
            suppressed: 0,
        };
        Some(carried)
    }

    /// Whether no caller can be added. The cache counts lazily, so it is brought up to date
    /// (which also drops forgotten callers) first; this runs only for a caller not yet tracked,
    /// at most once per caller per [`FORGET_AFTER`]. Callers added at the same instant may
    /// overshoot the count by a few; the cache's capacity still bounds it.
    fn is_full(&self) -> bool {
        self.windows.run_pending_tasks();
        self.windows.entry_count() >= MAX_CALLERS
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_event_per_caller_per_window_carrying_the_count() {
        let audit = RefusalAudit::default();
        let t0 = OffsetDateTime::UNIX_EPOCH + Duration::days(20_000);
        assert_eq!(audit.record((1, 1), t0), Some(0));
        for i in 1..=5 {
            assert_eq!(audit.record((1, 1), t0 + Duration::seconds(i)), None);
        }
        assert_eq!(
            audit.record((1, 2), t0 + Duration::seconds(1)),
            Some(0),
            "another caller has its own window"
        );
        assert_eq!(audit.record((1, 1), t0 + REFUSAL_WINDOW), Some(5));
        assert_eq!(audit.record((1, 1), t0 + REFUSAL_WINDOW * 3), Some(0));
    }

    #[test]
    fn the_map_stays_bounded() {
        let audit = RefusalAudit::default();
        let t0 = OffsetDateTime::UNIX_EPOCH + Duration::days(20_000);
        for user in 0..MAX_CALLERS as i64 {
            assert_eq!(audit.record((1, user), t0), Some(0));
        }
        assert_eq!(audit.record((2, 1), t0), None, "full of current windows");
        assert_eq!(
            audit.record((1, 0), t0 + Duration::seconds(1)),
            None,
            "a tracked caller is still counted"
        );
        audit.windows.run_pending_tasks();
        assert_eq!(audit.windows.entry_count(), MAX_CALLERS);
    }

    #[test]
    fn debug_output_stays_short_however_many_callers_are_tracked() {
        let audit = RefusalAudit::default();
        let t0 = OffsetDateTime::UNIX_EPOCH + Duration::days(20_000);
        for user in 0..1_000 {
            audit.record((1, user), t0);
        }
        let printed = format!("{audit:?}");
        assert!(printed.len() < 100, "{printed}");
        assert!(printed.starts_with("RefusalAudit"), "{printed}");
    }
}
