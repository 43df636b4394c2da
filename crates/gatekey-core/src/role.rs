//! Roles of a user in an account, and the scopes each role may ever exercise.

use std::fmt;
use std::str::FromStr;

use crate::scope::{Scope, ScopeSet};

/// A user's role in one account.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Role {
    /// Everything an admin may do; the account's last owner cannot be removed.
    Owner,
    /// Manages users, service accounts, keys of others; reads the audit.
    Admin,
    /// Reads and changes the account's data.
    Member,
    /// Reads the account's data.
    Viewer,
}

impl Role {
    /// Every role, highest first.
    pub const ALL: [Role; 4] = [Role::Owner, Role::Admin, Role::Member, Role::Viewer];

    /// The role's name on the wire and in storage.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Owner => "owner",
            Self::Admin => "admin",
            Self::Member => "member",
            Self::Viewer => "viewer",
        }
    }

    /// The built-in scopes (gatekey's own management authority) a credential of a user with
    /// this role can ever exercise. They are fixed; what the role holds of the scope catalogue
    /// is in [`crate::role_scopes::AccountScopes`].
    pub const fn scopes(self) -> ScopeSet {
        match self {
            Self::Owner | Self::Admin => ScopeSet::ALL,
            Self::Member => ScopeSet::EMPTY.with(Scope::Read).with(Scope::Write),
            Self::Viewer => ScopeSet::EMPTY.with(Scope::Read),
        }
    }

    /// The role's place in the order owner > admin > member > viewer.
    pub const fn rank(self) -> u8 {
        match self {
            Self::Owner => 3,
            Self::Admin => 2,
            Self::Member => 1,
            Self::Viewer => 0,
        }
    }

    /// The rank rule: whether a user with this role may act on a member whose role is
    /// `target`, or hand out `target`. Creating a key for a service account, revoking another
    /// user's key, disabling a service account, changing a role and granting a role all apply
    /// it, so an admin can neither act on an owner nor make one.
    pub const fn may_administer(self, target: Role) -> bool {
        target.rank() <= self.rank()
    }

    /// [`Self::may_administer`] as a result, for handlers that refuse with its message.
    pub const fn check_may_administer(self, target: Role) -> Result<(), RankError> {
        if self.may_administer(target) {
            Ok(())
        } else {
            Err(RankError {
                actor: self,
                target,
            })
        }
    }

    const fn bit(self) -> u8 {
        1 << self.rank()
    }

    /// Whether the role administers its account.
    pub const fn is_admin(self) -> bool {
        matches!(self, Self::Owner | Self::Admin)
    }
}

/// The rank rule refused an action: the target's role ranks above the actor's.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("this belongs to a member whose role ({target}) ranks above yours ({actor})")]
pub struct RankError {
    /// The role of the one acting.
    pub actor: Role,
    /// The role of the member acted on.
    pub target: Role,
}

/// A role name that is not one of owner, admin, member, viewer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown role {0:?}; roles are owner, admin, member and viewer")]
pub struct UnknownRole(pub String);

impl FromStr for Role {
    type Err = UnknownRole;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "owner" => Ok(Self::Owner),
            "admin" => Ok(Self::Admin),
            "member" => Ok(Self::Member),
            "viewer" => Ok(Self::Viewer),
            other => Err(UnknownRole(other.to_owned())),
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A set of roles, such as those that hold a catalogue scope by default.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct RoleSet(u8);

impl RoleSet {
    /// No role.
    pub const EMPTY: RoleSet = RoleSet(0);
    /// The roles that hold a new catalogue scope unless told otherwise: owner, admin and
    /// member (a viewer reads, and catalogue scopes usually do more).
    pub const CATALOGUE_DEFAULT: RoleSet = RoleSet::EMPTY
        .with(Role::Owner)
        .with(Role::Admin)
        .with(Role::Member);

    /// This set with `role` added.
    pub const fn with(self, role: Role) -> Self {
        Self(self.0 | role.bit())
    }

    /// Whether `role` is in the set.
    pub const fn contains(self, role: Role) -> bool {
        self.0 & role.bit() != 0
    }

    /// The roles, highest first.
    pub fn iter(self) -> impl Iterator<Item = Role> {
        Role::ALL.into_iter().filter(move |r| self.contains(*r))
    }

    /// Parses a list of role names.
    pub fn from_names<S: AsRef<str>>(names: &[S]) -> Result<Self, UnknownRole> {
        names.iter().try_fold(
            Self::EMPTY,
            |set, name| Ok(set.with(name.as_ref().parse()?)),
        )
    }

    /// Parses the space-separated form of [`fmt::Display`].
    pub fn parse(text: &str) -> Result<Self, UnknownRole> {
        Self::from_names(&text.split_ascii_whitespace().collect::<Vec<_>>())
    }

    /// The role names, highest first.
    pub fn names(self) -> Vec<&'static str> {
        self.iter().map(Role::as_str).collect()
    }
}

impl fmt::Display for RoleSet {
    /// Space-separated, highest first; the form stored.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.names().join(" "))
    }
}

impl fmt::Debug for RoleSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "RoleSet({self})")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn role_sets_print_highest_first_and_parse_back() {
        let set = RoleSet::from_names(&["viewer", "owner"]).expect("roles");
        assert_eq!(set.to_string(), "owner viewer");
        assert_eq!(RoleSet::parse("owner viewer"), Ok(set));
        assert_eq!(RoleSet::CATALOGUE_DEFAULT.to_string(), "owner admin member");
        assert_eq!(
            RoleSet::from_names(&["guest"]),
            Err(UnknownRole("guest".into()))
        );
    }
}
