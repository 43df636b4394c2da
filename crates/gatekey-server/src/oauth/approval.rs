//! What every page that asks a user to approve an application shows (the consent page and the
//! device page): the application's client id, the account that registered it (always, and as a
//! notice when it is none of the accounts the page lets the user act in), and what it will be
//! able to do. One rendering for both pages,
//! so that they cannot drift apart, and so that an application another account registered under
//! a familiar name never looks the same as the real one.

use gatekey_core::account::Account;
use gatekey_core::oauth::application::Application;
use gatekey_core::scope::ScopeSet;
use gatekey_core::scope_catalogue::ScopeCatalogue;
use gatekey_core::store::{AccountStore, StoreError};
use maud::{html, Markup};

use crate::state::AppState;

/// The account that registered `application`.
pub async fn registering_account(
    state: &AppState,
    application: &Application,
) -> Result<Account, StoreError> {
    state
        .store
        .account_by_id(application.account_id)
        .await?
        .ok_or(StoreError::NotFound)
}

/// Who the application is: its client id and the account that registered it, always, since
/// the user may act in another account than the one the page would compare with; and a notice
/// when the registering account is none of `offered`, the accounts the page lets the user act
/// in. Names are chosen by whoever registers an application, so the name alone proves nothing;
/// the registering account cannot be chosen.
pub fn application_identity(
    application: &Application,
    registrar: &Account,
    offered: &[&Account],
) -> Markup {
    let foreign = !offered.iter().any(|account| account.id == registrar.id);
    html! {
        @if foreign {
            p.notice.registrar role="note" {
                "This application was registered by " strong { (registrar.name) }
                " (" code { (registrar.slug) } "), not by "
                @match offered {
                    [only] => { (only.name) }
                    _ => { "any of your accounts" }
                }
                "."
            }
        } @else {
            p.registrar {
                "Registered by " strong { (registrar.name) } " (" code { (registrar.slug) } ")."
            }
        }
        p.muted { "Client id " code.client-id { (application.client_id) } }
    }
}

/// The scopes the user is asked to allow, each with what it allows: the built-ins' fixed
/// words, the catalogue's descriptions (and groups). Only scopes the user's role holds reach
/// this list (see `consentable_scopes`).
pub fn scope_list(scopes: &ScopeSet, catalogue: &ScopeCatalogue) -> Markup {
    html! {
        ul.scopes {
            @for name in scopes.names() {
                li {
                    code { (name) } " — " (catalogue.description(name).unwrap_or(""))
                    @if let Some(group) = catalogue.entry(name).and_then(|e| e.group.as_deref()) {
                        " " span.muted { "(" (group) ")" }
                    }
                }
            }
        }
    }
}
