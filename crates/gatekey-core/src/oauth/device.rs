//! The device authorization grant (RFC 8628): a device without a browser shows a short user
//! code; the user types it on `/device`, signs in and consents; the device polls the token
//! endpoint until then.

use rand::Rng;
use time::OffsetDateTime;

use super::application::Application;
use crate::scope::ScopeSet;
use crate::secret::TokenHash;

/// Characters of user codes: consonants only (no vowels, so no words; no look-alikes such as
/// 0/O or 1/I), as RFC 8628 §6.1 suggests.
const USER_CODE_ALPHABET: &[u8; 20] = b"BCDFGHJKLMNPQRSTVWXZ";
/// Characters in a user code, shown as two groups of four: 20^8 ≈ 2^34.6 possibilities.
const USER_CODE_LEN: usize = 8;
/// The polling interval a device starts with, in seconds (RFC 8628 §3.2 default).
pub const DEFAULT_INTERVAL_SECS: i64 = 5;
/// How much `slow_down` adds to the interval (RFC 8628 §3.5).
pub const SLOW_DOWN_SECS: i64 = 5;

/// Where a device authorization stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeviceStatus {
    /// Waiting for the user.
    Pending,
    /// The user allowed it; tokens not yet collected.
    Approved,
    /// The user refused.
    Denied,
    /// Tokens were issued; the device code is spent.
    Redeemed,
}

impl DeviceStatus {
    /// The status's name in storage.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Approved => "approved",
            Self::Denied => "denied",
            Self::Redeemed => "redeemed",
        }
    }

    /// Parses a stored status.
    pub fn parse(text: &str) -> Option<Self> {
        [Self::Pending, Self::Approved, Self::Denied, Self::Redeemed]
            .into_iter()
            .find(|s| s.as_str() == text)
    }
}

/// A device authorization to store.
#[derive(Debug, Clone)]
pub struct NewDeviceCode {
    /// SHA-256 of the device code.
    pub hash: TokenHash,
    /// The normalised user code (eight letters, no dash).
    pub user_code: String,
    /// The application.
    pub application_id: i64,
    /// The scopes asked for.
    pub scopes: ScopeSet,
    /// Issue time.
    pub created_at: OffsetDateTime,
    /// Expiry.
    pub expires_at: OffsetDateTime,
}

/// A stored device authorization.
#[derive(Debug, Clone)]
pub struct DeviceCodeRecord {
    /// Database id.
    pub id: i64,
    /// The normalised user code.
    pub user_code: String,
    /// The application.
    pub application: Application,
    /// The scopes asked for.
    pub scopes: ScopeSet,
    /// Where it stands.
    pub status: DeviceStatus,
    /// The grant, once approved.
    pub grant_id: Option<i64>,
    /// The grant's account, once approved.
    pub account_id: Option<i64>,
    /// The current polling interval in seconds.
    pub interval_secs: i64,
    /// The previous poll.
    pub last_polled_at: Option<OffsetDateTime>,
    /// Expiry.
    pub expires_at: OffsetDateTime,
}

/// The outcome of asking for a device code when an application may hold only so many pending
/// ones (RFC 8628 §5.2 leaves flooding to the server; an unbounded table would let any client,
/// public ones having no secret, fill the disk).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeviceCodeSlot {
    /// Stored, with this id.
    Created(i64),
    /// The application already holds the most pending device codes allowed; the oldest one
    /// expires at this time, which frees a slot.
    Full {
        /// When a slot frees up at the latest.
        free_at: OffsetDateTime,
    },
}

/// A new random user code, normalised (no dash).
pub fn new_user_code() -> String {
    let mut rng = rand::rngs::OsRng;
    (0..USER_CODE_LEN)
        .map(|_| char::from(USER_CODE_ALPHABET[rng.gen_range(0..USER_CODE_ALPHABET.len())]))
        .collect()
}

/// A user code as shown to people: `WDJB-MJHT`.
pub fn display_user_code(code: &str) -> String {
    if code.len() == USER_CODE_LEN {
        format!("{}-{}", &code[..4], &code[4..])
    } else {
        code.to_owned()
    }
}

/// What a person typed, normalised: case-insensitive, dashes and spaces ignored (RFC 8628
/// §6.1). `None` when it cannot be a user code.
pub fn normalize_user_code(typed: &str) -> Option<String> {
    let code: String = typed
        .chars()
        .filter(|c| !matches!(c, '-' | ' ' | '\t'))
        .map(|c| c.to_ascii_uppercase())
        .collect();
    let valid =
        code.len() == USER_CODE_LEN && code.bytes().all(|b| USER_CODE_ALPHABET.contains(&b));
    valid.then_some(code)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_codes_are_typed_loosely() {
        let code = new_user_code();
        assert_eq!(normalize_user_code(&code), Some(code.clone()));
        assert_eq!(
            normalize_user_code(&display_user_code(&code).to_lowercase()),
            Some(code.clone())
        );
        assert_eq!(normalize_user_code("wdjb mjht"), Some("WDJBMJHT".into()));
        assert_eq!(normalize_user_code("WDJB-MJH"), None);
        assert_eq!(normalize_user_code("AEIO-UAEI"), None, "no vowels");
    }
}
