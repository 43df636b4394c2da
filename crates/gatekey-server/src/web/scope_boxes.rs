//! The scope checkboxes of the key and application forms: one `scope_<name>` box per scope,
//! sent only when ticked.

use gatekey_core::scope::{Scope, ScopeSet};

/// The scopes whose boxes were ticked: `read`, `write` and `admin` are the form's
/// `scope_read`, `scope_write` and `scope_admin` fields.
pub fn ticked_scopes(
    read: &Option<String>,
    write: &Option<String>,
    admin: &Option<String>,
) -> ScopeSet {
    [
        (read, Scope::Read),
        (write, Scope::Write),
        (admin, Scope::Admin),
    ]
    .into_iter()
    .filter(|(ticked, _)| ticked.is_some())
    .fold(ScopeSet::EMPTY, |scopes, (_, scope)| scopes.with(scope))
}
