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
    /// The role's name on the wire and in storage.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Owner => "owner",
            Self::Admin => "admin",
            Self::Member => "member",
            Self::Viewer => "viewer",
        }
    }

    /// The scopes a credential of a user with this role can ever exercise.
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
