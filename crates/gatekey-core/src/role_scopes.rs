//! What each role holds in one account: the built-in scopes its rank gives it
//! ([`Role::scopes`], fixed), and the catalogue scopes the account maps it to, or, for a role the
//! account has not mapped, those whose entries name the role among their default roles.
//!
//! A credential's effective scopes are its own scopes intersected with what its user's role
//! holds here ([`crate::principal::Principal::effective_scopes`]), computed when it is used.

use std::sync::Arc;

use crate::role::{Role, RoleSet};
use crate::scope::ScopeSet;
use crate::scope_catalogue::{RoleOverride, ScopeCatalogue, ScopeInputError, ScopeStore};
use crate::store::StoreResult;

/// The scopes every role holds in one account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountScopes {
    catalogue: Arc<ScopeCatalogue>,
    /// By [`Role::ALL`]'s order.
    held: [ScopeSet; 4],
    overridden: RoleSet,
}

fn index(role: Role) -> usize {
    match role {
        Role::Owner => 0,
        Role::Admin => 1,
        Role::Member => 2,
        Role::Viewer => 3,
    }
}

impl AccountScopes {
    /// What the roles hold under `catalogue` given the account's `overrides`. An override's
    /// names that left the catalogue are ignored.
    pub fn new(catalogue: Arc<ScopeCatalogue>, overrides: &[RoleOverride]) -> Self {
        let mut overridden = RoleSet::EMPTY;
        let held = Role::ALL.map(|role| {
            let catalogue_scopes = match overrides.iter().find(|o| o.role == role) {
                Some(mapped) => {
                    overridden = overridden.with(role);
                    mapped.scopes.intersect(catalogue.names())
                }
                None => catalogue.held_by_default(role),
            };
            role.scopes().union(&catalogue_scopes)
        });
        Self {
            catalogue,
            held,
            overridden,
        }
    }

    /// Without a catalogue: the built-in scopes of each role, as before catalogues existed.
    pub fn builtin_only() -> Self {
        Self::new(Arc::default(), &[])
    }

    /// Everything `role` holds in the account: built-ins and catalogue scopes.
    pub fn held_by(&self, role: Role) -> &ScopeSet {
        &self.held[index(role)]
    }

    /// Whether the account maps `role` itself, rather than following the entries' defaults.
    pub fn is_overridden(&self, role: Role) -> bool {
        self.overridden.contains(role)
    }

    /// The catalogue these were computed from.
    pub fn catalogue(&self) -> &ScopeCatalogue {
        &self.catalogue
    }

    /// The shared catalogue.
    pub fn shared_catalogue(&self) -> Arc<ScopeCatalogue> {
        self.catalogue.clone()
    }
}

/// Loads what the roles hold in `account_id`: the catalogue and the account's overrides.
pub async fn load_account_scopes<S: ScopeStore>(
    store: &S,
    account_id: i64,
) -> StoreResult<AccountScopes> {
    let catalogue = Arc::new(ScopeCatalogue::new(store.scope_catalogue().await?));
    let overrides = store.role_overrides(account_id).await?;
    Ok(AccountScopes::new(catalogue, &overrides))
}

/// Why a role mapping was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RoleMappingError {
    /// A malformed or unknown scope (RFC 6749 `invalid_scope`).
    #[error(transparent)]
    Scope(#[from] ScopeInputError),
    /// A built-in scope: those follow the role's rank and cannot be mapped.
    #[error("{0} is a built-in scope: read, write and admin follow the role and cannot be mapped")]
    Builtin(&'static str),
    /// An identity scope: every role holds those, so they cannot be mapped.
    #[error(
        "{0} is an OpenID Connect identity scope: every role holds it, so it cannot be mapped"
    )]
    Identity(&'static str),
}

/// Checks the scopes an account maps a role to: catalogue names only, each known.
pub fn mapped_scopes<S: AsRef<str>>(
    catalogue: &ScopeCatalogue,
    names: &[S],
) -> Result<ScopeSet, RoleMappingError> {
    let scopes = catalogue.names_input(names)?;
    if let Some(builtin) = scopes.builtins().next() {
        return Err(RoleMappingError::Builtin(builtin.as_str()));
    }
    match scopes.identity_scopes().next() {
        Some(identity) => Err(RoleMappingError::Identity(identity.as_str())),
        None => Ok(scopes),
    }
}

#[cfg(test)]
mod tests {
    use time::OffsetDateTime;

    use super::*;
    use crate::scope_catalogue::tests::entry;

    fn catalogue() -> Arc<ScopeCatalogue> {
        Arc::new(ScopeCatalogue::new(vec![
            entry("features:read", &["owner", "admin", "member", "viewer"]),
            entry("billing", &["owner"]),
        ]))
    }

    fn mapping(role: Role, names: &str) -> RoleOverride {
        RoleOverride {
            role,
            scopes: ScopeSet::parse(names).expect("names"),
            updated_at: OffsetDateTime::UNIX_EPOCH,
        }
    }

    #[test]
    fn without_a_catalogue_roles_hold_their_built_ins() {
        let scopes = AccountScopes::builtin_only();
        let held: Vec<String> = Role::ALL
            .iter()
            .map(|r| scopes.held_by(*r).to_string())
            .collect();
        assert_eq!(
            held,
            ["read write admin", "read write admin", "read write", "read"]
        );
    }

    #[test]
    fn overrides_replace_the_defaults_of_their_role_only() {
        let scopes =
            AccountScopes::new(catalogue(), &[mapping(Role::Member, "billing gone:since")]);
        assert_eq!(
            scopes.held_by(Role::Owner).to_string(),
            "read write admin billing features:read"
        );
        // The mapped name that left the catalogue is not held.
        assert_eq!(
            scopes.held_by(Role::Member).to_string(),
            "read write billing"
        );
        assert_eq!(
            scopes.held_by(Role::Viewer).to_string(),
            "read features:read"
        );
        assert!(scopes.is_overridden(Role::Member) && !scopes.is_overridden(Role::Viewer));
    }

    #[test]
    fn a_mapping_names_known_catalogue_scopes_only() {
        let catalogue = catalogue();
        assert_eq!(
            mapped_scopes(&catalogue, &["billing"]).map(|s| s.to_string()),
            Ok("billing".into())
        );
        assert_eq!(
            mapped_scopes(&catalogue, &["billing", "admin"]),
            Err(RoleMappingError::Builtin("admin"))
        );
        assert_eq!(
            mapped_scopes(&catalogue, &["billing", "openid"]),
            Err(RoleMappingError::Identity("openid"))
        );
        assert!(matches!(
            mapped_scopes(&catalogue, &["unknown"]),
            Err(RoleMappingError::Scope(ScopeInputError::Unknown(_)))
        ));
        assert!(mapped_scopes::<&str>(&catalogue, &[]).is_ok_and(|s| s.is_empty()));
    }
}
