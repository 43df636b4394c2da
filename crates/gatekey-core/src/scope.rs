//! Scopes: gatekey's own `read`, `write` and `admin`, the OpenID Connect identity scopes
//! (`openid`, `profile`, `email`, `offline_access`; see [`crate::identity_scope`]), and the
//! names of the scope catalogue (the API's own scopes, such as `features:read`; see
//! [`crate::scope_catalogue`]). A credential may do what its user's role holds intersected with
//! the credential's scopes; the identity scopes are held by every role.

use std::fmt;
use std::sync::Arc;

pub use crate::builtin_scope::Scope;
pub use crate::identity_scope::IdentityScope;
pub use crate::scope_name::{ScopeName, ScopeNameError, MAX_SCOPE_NAME_LEN};

/// A set of scopes: built-ins and identity scopes as bits, catalogue names as a shared sorted list. A set of
/// built-ins alone allocates nothing, and checking a built-in ([`ScopeSet::contains`]) reads
/// one byte, so the check on every request costs what it did before the catalogue existed.
#[derive(Clone, PartialEq, Eq, Hash, Default)]
pub struct ScopeSet {
    builtins: u8,
    identity: u8,
    /// Sorted, without duplicates; `None` rather than empty, so equal sets compare equal.
    named: Option<Arc<[ScopeName]>>,
}

/// A scope string named something that is neither a built-in scope nor in the catalogue.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown scope {0:?}: it is neither built in nor in the scope catalogue")]
pub struct UnknownScope(pub String);

impl ScopeSet {
    /// No scope at all.
    pub const EMPTY: ScopeSet = ScopeSet {
        builtins: 0,
        identity: 0,
        named: None,
    };
    /// Every built-in scope (`read write admin`), and no catalogue scope.
    pub const ALL: ScopeSet = ScopeSet {
        builtins: 7,
        identity: 0,
        named: None,
    };
    /// Every identity scope (`openid profile email offline_access`), and nothing else.
    pub const IDENTITY: ScopeSet = ScopeSet {
        builtins: 0,
        identity: 15,
        named: None,
    };

    /// Parses a space-separated list (RFC 6749 §3.3); empty input gives the empty set. Every
    /// word must be a built-in scope or a well-formed scope name ([`ScopeName::parse`]);
    /// whether a name is in the catalogue is checked by the catalogue
    /// ([`crate::scope_catalogue::ScopeCatalogue::parse_input`]), since stored scopes keep a
    /// name the catalogue no longer has (it is simply not effective).
    pub fn parse(text: &str) -> Result<Self, ScopeNameError> {
        Self::from_words(text.split(' ').filter(|word| !word.is_empty()))
    }

    /// Builds a set from a list of names, each one scope: a name with a space in it is
    /// refused, not split.
    pub fn from_names<S: AsRef<str>>(names: &[S]) -> Result<Self, ScopeNameError> {
        Self::from_words(names.iter().map(AsRef::as_ref))
    }

    fn from_words<'a>(words: impl Iterator<Item = &'a str>) -> Result<Self, ScopeNameError> {
        let mut set = Self::EMPTY;
        let mut named = Vec::new();
        for word in words {
            if let Some(scope) = Scope::from_name(word) {
                set.builtins |= scope.bit();
            } else if let Some(scope) = IdentityScope::from_name(word) {
                set.identity |= scope.bit();
            } else {
                named.push(ScopeName::parse(word)?);
            }
        }
        Ok(set.with_named(named))
    }

    /// This set's bits with the catalogue names `named` instead of its own.
    fn with_named(self, mut named: Vec<ScopeName>) -> Self {
        named.sort_unstable();
        named.dedup();
        Self {
            named: (!named.is_empty()).then(|| named.into()),
            ..self
        }
    }

    /// The set of catalogue names `names` (no built-in).
    pub fn of_names(names: impl IntoIterator<Item = ScopeName>) -> Self {
        Self::EMPTY.with_named(names.into_iter().collect())
    }

    /// This set with `scope` added.
    pub const fn with(mut self, scope: Scope) -> Self {
        self.builtins |= scope.bit();
        self
    }

    /// This set with the identity scope `scope` added.
    pub const fn with_identity(mut self, scope: IdentityScope) -> Self {
        self.identity |= scope.bit();
        self
    }

    /// Whether the built-in `scope` is in the set.
    pub const fn contains(&self, scope: Scope) -> bool {
        self.builtins & scope.bit() != 0
    }

    /// Whether the identity scope `scope` is in the set: `has_identity(IdentityScope::OpenId)`
    /// asks whether this is an OpenID Connect authorization (Core §3.1.2.1).
    pub const fn has_identity(&self, scope: IdentityScope) -> bool {
        self.identity & scope.bit() != 0
    }

    /// Whether the scope named `name` (built-in, identity or catalogue) is in the set.
    pub fn contains_name(&self, name: &str) -> bool {
        if let Some(scope) = Scope::from_name(name) {
            self.contains(scope)
        } else if let Some(scope) = IdentityScope::from_name(name) {
            self.has_identity(scope)
        } else {
            self.named()
                .binary_search_by(|n| n.as_str().cmp(name))
                .is_ok()
        }
    }

    /// Scopes in both sets.
    pub fn intersect(&self, other: &ScopeSet) -> Self {
        let named = match (&self.named, &other.named) {
            (Some(mine), Some(theirs)) if Arc::ptr_eq(mine, theirs) => Some(mine.clone()),
            (Some(mine), Some(_)) => {
                let both: Vec<ScopeName> = mine
                    .iter()
                    .filter(|n| other.contains_catalogue_name(n))
                    .cloned()
                    .collect();
                (!both.is_empty()).then(|| both.into())
            }
            _ => None,
        };
        Self {
            builtins: self.builtins & other.builtins,
            identity: self.identity & other.identity,
            named,
        }
    }

    /// Scopes in either set.
    pub fn union(&self, other: &ScopeSet) -> Self {
        let named = match (&self.named, &other.named) {
            (None, theirs) => theirs.clone(),
            (mine, None) => mine.clone(),
            (Some(mine), Some(theirs)) => {
                let all: Vec<ScopeName> = mine.iter().chain(theirs.iter()).cloned().collect();
                return Self {
                    builtins: self.builtins | other.builtins,
                    identity: self.identity | other.identity,
                    named: None,
                }
                .with_named(all);
            }
        };
        Self {
            builtins: self.builtins | other.builtins,
            identity: self.identity | other.identity,
            named,
        }
    }

    /// The built-in scopes of this set, without its identity scopes and catalogue names.
    pub const fn builtins_only(&self) -> Self {
        Self {
            builtins: self.builtins,
            identity: 0,
            named: None,
        }
    }

    /// The identity scopes of this set, and nothing else.
    pub const fn identity_only(&self) -> Self {
        Self {
            builtins: 0,
            identity: self.identity,
            named: None,
        }
    }

    /// This set without its identity scopes: the API scopes (built-in and catalogue).
    pub fn without_identity(&self) -> Self {
        Self {
            identity: 0,
            ..self.clone()
        }
    }

    /// The scopes of this set a credential of a user whose role holds `role_scopes` may use:
    /// the intersection, except that the identity scopes are kept, since every role holds them
    /// (see [`crate::identity_scope`]).
    pub fn within_role(&self, role_scopes: &ScopeSet) -> Self {
        let mut within = self.intersect(role_scopes);
        within.identity = self.identity;
        within
    }

    fn contains_catalogue_name(&self, name: &ScopeName) -> bool {
        self.named().binary_search(name).is_ok()
    }

    /// Whether every scope of `self` is in `other`.
    pub fn is_subset_of(&self, other: &ScopeSet) -> bool {
        self.builtins & !other.builtins == 0
            && self.identity & !other.identity == 0
            && self
                .named()
                .iter()
                .all(|n| other.contains_catalogue_name(n))
    }

    /// The first scope of `self` that `other` lacks, by name.
    pub fn first_missing_from(&self, other: &ScopeSet) -> Option<&str> {
        self.names_iter().find(|name| !other.contains_name(name))
    }

    /// Whether the set is empty.
    pub fn is_empty(&self) -> bool {
        self.builtins == 0 && self.identity == 0 && self.named.is_none()
    }

    /// The built-in scopes, in canonical order.
    pub fn builtins(&self) -> impl Iterator<Item = Scope> {
        let bits = self.builtins;
        Scope::ALL.into_iter().filter(move |s| bits & s.bit() != 0)
    }

    /// The identity scopes, in canonical order.
    pub fn identity_scopes(&self) -> impl Iterator<Item = IdentityScope> {
        let bits = self.identity;
        IdentityScope::ALL
            .into_iter()
            .filter(move |s| bits & s.bit() != 0)
    }

    /// The catalogue names, sorted.
    pub fn named(&self) -> &[ScopeName] {
        self.named.as_deref().unwrap_or(&[])
    }

    fn names_iter<'a>(&'a self) -> impl Iterator<Item = &'a str> + 'a {
        self.identity_scopes()
            .map(|s| -> &'a str { s.as_str() })
            .chain(self.builtins().map(|s| -> &'a str { s.as_str() }))
            .chain(self.named().iter().map(ScopeName::as_str))
    }

    /// Every name: the identity scopes and the built-ins in canonical order, then the
    /// catalogue names sorted.
    pub fn names(&self) -> Vec<&str> {
        self.names_iter().collect()
    }
}

impl fmt::Display for ScopeSet {
    /// The space-separated form used on the wire and in storage.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, name) in self.names_iter().enumerate() {
            if i > 0 {
                f.write_str(" ")?;
            }
            f.write_str(name)?;
        }
        Ok(())
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

    fn set(text: &str) -> ScopeSet {
        ScopeSet::parse(text).expect("valid")
    }

    #[test]
    fn parse_display_round_trip() {
        let parsed = set("write  read");
        assert_eq!(parsed.to_string(), "read write");
        assert!(set("read").is_subset_of(&parsed));
        let mixed = set("ideas:write admin features:read ideas:write");
        assert_eq!(mixed.to_string(), "admin features:read ideas:write");
        assert_eq!(set(&mixed.to_string()), mixed);
        assert_eq!(ScopeSet::from_names(&mixed.names()), Ok(mixed));
    }

    #[test]
    fn malformed_names_are_refused_wherever_they_stand() {
        for bad in [
            "read \"x\"",
            "a\\b",
            "read\twrite",
            "bill\u{7}ing",
            "é",
            &"x".repeat(65),
        ] {
            assert!(ScopeSet::parse(bad).is_err(), "{bad:?}");
        }
        assert!(ScopeSet::from_names(&["read write"]).is_err());
        assert!(ScopeSet::from_names(&[""]).is_err());
        assert!(ScopeSet::parse(&"x".repeat(64)).is_ok());
    }

    #[test]
    fn set_operations_cover_catalogue_names() {
        let held = set("read write billing features:read");
        let asked = set("read admin billing ideas:write");
        assert_eq!(asked.intersect(&held), set("read billing"));
        assert_eq!(
            held.union(&asked).to_string(),
            "read write admin billing features:read ideas:write"
        );
        assert!(!asked.is_subset_of(&held));
        assert_eq!(asked.first_missing_from(&held), Some("admin"));
        assert_eq!(
            set("billing ideas:write").first_missing_from(&held),
            Some("ideas:write")
        );
        assert!(held.contains_name("billing") && held.contains_name("write"));
        assert!(!held.contains_name("admin") && !held.contains_name("ideas:write"));
        assert_eq!(set("billing").intersect(&set("read")), ScopeSet::EMPTY);
        assert!(set("billing").intersect(&set("read")).is_empty());
        assert_eq!(held.builtins_only(), set("read write"));
    }

    #[test]
    fn identity_scopes_are_recognised_and_kept_within_any_role() {
        let asked = set("email read openid billing");
        assert_eq!(asked.to_string(), "openid email read billing");
        assert_eq!(set(&asked.to_string()), asked);
        assert!(asked.has_identity(IdentityScope::OpenId));
        assert!(!asked.has_identity(IdentityScope::Profile));
        assert!(asked.contains_name("email") && !asked.contains_name("profile"));
        assert!(asked.named().iter().all(|n| n.as_str() == "billing"));
        assert_eq!(asked.without_identity(), set("read billing"));
        assert_eq!(asked.identity_only(), set("openid email"));
        // A role holding neither read nor billing still leaves the identity scopes.
        assert_eq!(asked.within_role(&set("write")), set("openid email"));
        assert_eq!(asked.within_role(&set("read")), set("openid email read"));
        assert_eq!(asked.intersect(&set("read")), set("read"));
        assert!(set("openid").is_subset_of(&ScopeSet::IDENTITY));
        assert!(!set("openid").is_subset_of(&ScopeSet::ALL));
        assert!(!set("openid").is_empty());
        assert_eq!(
            ScopeSet::IDENTITY.to_string(),
            "openid profile email offline_access"
        );
        assert_eq!(
            ScopeSet::IDENTITY.union(&asked).to_string(),
            "openid profile email offline_access read billing"
        );
    }
}
