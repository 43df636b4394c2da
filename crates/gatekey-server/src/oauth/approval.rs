//! What every page that asks a user to approve an application shows (the consent page and the
//! device page): the application's client id, the account that registered it (always, and as a
//! notice when it is none of the accounts the page lets the user act in), and what it will be
//! able to do. One rendering for both pages,
//! so that they cannot drift apart, and so that an application another account registered under
//! a familiar name never looks the same as the real one.

use gatekey_core::account::Account;
use gatekey_core::oauth::application::Application;
use gatekey_core::scope::{Scope, ScopeSet};
use gatekey_core::store::{AccountStore, StoreError};
use maud::{html, Markup};

use crate::state::AppState;

/// What a scope lets an application do, in words.
fn scope_description(scope: Scope) -> &'static str {
    match scope {
        Scope::Read => "read your data in this account",
        Scope::Write => "change your data in this account",
        Scope::Admin => "administer this account as you (users, keys, audit log)",
    }
}

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

/// The scopes the application asks for, each with what it allows.
pub fn scope_list(scopes: ScopeSet) -> Markup {
    html! {
        ul.scopes {
            @for scope in scopes.iter() {
                li { code { (scope.as_str()) } " — " (scope_description(scope)) }
            }
        }
    }
}
