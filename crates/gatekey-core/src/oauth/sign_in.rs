//! The sign-in behind an authorization, as an ID token reports it (OpenID Connect Core 1.0
//! §2): `auth_time`, when the user signed in, and `sid` (OpenID Connect Front-Channel Logout
//! 1.0 §3), which web session the authorization came from.
//!
//! Both are taken from the web session at the moment the user authorizes, stored with the
//! authorization code or device code, and carried on to every refresh token of the family, so
//! that an ID token issued on a refresh reports the sign-in, not the refresh.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use sha2::{Digest, Sha256};
use time::OffsetDateTime;

use crate::secret::TokenHash;
use crate::session::Session;

/// What tells `sid` apart from any other value derived from a session's hash.
const SID_DOMAIN: &[u8] = b"gatekey openid-connect sid v1\0";

/// The sign-in an authorization came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignIn {
    /// When the user signed in: the session's creation (sessions are made only by signing in).
    pub auth_time: OffsetDateTime,
    /// The session's identifier for relying parties, see [`session_sid`].
    pub sid: String,
}

impl SignIn {
    /// The sign-in of `session`.
    pub fn of_session(session: &Session) -> Self {
        Self {
            auth_time: session.created_at,
            sid: session_sid(&session.hash),
        }
    }

    /// The sign-in a stored record names, when it names one (rows older than the columns,
    /// and access tokens, name none).
    pub fn from_parts(auth_time: Option<OffsetDateTime>, sid: Option<&str>) -> Option<Self> {
        Some(Self {
            auth_time: auth_time?,
            sid: sid?.to_owned(),
        })
    }
}

/// A session's `sid`: base64url of the first 16 bytes of SHA-256 over a domain tag and the
/// SHA-256 of the session secret that the database holds. Deterministic, so no column is
/// needed and the server can tell which session an ID token names; one-way, so a `sid` seen
/// by a relying party reveals neither the cookie nor the stored hash (which is itself not a
/// credential). 128 bits keep it unique among sessions.
pub fn session_sid(session_hash: &TokenHash) -> String {
    let mut digest = Sha256::new();
    digest.update(SID_DOMAIN);
    digest.update(session_hash.as_bytes());
    let full = digest.finalize();
    URL_SAFE_NO_PAD.encode(&full[..16])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sids_are_stable_distinct_and_not_the_hash() {
        let one = TokenHash::of("gk_ss_one");
        let two = TokenHash::of("gk_ss_two");
        assert_eq!(session_sid(&one), session_sid(&one));
        assert_ne!(session_sid(&one), session_sid(&two));
        assert_eq!(session_sid(&one).len(), 22);
        let hash_text = URL_SAFE_NO_PAD.encode(one.as_bytes());
        assert!(!hash_text.starts_with(&session_sid(&one)));
    }
}
