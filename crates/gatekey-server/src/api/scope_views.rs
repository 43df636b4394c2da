//! The scope catalogue and the role mappings as the API shows them (and the operator commands
//! print them).

use gatekey_core::role::{Role, RoleSet};
use gatekey_core::role_scopes::AccountScopes;
use gatekey_core::scope::Scope;
use gatekey_core::scope_catalogue::{CatalogueEntry, ScopeCatalogue};
use gatekey_proto::scopes::{RoleScopesView, ScopeView};

use super::views::timestamp;

fn role_names(roles: RoleSet) -> Vec<String> {
    roles.names().into_iter().map(str::to_owned).collect()
}

/// A built-in scope.
pub fn builtin_view(scope: Scope) -> ScopeView {
    ScopeView {
        name: scope.as_str().to_owned(),
        description: scope.description().to_owned(),
        group: None,
        builtin: true,
        roles: role_names(scope.roles()),
        created_at: None,
        updated_at: None,
    }
}

/// A catalogue entry.
pub fn entry_view(entry: &CatalogueEntry) -> ScopeView {
    ScopeView {
        name: entry.name.to_string(),
        description: entry.description.clone(),
        group: entry.group.clone(),
        builtin: false,
        roles: role_names(entry.default_roles),
        created_at: Some(timestamp(entry.created_at)),
        updated_at: Some(timestamp(entry.updated_at)),
    }
}

/// Every scope: the built-ins, then the catalogue by name.
pub fn scope_views(catalogue: &ScopeCatalogue) -> Vec<ScopeView> {
    Scope::ALL
        .into_iter()
        .map(builtin_view)
        .chain(catalogue.entries().iter().map(entry_view))
        .collect()
}

/// What `role` holds in an account.
pub fn role_scopes_view(scopes: &AccountScopes, role: Role) -> RoleScopesView {
    RoleScopesView {
        role: role.as_str().to_owned(),
        scopes: scopes
            .held_by(role)
            .names()
            .into_iter()
            .map(str::to_owned)
            .collect(),
        mapped: scopes.is_overridden(role),
    }
}
