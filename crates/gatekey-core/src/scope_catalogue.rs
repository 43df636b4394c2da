//! The scope catalogue: the API's own scopes (`features:read`, `ideas:write`, `billing`), beside
//! gatekey's built-in `read`, `write` and `admin`. One catalogue serves the whole installation,
//! since the API behind gatekey has one vocabulary for all its accounts. Each entry has the
//! description the consent page shows, an optional group, and the roles that hold it unless an
//! account says otherwise ([`crate::role_scopes`]).
//!
//! Credentials keep their scopes as text. A name leaving the catalogue stays in the keys,
//! applications and grants that carry it, but no role holds it any more, so it is not effective
//! anywhere; should the name be created again, it is effective again for them.

use std::future::Future;

use time::OffsetDateTime;

use crate::audit::AuditEntry;
use crate::role::{Role, RoleSet};
use crate::scope::{IdentityScope, Scope, ScopeName, ScopeNameError, ScopeSet, UnknownScope};
use crate::store::StoreResult;

/// Longest description, in characters.
pub const MAX_DESCRIPTION_LEN: usize = 200;
/// Longest group name, in characters.
pub const MAX_GROUP_LEN: usize = 64;

/// One scope of the catalogue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CatalogueEntry {
    /// Its name.
    pub name: ScopeName,
    /// What it allows, in words; shown on the consent page.
    pub description: String,
    /// A heading to list it under, if any.
    pub group: Option<String>,
    /// The roles that hold it in an account that has not mapped the role itself.
    pub default_roles: RoleSet,
    /// When it was created.
    pub created_at: OffsetDateTime,
    /// When it last changed.
    pub updated_at: OffsetDateTime,
}

/// What a change to an entry sets; `None` leaves a field as it is.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CatalogueChange {
    /// A new description.
    pub description: Option<String>,
    /// A new group; `Some(None)` removes it.
    pub group: Option<Option<String>>,
    /// New default roles.
    pub default_roles: Option<RoleSet>,
}

/// A catalogue entry, or an input naming one, was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CatalogueInputError {
    /// The name is malformed or built in.
    #[error(transparent)]
    Name(#[from] ScopeNameError),
    /// The description is empty, too long, or has control characters.
    #[error(
        "the description must be 1 to {MAX_DESCRIPTION_LEN} characters, without control characters"
    )]
    BadDescription,
    /// The group is empty, too long, or has control characters.
    #[error("the group must be 1 to {MAX_GROUP_LEN} characters, without control characters")]
    BadGroup,
}

/// Scopes given as input were refused: a malformed name, or one neither built in nor in the
/// catalogue. Both are RFC 6749 `invalid_scope`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ScopeInputError {
    /// A malformed name.
    #[error(transparent)]
    Malformed(#[from] ScopeNameError),
    /// A well-formed name the catalogue does not have.
    #[error(transparent)]
    Unknown(#[from] UnknownScope),
}

fn check_text(text: &str, max: usize) -> bool {
    let length = text.chars().count();
    text.trim() == text && (1..=max).contains(&length) && !text.chars().any(char::is_control)
}

/// Checks a description.
pub fn validate_description(text: &str) -> Result<(), CatalogueInputError> {
    check_text(text, MAX_DESCRIPTION_LEN)
        .then_some(())
        .ok_or(CatalogueInputError::BadDescription)
}

/// Checks a group name.
pub fn validate_group(text: &str) -> Result<(), CatalogueInputError> {
    check_text(text, MAX_GROUP_LEN)
        .then_some(())
        .ok_or(CatalogueInputError::BadGroup)
}

impl Scope {
    /// What the built-in scope lets a credential do, in words, as the consent page says it.
    pub const fn description(self) -> &'static str {
        match self {
            Self::Read => "read your data in this account",
            Self::Write => "change your data in this account",
            Self::Admin => "administer this account as you (users, keys, audit log)",
        }
    }

    /// The roles that hold the built-in scope, in every account (see [`Role::scopes`]).
    pub fn roles(self) -> RoleSet {
        Role::ALL
            .into_iter()
            .filter(|role| role.scopes().contains(self))
            .fold(RoleSet::EMPTY, RoleSet::with)
    }
}

/// The whole catalogue, sorted by name.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ScopeCatalogue {
    entries: Vec<CatalogueEntry>,
    names: ScopeSet,
}

impl ScopeCatalogue {
    /// The catalogue of these entries.
    pub fn new(mut entries: Vec<CatalogueEntry>) -> Self {
        entries.sort_by(|a, b| a.name.cmp(&b.name));
        let names = ScopeSet::of_names(entries.iter().map(|e| e.name.clone()));
        Self { entries, names }
    }

    /// Every entry, sorted by name.
    pub fn entries(&self) -> &[CatalogueEntry] {
        &self.entries
    }

    /// The entry named `name`.
    pub fn entry(&self, name: &str) -> Option<&CatalogueEntry> {
        self.entries
            .binary_search_by(|e| e.name.as_str().cmp(name))
            .ok()
            .and_then(|i| self.entries.get(i))
    }

    /// Every catalogue name (no built-in).
    pub fn names(&self) -> &ScopeSet {
        &self.names
    }

    /// Every API scope there is: the built-ins and the catalogue's names (not the identity
    /// scopes, which are no application's to hold; see [`crate::identity_scope`]).
    pub fn every_scope(&self) -> ScopeSet {
        ScopeSet::ALL.union(&self.names)
    }

    /// Every scope a client may ask for: the identity scopes, the built-ins and the
    /// catalogue's names, as discovery's `scopes_supported` lists them.
    pub fn supported_scopes(&self) -> ScopeSet {
        ScopeSet::IDENTITY.union(&self.every_scope())
    }

    /// What the scope named `name` allows, in words; `None` for a name not in the catalogue.
    pub fn description(&self, name: &str) -> Option<&str> {
        if let Some(scope) = Scope::from_name(name) {
            Some(scope.description())
        } else if let Some(scope) = IdentityScope::from_name(name) {
            Some(scope.description())
        } else {
            self.entry(name).map(|e| e.description.as_str())
        }
    }

    /// Fails on the first name of `set` that is neither built in nor in the catalogue.
    pub fn check_known(&self, set: &ScopeSet) -> Result<(), UnknownScope> {
        match set
            .named()
            .iter()
            .find(|n| self.entry(n.as_str()).is_none())
        {
            Some(unknown) => Err(UnknownScope(unknown.to_string())),
            None => Ok(()),
        }
    }

    /// Parses scopes given as input, space-separated (RFC 6749 §3.3): every name must be well
    /// formed and known.
    pub fn parse_input(&self, text: &str) -> Result<ScopeSet, ScopeInputError> {
        let set = ScopeSet::parse(text)?;
        self.check_known(&set)?;
        Ok(set)
    }

    /// Like [`Self::parse_input`], for a list of names (one scope each).
    pub fn names_input<S: AsRef<str>>(&self, names: &[S]) -> Result<ScopeSet, ScopeInputError> {
        let set = ScopeSet::from_names(names)?;
        self.check_known(&set)?;
        Ok(set)
    }

    /// The catalogue scopes `role` holds in an account that has not mapped it.
    pub fn held_by_default(&self, role: Role) -> ScopeSet {
        ScopeSet::of_names(
            self.entries
                .iter()
                .filter(|e| e.default_roles.contains(role))
                .map(|e| e.name.clone()),
        )
    }
}

/// A new catalogue entry, checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewCatalogueEntry {
    /// Its name.
    pub name: ScopeName,
    /// Its description.
    pub description: String,
    /// Its group.
    pub group: Option<String>,
    /// The roles that hold it by default.
    pub default_roles: RoleSet,
    /// Creation time.
    pub created_at: OffsetDateTime,
}

/// An account's own mapping of one role to catalogue scopes, replacing the entries' default
/// roles for that role in that account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoleOverride {
    /// The role.
    pub role: Role,
    /// The catalogue scopes it holds in the account (names since deleted are kept here, and
    /// ignored).
    pub scopes: ScopeSet,
    /// When it was set.
    pub updated_at: OffsetDateTime,
}

/// The catalogue and the accounts' role mappings. Every write records an invalidation, so the
/// servers' cached mappings and the credentials checked under them are read again.
pub trait ScopeStore: Send + Sync {
    /// Every catalogue entry.
    fn scope_catalogue(&self) -> impl Future<Output = StoreResult<Vec<CatalogueEntry>>> + Send;
    /// Adds an entry. Conflict if the name is taken.
    fn create_scope(
        &self,
        entry: NewCatalogueEntry,
        audit: AuditEntry,
    ) -> impl Future<Output = StoreResult<CatalogueEntry>> + Send;
    /// Changes an entry. NotFound if there is none of that name.
    fn update_scope(
        &self,
        name: &ScopeName,
        change: CatalogueChange,
        now: OffsetDateTime,
        audit: AuditEntry,
    ) -> impl Future<Output = StoreResult<CatalogueEntry>> + Send;
    /// Removes an entry; credentials keep the name, which stops being effective. NotFound if
    /// there is none of that name.
    fn delete_scope(
        &self,
        name: &ScopeName,
        audit: AuditEntry,
    ) -> impl Future<Output = StoreResult<()>> + Send;
    /// The roles `account_id` has mapped itself.
    fn role_overrides(
        &self,
        account_id: i64,
    ) -> impl Future<Output = StoreResult<Vec<RoleOverride>>> + Send;
    /// Maps `role` in `account_id` to exactly the catalogue scopes `scopes`.
    fn set_role_override(
        &self,
        account_id: i64,
        role: Role,
        scopes: &ScopeSet,
        now: OffsetDateTime,
        audit: AuditEntry,
    ) -> impl Future<Output = StoreResult<()>> + Send;
    /// Returns `role` in `account_id` to the entries' default roles. `false` (and nothing
    /// written) when it was not mapped.
    fn remove_role_override(
        &self,
        account_id: i64,
        role: Role,
        audit: AuditEntry,
    ) -> impl Future<Output = StoreResult<bool>> + Send;
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    pub(crate) fn entry(name: &str, roles: &[&str]) -> CatalogueEntry {
        CatalogueEntry {
            name: ScopeName::parse(name).expect("name"),
            description: format!("use {name}"),
            group: None,
            default_roles: RoleSet::from_names(roles).expect("roles"),
            created_at: OffsetDateTime::UNIX_EPOCH,
            updated_at: OffsetDateTime::UNIX_EPOCH,
        }
    }

    fn catalogue() -> ScopeCatalogue {
        ScopeCatalogue::new(vec![
            entry("ideas:write", &["owner", "admin", "member"]),
            entry("billing", &["owner"]),
        ])
    }

    #[test]
    fn input_must_name_known_scopes() {
        let catalogue = catalogue();
        assert_eq!(
            catalogue.parse_input("read billing").map(|s| s.to_string()),
            Ok("read billing".into())
        );
        assert_eq!(
            catalogue.parse_input("read sudo"),
            Err(ScopeInputError::Unknown(UnknownScope("sudo".into())))
        );
        assert!(matches!(
            catalogue.names_input(&["ideas write"]),
            Err(ScopeInputError::Malformed(_))
        ));
        assert_eq!(
            catalogue.every_scope().to_string(),
            "read write admin billing ideas:write"
        );
    }

    #[test]
    fn descriptions_cover_built_ins_and_entries() {
        let catalogue = catalogue();
        assert_eq!(catalogue.description("billing"), Some("use billing"));
        assert_eq!(
            catalogue.description("admin"),
            Some("administer this account as you (users, keys, audit log)")
        );
        assert_eq!(catalogue.description("sudo"), None);
        assert_eq!(
            catalogue.description("email"),
            Some("see your email address")
        );
        assert_eq!(
            catalogue.supported_scopes().to_string(),
            "openid profile email offline_access read write admin billing ideas:write"
        );
        assert_eq!(
            catalogue
                .parse_input("openid read")
                .map(|s| s.has_identity(IdentityScope::OpenId)),
            Ok(true)
        );
        assert_eq!(Scope::Admin.roles().to_string(), "owner admin");
        assert_eq!(Scope::Read.roles().to_string(), "owner admin member viewer");
    }

    #[test]
    fn entries_hold_by_default_for_their_roles() {
        let catalogue = catalogue();
        assert_eq!(
            catalogue.held_by_default(Role::Owner).to_string(),
            "billing ideas:write"
        );
        assert_eq!(
            catalogue.held_by_default(Role::Member).to_string(),
            "ideas:write"
        );
        assert!(catalogue.held_by_default(Role::Viewer).is_empty());
    }

    #[test]
    fn descriptions_and_groups_are_bounded_text() {
        assert!(validate_description("Read the feature list").is_ok());
        for bad in [
            "",
            " padded",
            "line\nbreak",
            &"d".repeat(MAX_DESCRIPTION_LEN + 1),
        ] {
            assert_eq!(
                validate_description(bad),
                Err(CatalogueInputError::BadDescription)
            );
        }
        assert_eq!(validate_group("\u{7}"), Err(CatalogueInputError::BadGroup));
        assert!(validate_group("Product").is_ok());
    }
}
