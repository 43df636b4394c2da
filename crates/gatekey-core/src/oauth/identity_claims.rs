//! The claims about a person that gatekey states, by scope (OpenID Connect Core 1.0 §5.1,
//! §5.4): what UserInfo answers and what an ID token carries, from one rule so they never
//! disagree.
//!
//! - `sub` is the user's id as a decimal string ([`subject_of`]): stable for the user's whole
//!   life and never reassigned (Core §5.7), never the email, which a user may change.
//! - `profile` gives `name`.
//! - `email` gives `email` and `email_verified`. gatekey never proves that a person controls an
//!   address: it sends no mail, an administrator types the address or invites it, and the
//!   invitation link is handed over by whoever created it. So `email_verified` is always
//!   `false`, and a relying party must link accounts by `sub`, not by email. A service account's
//!   address is an identifier, not a mailbox, and is never stated.
//! - [`ACCOUNT_CLAIM`] always names the account the user acted in (its slug).

use crate::scope::{IdentityScope, ScopeSet};
use crate::user::{User, UserKind};

/// The claim naming the account the user chose when authorizing (its slug). A collision-resistant
/// name in gatekey's own namespace (Core §5.1.2).
pub const ACCOUNT_CLAIM: &str = "gatekey:account";

/// Every claim gatekey may state about a person or in an ID token, as discovery's
/// `claims_supported` lists them (OpenID Connect Discovery 1.0 §3).
pub const CLAIMS_SUPPORTED: [&str; 14] = [
    "sub",
    "iss",
    "aud",
    "exp",
    "iat",
    "auth_time",
    "nonce",
    "at_hash",
    "azp",
    "sid",
    "email",
    "email_verified",
    "name",
    ACCOUNT_CLAIM,
];

/// The subject identifier of `user` (Core §2 `sub`, §8 public subject type): the user's id in
/// decimal. UserInfo and ID tokens both use this, so they name the same subject.
pub fn subject_of(user: &User) -> String {
    user.id.to_string()
}

/// The claims about one person under one authorization.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdentityClaims {
    /// `sub`.
    pub sub: String,
    /// `name`, with the `profile` scope.
    pub name: Option<String>,
    /// `email`, with the `email` scope, for a person.
    pub email: Option<String>,
    /// `email_verified`, beside `email`.
    pub email_verified: Option<bool>,
    /// [`ACCOUNT_CLAIM`]: the account's slug.
    pub account: String,
}

/// The claims `scopes` allow about `user` acting in the account `account_slug`. The caller checks that `openid`
/// was granted; without it there is no OpenID Connect answer at all.
pub fn identity_claims(user: &User, account_slug: &str, scopes: &ScopeSet) -> IdentityClaims {
    let email = (scopes.has_identity(IdentityScope::Email) && user.kind == UserKind::Person)
        .then(|| user.email.clone());
    IdentityClaims {
        sub: subject_of(user),
        name: scopes
            .has_identity(IdentityScope::Profile)
            .then(|| user.name.clone()),
        email_verified: email.as_ref().map(|_| false),
        email,
        account: account_slug.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use time::OffsetDateTime;

    use super::*;
    use crate::account::Account;

    fn user(kind: UserKind) -> User {
        User {
            id: 42,
            email: "ada@example.com".into(),
            name: "Ada".into(),
            kind,
            password_hash: None,
            disabled_at: None,
            created_at: OffsetDateTime::UNIX_EPOCH,
            must_change_password: false,
        }
    }

    fn acme() -> Account {
        Account {
            id: 7,
            slug: "acme".into(),
            name: "Acme".into(),
            created_at: OffsetDateTime::UNIX_EPOCH,
        }
    }

    fn scopes(text: &str) -> ScopeSet {
        ScopeSet::parse(text).expect("scopes")
    }

    #[test]
    fn claims_follow_the_scopes() {
        let ada = user(UserKind::Person);
        let bare = identity_claims(&ada, &acme().slug, &scopes("openid read"));
        assert_eq!(
            bare,
            IdentityClaims {
                sub: "42".into(),
                name: None,
                email: None,
                email_verified: None,
                account: "acme".into(),
            }
        );
        let full = identity_claims(&ada, &acme().slug, &scopes("openid profile email"));
        assert_eq!(full.name.as_deref(), Some("Ada"));
        assert_eq!(full.email.as_deref(), Some("ada@example.com"));
        assert_eq!(full.email_verified, Some(false));
        assert_eq!(full.sub, subject_of(&ada));
    }

    #[test]
    fn a_service_account_has_no_email_claim() {
        let robot = identity_claims(
            &user(UserKind::Service),
            &acme().slug,
            &scopes("openid profile email"),
        );
        assert_eq!((robot.email, robot.email_verified), (None, None));
        assert_eq!(robot.name.as_deref(), Some("Ada"));
    }
}
