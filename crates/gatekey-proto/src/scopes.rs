//! Wire types of the scope catalogue (`/api/v1/scopes`) and of what each role holds in the
//! caller's account (`/api/v1/roles`).

use serde::{Deserialize, Serialize};

#[cfg(feature = "openapi")]
use crate::schema_values::RoleName;

use crate::api::{present, Pagination};

/// A scope: a built-in one (`read`, `write`, `admin`) or a catalogue entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ScopeView {
    /// The scope's name.
    pub name: String,
    /// What it allows, as the consent page says it.
    pub description: String,
    /// The heading it is listed under, if any.
    pub group: Option<String>,
    /// Whether it is one of gatekey's own scopes, which cannot be changed.
    pub builtin: bool,
    /// The roles that hold it: for a built-in scope in every account, for a catalogue entry in
    /// every account that has not mapped the role itself (see `/api/v1/roles`).
    #[cfg_attr(feature = "openapi", schema(value_type = Vec<RoleName>))]
    pub roles: Vec<String>,
    /// RFC 3339; absent for built-in scopes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(format = DateTime))]
    pub created_at: Option<String>,
    /// RFC 3339; absent for built-in scopes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(format = DateTime))]
    pub updated_at: Option<String>,
}

/// `GET /api/v1/scopes`: the built-in scopes, then the catalogue by name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ScopeList {
    /// This page of scopes.
    pub scopes: Vec<ScopeView>,
    /// Where this page stands.
    pub pagination: Pagination,
}

/// `POST /api/v1/scopes`: a new catalogue entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(
    feature = "openapi",
    schema(example = json!({"name": "reports.read", "description": "Read reports", "group": "Reports", "roles": ["owner", "admin", "member"]}))
)]
#[serde(deny_unknown_fields)]
pub struct CreateScopeRequest {
    /// Its name: 1 to 64 characters of RFC 6749 §3.3 `scope-token`.
    #[cfg_attr(feature = "openapi", schema(min_length = 1, max_length = 64))]
    pub name: String,
    /// What it allows, shown on the consent page.
    pub description: String,
    /// A heading to list it under.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group: Option<String>,
    /// The roles that hold it by default; `owner`, `admin` and `member` when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<Vec<RoleName>>))]
    pub roles: Option<Vec<String>>,
}

/// `PATCH /api/v1/scopes/{name}`: the fields to change; absent fields stay as they are.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(
    feature = "openapi",
    schema(example = json!({"description": "Read every report"}))
)]
#[serde(deny_unknown_fields)]
pub struct UpdateScopeRequest {
    /// A new description.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// A new group; `null` removes it.
    #[serde(
        default,
        deserialize_with = "present",
        skip_serializing_if = "Option::is_none"
    )]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>))]
    pub group: Option<Option<String>>,
    /// New default roles.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<Vec<RoleName>>))]
    pub roles: Option<Vec<String>>,
}

/// What one role holds in the caller's account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RoleScopesView {
    /// The role.
    #[cfg_attr(feature = "openapi", schema(value_type = RoleName))]
    pub role: String,
    /// Every scope it holds: its built-in scopes, then its catalogue scopes.
    pub scopes: Vec<String>,
    /// Whether the account maps the role itself (`PUT /api/v1/roles/{role}/scopes`) rather
    /// than following the catalogue entries' default roles.
    pub mapped: bool,
}

/// `GET /api/v1/roles`: every role, highest first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RoleList {
    /// The roles.
    pub roles: Vec<RoleScopesView>,
}

/// `PUT /api/v1/roles/{role}/scopes`: exactly the catalogue scopes the role holds in the
/// caller's account (built-in scopes follow the role and are not named here).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(
    feature = "openapi",
    schema(example = json!({"scopes": []}))
)]
#[serde(deny_unknown_fields)]
pub struct SetRoleScopesRequest {
    /// Catalogue scope names; empty for none.
    pub scopes: Vec<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_null_group_removes_it_and_an_absent_one_keeps_it() {
        let removed: UpdateScopeRequest = serde_json::from_str(r#"{"group":null}"#).unwrap();
        assert_eq!(removed.group, Some(None));
        let kept: UpdateScopeRequest = serde_json::from_str("{}").unwrap();
        assert_eq!(kept.group, None);
    }
}
