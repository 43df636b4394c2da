//! Web sessions: a `gk_ss_` secret in an `HttpOnly` cookie, stored as its SHA-256, with a
//! per-session CSRF token for every form and every cookie-authenticated API call.
//!
//! A session ends at the first of two limits (OWASP Session Management Cheat Sheet, "Session
//! Expiration"): [`SESSION_TTL`] after sign-in whatever happens, and an idle timeout after it
//! was last used, so that a browser left signed in is not a standing credential. Its last use is
//! written at most once every [`LAST_SEEN_RESOLUTION`], not on every request.

use time::{Duration, OffsetDateTime};

use crate::secret::TokenHash;

/// How long a web session lasts at most, however busy.
pub const SESSION_TTL: Duration = Duration::hours(12);

/// How stale a session's `last_seen_at` may get before a request writes it again. The idle
/// timeout is therefore enforced to within this much.
pub const LAST_SEEN_RESOLUTION: Duration = Duration::minutes(1);

/// The shortest idle timeout a server may be configured with: twice [`LAST_SEEN_RESOLUTION`],
/// so that a user active at least once a minute is never taken for idle. At a timeout equal to
/// the resolution, a session used every 30 seconds was never written and ended after a minute.
pub const MIN_IDLE_TIMEOUT: Duration = Duration::minutes(2);

/// A stored session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    /// Database id.
    pub id: i64,
    /// SHA-256 of the cookie value.
    pub hash: TokenHash,
    /// The signed-in user.
    pub user_id: i64,
    /// The account the session acts in.
    pub account_id: i64,
    /// The CSRF token forms must echo. Not a credential on its own.
    pub csrf_token: String,
    /// When it was created.
    pub created_at: OffsetDateTime,
    /// When it stops working.
    pub expires_at: OffsetDateTime,
    /// When it was last used, to within [`LAST_SEEN_RESOLUTION`].
    pub last_seen_at: OffsetDateTime,
}

/// What a presented session is worth at a given time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SessionCheck {
    /// Usable; `touch` says that `last_seen_at` is older than [`LAST_SEEN_RESOLUTION`] and
    /// should be written now.
    Live {
        /// Whether to record this use.
        touch: bool,
    },
    /// Past its absolute lifetime.
    Expired,
    /// Unused for longer than the idle timeout.
    Idle,
}

/// Checks `session` at `now` against its absolute expiry and `idle_timeout`.
pub fn check_session(
    session: &Session,
    now: OffsetDateTime,
    idle_timeout: Duration,
) -> SessionCheck {
    if now >= session.expires_at {
        return SessionCheck::Expired;
    }
    let idle = now - session.last_seen_at;
    if idle >= idle_timeout {
        return SessionCheck::Idle;
    }
    // Below [`MIN_IDLE_TIMEOUT`] (not a configuration the server accepts) the last use is
    // written at half the timeout, so a session in use still never reads as idle.
    SessionCheck::Live {
        touch: idle >= LAST_SEEN_RESOLUTION.min(idle_timeout / 2),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn session(created: OffsetDateTime) -> Session {
        Session {
            id: 1,
            hash: TokenHash::of("x"),
            user_id: 1,
            account_id: 1,
            csrf_token: "t".into(),
            created_at: created,
            expires_at: created + SESSION_TTL,
            last_seen_at: created,
        }
    }

    #[test]
    fn a_session_in_use_never_reads_as_idle() {
        let start = OffsetDateTime::UNIX_EPOCH;
        for timeout in [Duration::seconds(60), MIN_IDLE_TIMEOUT] {
            let mut s = session(start);
            // A request every 30 seconds, for an hour: each either is live, and a touch moves
            // `last_seen_at` up as the server would.
            let mut now = start;
            while now < start + Duration::hours(1) {
                now += Duration::seconds(30);
                match check_session(&s, now, timeout) {
                    SessionCheck::Live { touch } => {
                        if touch {
                            s.last_seen_at = now;
                        }
                    }
                    other => panic!("{other:?} at {now} with a {timeout} timeout"),
                }
            }
        }
    }

    #[test]
    fn idle_and_absolute_limits() {
        let start = OffsetDateTime::UNIX_EPOCH;
        let idle = Duration::minutes(30);
        let mut s = session(start);
        assert_eq!(
            check_session(&s, start + Duration::seconds(59), idle),
            SessionCheck::Live { touch: false },
            "not written on every request"
        );
        assert_eq!(
            check_session(&s, start + Duration::minutes(1), idle),
            SessionCheck::Live { touch: true }
        );
        assert_eq!(
            check_session(&s, start + Duration::minutes(30), idle),
            SessionCheck::Idle
        );
        // Used every 20 minutes, it lives until its absolute expiry, and no longer.
        s.last_seen_at = start + SESSION_TTL - Duration::minutes(20);
        assert!(matches!(
            check_session(&s, start + SESSION_TTL - Duration::seconds(1), idle),
            SessionCheck::Live { .. }
        ));
        assert_eq!(
            check_session(&s, start + SESSION_TTL, idle),
            SessionCheck::Expired
        );
    }
}
