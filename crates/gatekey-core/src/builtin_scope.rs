//! gatekey's built-in scopes, `read`, `write` and `admin`: its own management authority.
//! Sets of them, with catalogue names, are [`crate::scope::ScopeSet`].

/// One of gatekey's built-in scopes: its own management authority, which its REST routes
/// require.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Scope {
    /// Read the account's data.
    Read,
    /// Change the account's data and one's own credentials.
    Write,
    /// Administer the account: users, service accounts, other users' keys, audit.
    Admin,
}

impl Scope {
    /// Every scope, in canonical order.
    pub const ALL: [Scope; 3] = [Scope::Read, Scope::Write, Scope::Admin];

    /// The scope's name on the wire.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Read => "read",
            Self::Write => "write",
            Self::Admin => "admin",
        }
    }

    /// The built-in scope named `name`, if it is one.
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.as_str() == name)
    }

    /// The scope's bit in a [`crate::scope::ScopeSet`].
    pub(crate) const fn bit(self) -> u8 {
        match self {
            Self::Read => 1,
            Self::Write => 2,
            Self::Admin => 4,
        }
    }
}
