//! The scope checkboxes of the key, application and role forms: one `scope_<name>` box per
//! scope offered (built-in or from the catalogue), sent only when ticked.

use std::collections::HashMap;

use gatekey_core::scope::ScopeSet;
use gatekey_core::scope_catalogue::{ScopeCatalogue, ScopeInputError};
use maud::{html, Markup};

/// The prefix of a scope box's field name.
const PREFIX: &str = "scope_";

/// A box per scope of `offered`, ticked when in `ticked`, with the scope's description as its
/// title.
pub fn scope_boxes(offered: &ScopeSet, ticked: &ScopeSet, catalogue: &ScopeCatalogue) -> Markup {
    html! {
        div.inline {
            @for name in offered.names() {
                label title=(catalogue.description(name).unwrap_or("")) {
                    input type="checkbox" name={ (PREFIX) (name) } value="on" checked[ticked.contains_name(name)];
                    " " (name)
                }
            }
        }
    }
}

/// The names of the scopes whose boxes were ticked among a form's `fields`, unchecked.
pub fn ticked_names(fields: &HashMap<String, String>) -> Vec<&str> {
    fields
        .keys()
        .filter_map(|field| field.strip_prefix(PREFIX))
        .collect()
}

/// The scopes whose boxes were ticked among a form's `fields`, each checked against the
/// catalogue like any other input of scope names: a malformed or unknown one is refused.
pub fn ticked_scopes(
    fields: &HashMap<String, String>,
    catalogue: &ScopeCatalogue,
) -> Result<ScopeSet, ScopeInputError> {
    catalogue.names_input(&ticked_names(fields))
}
