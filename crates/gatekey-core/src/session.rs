//! Web sessions: a `gk_ss_` secret in an `HttpOnly` cookie, stored as its SHA-256, with a
//! per-session CSRF token for every form and every cookie-authenticated API call.

use time::OffsetDateTime;

use crate::secret::TokenHash;

/// How long a web session lasts.
pub const SESSION_TTL: time::Duration = time::Duration::hours(12);

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
}
