//! Users (people and service accounts) and their memberships in accounts.

use std::fmt;
use std::str::FromStr;

use time::OffsetDateTime;

use crate::role::Role;

/// Whether a user is a person or an application's service account.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum UserKind {
    /// A person, who may log in with a password.
    Person,
    /// An application's user: API keys only, never a password login, one account only.
    Service,
}

impl UserKind {
    /// The kind's name on the wire and in storage.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Person => "person",
            Self::Service => "service",
        }
    }
}

impl FromStr for UserKind {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "person" => Ok(Self::Person),
            "service" => Ok(Self::Service),
            other => Err(format!("unknown user kind {other:?}")),
        }
    }
}

impl fmt::Display for UserKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A user. The password hash never leaves the store except to be verified.
#[derive(Clone, PartialEq, Eq)]
pub struct User {
    /// Database id.
    pub id: i64,
    /// Lower-cased email, unique.
    pub email: String,
    /// Display name.
    pub name: String,
    /// Person or service account.
    pub kind: UserKind,
    /// The argon2id PHC string; `None` for service accounts.
    pub password_hash: Option<String>,
    /// When the user was disabled; a disabled user's credentials all stop working.
    pub disabled_at: Option<OffsetDateTime>,
    /// When the user was created.
    pub created_at: OffsetDateTime,
    /// Whether the password must be changed before anything else (a generated first-run
    /// password): until then a web session can only change it or sign out.
    pub must_change_password: bool,
}

impl fmt::Debug for User {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("User")
            .field("id", &self.id)
            .field("email", &self.email)
            .field("kind", &self.kind)
            .field("disabled_at", &self.disabled_at)
            .finish_non_exhaustive()
    }
}

impl User {
    /// Whether the user has been disabled.
    pub fn is_disabled(&self) -> bool {
        self.disabled_at.is_some()
    }
}

/// A user's role in one account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Membership {
    /// Database id; API keys hang off it.
    pub id: i64,
    /// The user.
    pub user_id: i64,
    /// The account.
    pub account_id: i64,
    /// The role.
    pub role: Role,
    /// When the membership was made.
    pub created_at: OffsetDateTime,
}

/// A user together with their role in the account being looked at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Member {
    /// The user.
    pub user: User,
    /// Their membership in the account.
    pub membership: Membership,
}

/// Why user input was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UserInputError {
    /// Not a plausible email address.
    #[error("email must look like name@example.com (at most 254 characters)")]
    BadEmail,
    /// The name is empty, too long, or has control characters.
    #[error("name must be 1 to 200 characters")]
    BadName,
}

/// The longest email address there can be: a forward path holds at most 256 octets, two of
/// them the angle brackets (RFC 5321 §4.5.3.1.3).
pub const MAX_EMAIL_LEN: usize = 254;

/// Normalises and checks an email address: trimmed, lower-cased, one `@`, a dot in the domain,
/// no spaces or control characters. Deliverability is not gatekey's concern.
pub fn normalize_email(email: &str) -> Result<String, UserInputError> {
    let email = email.trim().to_lowercase();
    let Some((local, domain)) = email.split_once('@') else {
        return Err(UserInputError::BadEmail);
    };
    let plausible = !local.is_empty()
        && local.len() <= 64
        && !domain.contains('@')
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !domain.contains("..")
        && email.len() <= MAX_EMAIL_LEN
        && !email
            .chars()
            .any(|c| c.is_whitespace() || c.is_control() || "<>()[],;:\\\"".contains(c));
    if plausible {
        Ok(email)
    } else {
        Err(UserInputError::BadEmail)
    }
}

/// Checks a user's display name.
pub fn validate_user_name(name: &str) -> Result<(), UserInputError> {
    crate::account::validate_name(name).map_err(|_| UserInputError::BadName)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails() {
        assert_eq!(
            normalize_email(" Ada@Example.COM ").as_deref(),
            Ok("ada@example.com")
        );
        for bad in [
            "",
            "ada",
            "ada@",
            "@example.com",
            "ada@example",
            "a b@example.com",
            "a@b@example.com",
            "ada@.com",
        ] {
            assert_eq!(normalize_email(bad), Err(UserInputError::BadEmail), "{bad}");
        }
    }
}
