//! Auditing refused API requests (403) without letting the audit be flooded.
//!
//! Every `403` answered to an authenticated caller (a role or rank that does not allow the
//! operation, a missing scope, an OAuth token on a credential endpoint) is worth an audit event:
//! it is how an administrator sees someone probing beyond their rights. But a caller can send
//! thousands of refused requests a minute, so at most one `access.refused` event is written per
//! caller (user in account) per minute. Refusals in between are counted, and the next event
//! written for that caller says how many it stands for. The detail holds only the HTTP method and
//! the route template, never user input, so each event stays a few dozen bytes.

use std::collections::HashMap;
use std::sync::Mutex;

use time::{Duration, OffsetDateTime};

/// How long one event stands for a caller's refusals.
pub const REFUSAL_WINDOW: Duration = Duration::minutes(1);

/// Callers tracked at once. Past this, windows that ended are dropped; if all are current, a
/// refusal of a caller not yet tracked is not audited (it is still answered 403).
const MAX_CALLERS: usize = 10_000;

/// Who was refused: a user in an account.
pub type CallerKey = (i64, i64);

#[derive(Debug, Clone, Copy)]
struct Window {
    started: OffsetDateTime,
    suppressed: u64,
}

/// The per-caller windows of refused requests.
#[derive(Debug, Default)]
pub struct RefusalAudit {
    windows: Mutex<HashMap<CallerKey, Window>>,
}

impl RefusalAudit {
    /// Counts a refusal of `caller` at `now`. Returns `Some(n)` when an event must be written
    /// now, `n` being the refusals of the previous window that were not written; `None` when
    /// this refusal is only counted.
    pub fn record(&self, caller: CallerKey, now: OffsetDateTime) -> Option<u64> {
        let mut windows = self.windows.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(window) = windows.get_mut(&caller) {
            if now < window.started + REFUSAL_WINDOW {
                window.suppressed += 1;
                return None;
            }
            let carried = window.suppressed;
            *window = Window {
                started: now,
                suppressed: 0,
            };
            return Some(carried);
        }
        if windows.len() >= MAX_CALLERS {
            windows.retain(|_, w| now < w.started + REFUSAL_WINDOW);
            if windows.len() >= MAX_CALLERS {
                return None;
            }
        }
        windows.insert(
            caller,
            Window {
                started: now,
                suppressed: 0,
            },
        );
        Some(0)
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
            audit.record((2, 1), t0 + REFUSAL_WINDOW),
            Some(0),
            "ended windows make room"
        );
        let windows = audit.windows.lock().unwrap();
        assert_eq!(windows.len(), 1);
    }
}
