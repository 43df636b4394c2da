//! Changing the scope catalogue and the accounts' role mappings: the checks, then the write
//! with its audit entry. The REST API, the web pages and the operator commands all come here.
//!
//! Who may do it is the caller's business: the catalogue belongs to the operator (the operator
//! commands, or the administrators of the operator account), a role mapping to the account's
//! administrators; the rank rule applies to mappings, so an admin cannot change what owners
//! hold.

use time::OffsetDateTime;

use crate::audit::{Actor, AuditAction, AuditEntry};
use crate::role::{RankError, Role, RoleSet};
use crate::role_scopes::{mapped_scopes, RoleMappingError};
use crate::scope::{Scope, ScopeName, ScopeNameError, ScopeSet};
use crate::scope_catalogue::{
    validate_description, validate_group, CatalogueChange, CatalogueEntry, CatalogueInputError,
    NewCatalogueEntry, ScopeCatalogue, ScopeStore,
};
use crate::store::StoreError;

/// Why a change to the catalogue or to a role mapping was refused.
#[derive(Debug, thiserror::Error)]
pub enum ScopeAdminError {
    /// A malformed name, or a built-in one for a new entry (RFC 6749 `invalid_scope`).
    #[error(transparent)]
    Name(ScopeNameError),
    /// A bad description or group.
    #[error(transparent)]
    Input(CatalogueInputError),
    /// `read`, `write` or `admin`, which cannot be changed or deleted.
    #[error("{0} is a built-in scope and cannot be changed or deleted")]
    Builtin(&'static str),
    /// A mapping to a malformed, unknown or built-in scope (RFC 6749 `invalid_scope`).
    #[error(transparent)]
    Mapping(#[from] RoleMappingError),
    /// The role to map ranks above the caller's.
    #[error(transparent)]
    Rank(#[from] RankError),
    /// No catalogue entry has that name.
    #[error("the catalogue has no scope of that name")]
    NotFound,
    /// A catalogue entry of that name exists already.
    #[error("a scope of that name already exists")]
    Taken,
    /// Storage failed.
    #[error(transparent)]
    Store(StoreError),
}

impl From<StoreError> for ScopeAdminError {
    fn from(error: StoreError) -> Self {
        match error {
            StoreError::NotFound => Self::NotFound,
            StoreError::Conflict(_) => Self::Taken,
            other => Self::Store(other),
        }
    }
}

impl From<CatalogueInputError> for ScopeAdminError {
    fn from(error: CatalogueInputError) -> Self {
        match error {
            CatalogueInputError::Name(name) => Self::Name(name),
            other => Self::Input(other),
        }
    }
}

/// A new catalogue entry as asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CatalogueInput {
    /// Its name.
    pub name: String,
    /// Its description.
    pub description: String,
    /// Its group, if any.
    pub group: Option<String>,
    /// The roles that hold it by default; `None` for [`RoleSet::CATALOGUE_DEFAULT`].
    pub default_roles: Option<RoleSet>,
}

/// The name of an existing entry, as named in a request: a built-in name is refused as such.
pub fn entry_name(name: &str) -> Result<ScopeName, ScopeAdminError> {
    if let Some(builtin) = Scope::from_name(name) {
        return Err(ScopeAdminError::Builtin(builtin.as_str()));
    }
    ScopeName::parse(name).map_err(ScopeAdminError::Name)
}

fn catalogue_audit(
    now: OffsetDateTime,
    actor: &Actor,
    action: AuditAction,
    account_id: Option<i64>,
    name: &ScopeName,
) -> AuditEntry {
    let entry = AuditEntry::new(now, actor, action, "scope").target(name);
    match account_id {
        Some(id) => entry.in_account(id),
        None => entry,
    }
}

fn describe(description: &str, group: Option<&str>, roles: RoleSet) -> String {
    let group = group.map_or(String::new(), |g| format!(", group {g}"));
    format!("roles {roles}{group}: {description}")
}

/// Adds an entry to the catalogue, with `scope.created`. `account_id` is the account the actor
/// acted in, if any (none for an operator command).
pub async fn create_catalogue_scope<S: ScopeStore>(
    store: &S,
    now: OffsetDateTime,
    input: CatalogueInput,
    actor: &Actor,
    account_id: Option<i64>,
) -> Result<CatalogueEntry, ScopeAdminError> {
    let name = ScopeName::parse(&input.name).map_err(ScopeAdminError::Name)?;
    validate_description(&input.description)?;
    if let Some(group) = &input.group {
        validate_group(group)?;
    }
    let default_roles = input.default_roles.unwrap_or(RoleSet::CATALOGUE_DEFAULT);
    let audit = catalogue_audit(now, actor, AuditAction::ScopeCreated, account_id, &name).detail(
        describe(&input.description, input.group.as_deref(), default_roles),
    );
    let entry = NewCatalogueEntry {
        name,
        description: input.description,
        group: input.group,
        default_roles,
        created_at: now,
    };
    Ok(store.create_scope(entry, audit).await?)
}

/// Changes an entry's description, group or default roles, with `scope.updated`.
pub async fn update_catalogue_scope<S: ScopeStore>(
    store: &S,
    now: OffsetDateTime,
    name: &str,
    change: CatalogueChange,
    actor: &Actor,
    account_id: Option<i64>,
) -> Result<CatalogueEntry, ScopeAdminError> {
    let name = entry_name(name)?;
    if let Some(description) = &change.description {
        validate_description(description)?;
    }
    if let Some(Some(group)) = &change.group {
        validate_group(group)?;
    }
    let mut said = Vec::new();
    if let Some(roles) = change.default_roles {
        said.push(format!("roles {roles}"));
    }
    match &change.group {
        Some(Some(group)) => said.push(format!("group {group}")),
        Some(None) => said.push("no group".to_owned()),
        None => {}
    }
    if let Some(description) = &change.description {
        said.push(format!("description: {description}"));
    }
    let audit = catalogue_audit(now, actor, AuditAction::ScopeUpdated, account_id, &name)
        .detail(said.join(", "));
    Ok(store.update_scope(&name, change, now, audit).await?)
}

/// Removes an entry, with `scope.deleted`. Keys, applications and grants that carry the name
/// keep it; it stops being effective for them.
pub async fn delete_catalogue_scope<S: ScopeStore>(
    store: &S,
    now: OffsetDateTime,
    name: &str,
    actor: &Actor,
    account_id: Option<i64>,
) -> Result<(), ScopeAdminError> {
    let name = entry_name(name)?;
    let audit = catalogue_audit(now, actor, AuditAction::ScopeDeleted, account_id, &name);
    Ok(store.delete_scope(&name, audit).await?)
}

/// Who maps a role, in which account.
#[derive(Debug, Clone, Copy)]
pub struct RoleMapper<'a> {
    /// The account whose role is mapped.
    pub account_id: i64,
    /// The caller's role there; it must not rank below the role mapped.
    pub role: Role,
    /// Who acts, for the audit log.
    pub actor: &'a Actor,
}

fn mapping_audit(
    now: OffsetDateTime,
    mapper: &RoleMapper<'_>,
    action: AuditAction,
    role: Role,
) -> AuditEntry {
    AuditEntry::new(now, mapper.actor, action, "role")
        .in_account(mapper.account_id)
        .target(role)
}

/// Maps `role` in the mapper's account to exactly the catalogue scopes `names`, with
/// `role_scopes.changed`. Returns what the role now holds of the catalogue.
pub async fn map_role<S: ScopeStore, N: AsRef<str>>(
    store: &S,
    now: OffsetDateTime,
    mapper: &RoleMapper<'_>,
    catalogue: &ScopeCatalogue,
    role: Role,
    names: &[N],
) -> Result<ScopeSet, ScopeAdminError> {
    mapper.role.check_may_administer(role)?;
    let scopes = mapped_scopes(catalogue, names)?;
    let audit = mapping_audit(now, mapper, AuditAction::RoleScopesChanged, role)
        .detail(format!("{role} holds: {scopes}"));
    store
        .set_role_override(mapper.account_id, role, &scopes, now, audit)
        .await?;
    Ok(scopes)
}

/// Returns `role` in the mapper's account to the catalogue entries' default roles, with
/// `role_scopes.reset`. `false` when it was not mapped (nothing is written).
pub async fn unmap_role<S: ScopeStore>(
    store: &S,
    now: OffsetDateTime,
    mapper: &RoleMapper<'_>,
    role: Role,
) -> Result<bool, ScopeAdminError> {
    mapper.role.check_may_administer(role)?;
    let audit = mapping_audit(now, mapper, AuditAction::RoleScopesReset, role);
    Ok(store
        .remove_role_override(mapper.account_id, role, audit)
        .await?)
}
