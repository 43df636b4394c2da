//! The tokens a connection holds, and when to replace them.

use std::fmt;
use std::time::{Duration, SystemTime};

use secrecy::{ExposeSecret, SecretString};

use crate::Identity;

/// An access token with what the client knows about it, and the refresh token that came with it.
///
/// Expiry is tracked on the local clock: `expires_at` is the time the token request was sent
/// plus the server's `expires_in`, so a client whose clock disagrees with the server's still
/// replaces tokens in time. `Debug` prints no token.
#[derive(Clone)]
pub struct TokenSet {
    pub(crate) access_token: SecretString,
    pub(crate) refresh_token: Option<SecretString>,
    pub(crate) expires_at: Option<SystemTime>,
    pub(crate) renew_at: Option<SystemTime>,
    pub(crate) scope: Option<String>,
    pub(crate) account: Option<String>,
    /// The validated OpenID Connect ID token, kept (say, as a logout hint) but never shown.
    pub(crate) id_token: Option<SecretString>,
    /// Who the ID token names.
    pub(crate) identity: Option<Identity>,
}

impl TokenSet {
    /// A token whose lifetime the client does not know (given by the user, or printed by a
    /// command without `expires_in`): it is used until the server refuses it.
    pub(crate) fn unknown_expiry(access_token: SecretString) -> Self {
        Self {
            access_token,
            refresh_token: None,
            expires_at: None,
            renew_at: None,
            scope: None,
            account: None,
            id_token: None,
            identity: None,
        }
    }

    /// Sets the expiry from a lifetime counted from `requested_at`, and the time to replace
    /// the token: `skew` before expiry, but never before half its lifetime, so a token that
    /// lives less than twice the skew is not replaced on every call.
    pub(crate) fn expiring(
        mut self,
        requested_at: SystemTime,
        lifetime: Option<Duration>,
        skew: Duration,
    ) -> Self {
        if let Some(lifetime) = lifetime {
            let early = skew.min(lifetime / 2);
            self.expires_at = Some(requested_at + lifetime);
            self.renew_at = Some(requested_at + (lifetime - early));
        }
        self
    }

    /// The access token.
    pub fn access_token(&self) -> &SecretString {
        &self.access_token
    }

    /// The refresh token, when the server issued one.
    pub fn refresh_token(&self) -> Option<&SecretString> {
        self.refresh_token.as_ref()
    }

    /// When the access token expires, when known.
    pub fn expires_at(&self) -> Option<SystemTime> {
        self.expires_at
    }

    /// The access token's scopes, space-separated, when the server said.
    pub fn scope(&self) -> Option<&str> {
        self.scope.as_deref()
    }

    /// The slug of the account the tokens act in, when the server said.
    pub fn account(&self) -> Option<&str> {
        self.account.as_deref()
    }

    /// The ID token, when `openid` was granted; it passed validation when it arrived.
    pub fn id_token(&self) -> Option<&SecretString> {
        self.id_token.as_ref()
    }

    /// The signed-in user, from the validated ID token, when `openid` was granted.
    pub fn identity(&self) -> Option<&Identity> {
        self.identity.as_ref()
    }

    /// Whether the access token is still good to send at `now`.
    pub(crate) fn is_fresh(&self, now: SystemTime) -> bool {
        self.renew_at.is_none_or(|renew_at| now < renew_at)
    }

    /// Whether this set holds `access_token`.
    pub(crate) fn holds(&self, access_token: &SecretString) -> bool {
        self.access_token.expose_secret() == access_token.expose_secret()
    }
}

impl fmt::Debug for TokenSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenSet")
            .field("access_token", &"***")
            .field("refresh_token", &self.refresh_token.as_ref().map(|_| "***"))
            .field("expires_at", &self.expires_at)
            .field("scope", &self.scope)
            .field("account", &self.account)
            .field("id_token", &self.id_token.as_ref().map(|_| "***"))
            .field("identity", &self.identity)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn token() -> TokenSet {
        TokenSet::unknown_expiry(SecretString::from("gk_at_secret"))
    }

    #[test]
    fn a_token_is_replaced_skew_before_expiry() {
        let t0 = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000);
        let set = token().expiring(t0, Some(Duration::from_secs(3600)), Duration::from_secs(60));
        assert!(set.is_fresh(t0 + Duration::from_secs(3539)));
        assert!(!set.is_fresh(t0 + Duration::from_secs(3540)));
        assert_eq!(set.expires_at(), Some(t0 + Duration::from_secs(3600)));
    }

    #[test]
    fn a_short_lived_token_is_kept_for_half_its_lifetime() {
        let t0 = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000);
        let set = token().expiring(t0, Some(Duration::from_secs(2)), Duration::from_secs(60));
        assert!(set.is_fresh(t0 + Duration::from_millis(999)));
        assert!(!set.is_fresh(t0 + Duration::from_secs(1)));
    }

    #[test]
    fn a_token_of_unknown_lifetime_stays_fresh() {
        assert!(token().is_fresh(SystemTime::now() + Duration::from_secs(1 << 30)));
    }

    #[test]
    fn debug_prints_no_token() {
        let mut set = token();
        set.refresh_token = Some(SecretString::from("gk_rt_secret"));
        set.id_token = Some(SecretString::from("eyJ.secret.sig"));
        let printed = format!("{set:?}");
        assert!(!printed.contains("secret"), "{printed}");
    }
}
