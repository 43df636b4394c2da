//! Scopes: `read`, `write`, `admin`. A credential may do what its user's role allows
//! intersected with the credential's scopes.

use std::fmt;

/// One scope.
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

    const fn bit(self) -> u8 {
        match self {
            Self::Read => 1,
            Self::Write => 2,
            Self::Admin => 4,
        }
    }
}

/// A set of scopes.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct ScopeSet(u8);

/// A scope string named something that is not a scope.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown scope {0:?}; scopes are read, write and admin")]
pub struct UnknownScope(pub String);

impl ScopeSet {
    /// No scope at all.
    pub const EMPTY: ScopeSet = ScopeSet(0);
    /// Every scope.
    pub const ALL: ScopeSet = ScopeSet(7);

    /// Parses a space-separated list (RFC 6749 §3.3); empty input gives the empty set.
    pub fn parse(text: &str) -> Result<Self, UnknownScope> {
        text.split_ascii_whitespace()
            .try_fold(Self::EMPTY, |set, word| {
                Scope::ALL
                    .into_iter()
                    .find(|s| s.as_str() == word)
                    .map(|s| set.with(s))
                    .ok_or_else(|| UnknownScope(word.to_owned()))
            })
    }

    /// Builds a set from a list of names.
    pub fn from_names<S: AsRef<str>>(names: &[S]) -> Result<Self, UnknownScope> {
        let joined: Vec<&str> = names.iter().map(AsRef::as_ref).collect();
        Self::parse(&joined.join(" "))
    }

    /// This set with `scope` added.
    pub const fn with(self, scope: Scope) -> Self {
        Self(self.0 | scope.bit())
    }

    /// Whether `scope` is in the set.
    pub const fn contains(self, scope: Scope) -> bool {
        self.0 & scope.bit() != 0
    }

    /// Scopes in both sets.
    pub const fn intersect(self, other: ScopeSet) -> Self {
        Self(self.0 & other.0)
    }

    /// Whether every scope of `self` is in `other`.
    pub const fn is_subset_of(self, other: ScopeSet) -> bool {
        self.0 & !other.0 == 0
    }

    /// Whether the set is empty.
    pub const fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// The scopes in canonical order.
    pub fn iter(self) -> impl Iterator<Item = Scope> {
        Scope::ALL.into_iter().filter(move |s| self.contains(*s))
    }

    /// The names in canonical order.
    pub fn names(self) -> Vec<&'static str> {
        self.iter().map(Scope::as_str).collect()
    }
}

impl fmt::Display for ScopeSet {
    /// The space-separated form used on the wire and in storage.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.names().join(" "))
    }
}

impl fmt::Debug for ScopeSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ScopeSet({self})")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_display_round_trip() {
        let set = ScopeSet::parse("write  read").expect("valid");
        assert_eq!(set.to_string(), "read write");
        assert!(ScopeSet::parse("read").expect("valid").is_subset_of(set));
        assert_eq!(
            ScopeSet::parse("read sudo"),
            Err(UnknownScope("sudo".into()))
        );
    }
}
