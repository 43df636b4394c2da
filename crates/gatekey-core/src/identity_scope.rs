//! The OpenID Connect identity scopes, `openid`, `profile`, `email` and `offline_access`
//! (OpenID Connect Core 1.0 §3.1.2.1, §5.4, §11). They are built in, like `read`, `write` and
//! `admin`, but they are of another kind: they ask for facts about the person who signs in (and
//! for `offline_access`, a refresh token), not for authority over gatekey's REST API.
//!
//! Hence their rules, which [`crate::scope::ScopeSet`] and the OAuth rules apply:
//! - an application with a flow in which a person signs in may always ask for them, whatever
//!   its API scopes ([`crate::oauth::application::Application::requestable_scopes`]);
//! - a client credentials token never carries them (no person signs in);
//! - every role holds them: a role mapping neither grants nor withholds them
//!   ([`crate::scope::ScopeSet::within_role`]);
//! - no REST API route requires them, so on their own they grant no API access.

/// One of the OpenID Connect identity scopes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum IdentityScope {
    /// `openid`: the request is an OpenID Connect request (Core §3.1.2.1); the answer carries
    /// an ID token and UserInfo answers for the access token.
    OpenId,
    /// `profile`: the person's name (Core §5.4).
    Profile,
    /// `email`: the person's email address and whether it was verified (Core §5.4).
    Email,
    /// `offline_access`: a refresh token that works while the person is not signed in
    /// (Core §11).
    OfflineAccess,
}

impl IdentityScope {
    /// Every identity scope, in canonical order.
    pub const ALL: [IdentityScope; 4] = [
        IdentityScope::OpenId,
        IdentityScope::Profile,
        IdentityScope::Email,
        IdentityScope::OfflineAccess,
    ];

    /// The scope's name on the wire.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::OpenId => "openid",
            Self::Profile => "profile",
            Self::Email => "email",
            Self::OfflineAccess => "offline_access",
        }
    }

    /// The identity scope named `name`, if it is one.
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.as_str() == name)
    }

    /// What granting the scope tells or allows the application, as the consent page says it.
    pub const fn description(self) -> &'static str {
        match self {
            Self::OpenId => "sign you in: learn your gatekey user id and the account you choose",
            Self::Profile => "see your name",
            Self::Email => "see your email address",
            Self::OfflineAccess => "keep access while you are not signed in",
        }
    }

    /// The scope's bit in a [`crate::scope::ScopeSet`].
    pub(crate) const fn bit(self) -> u8 {
        match self {
            Self::OpenId => 1,
            Self::Profile => 2,
            Self::Email => 4,
            Self::OfflineAccess => 8,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_are_distinct_bits() {
        let mut bits = 0;
        for scope in IdentityScope::ALL {
            assert_eq!(IdentityScope::from_name(scope.as_str()), Some(scope));
            assert_eq!(bits & scope.bit(), 0);
            bits |= scope.bit();
        }
        assert_eq!(IdentityScope::from_name("OpenID"), None);
        assert_eq!(IdentityScope::from_name("read"), None);
    }
}
