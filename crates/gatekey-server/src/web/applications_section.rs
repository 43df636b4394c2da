//! The admin's "Applications" section of the home page: the account's applications, each with
//! a delete button, the register form, and the notice that shows a new application's secret
//! once.

use gatekey_core::oauth::application::Application;
use gatekey_core::oauth::store::ApplicationStore;
use gatekey_core::page::PageRequest;
use gatekey_core::principal::Principal;
use gatekey_core::secret::Secret;
use gatekey_core::store::{StoreError, UserStore};
use gatekey_core::user::UserKind;
use maud::{html, Markup};

use super::scope_boxes::scope_boxes;
use crate::state::AppState;

/// The notice shown once after registering: the client id, and a confidential client's secret
/// with a copy button.
pub fn created_notice(app: &Application, secret: Option<&Secret>) -> Markup {
    html! {
        section {
            h2 { "New application “" (app.name) "”" }
            p.muted { "Client id" }
            div.secret { code #new-client-id { (app.client_id) } button.secondary type="button" data-copy="new-client-id" { "Copy" } }
            @if let Some(secret) = secret {
                p.notice { "Copy the client secret now: it will not be shown again." }
                div.secret { code #new-client-secret { (secret.expose()) } button.secondary type="button" data-copy="new-client-secret" { "Copy" } }
                p.muted { "The application authenticates at the token endpoint with HTTP Basic (client id and secret) or in the form body." }
            } @else {
                p.muted { "A public application has no secret: it proves itself with PKCE (RFC 7636)." }
            }
        }
    }
}

/// The admin's "Applications" section: the account's applications, each with a delete button,
/// and the register form.
pub async fn applications_section(
    state: &AppState,
    principal: &Principal,
    csrf: &str,
    error: Option<&str>,
) -> Result<Markup, StoreError> {
    let all = PageRequest::new(Some(1), Some(200)).unwrap_or_default();
    let apps = state
        .store
        .list_applications(principal.account.id, all)
        .await?;
    let robots = state
        .store
        .list_members(Some(principal.account.id), Some(UserKind::Service), all)
        .await?;
    let catalogue = state.scopes.catalogue(&state.store).await?;
    let every_scope = catalogue.every_scope();
    Ok(html! {
        section #applications {
            h2 { "Applications" }
            p.muted { "OAuth applications registered in " (principal.account.name) ". Users authorize them to act on their behalf." }
            @if apps.items.is_empty() { p.muted { "No applications yet." } } @else {
                table {
                    thead { tr { th { "Name" } th { "Client id" } th { "Type" } th { "Redirect URIs" } th { "Grant types" } th {} } }
                    tbody {
                        @for app in &apps.items {
                            tr {
                                td { (app.name) }
                                td { code { (app.client_id) } }
                                td { (app.client_type.as_str()) }
                                td { @for uri in &app.redirect_uris { code { (uri) } br; } }
                                td { @for grant in &app.grant_types { (grant.as_str()) br; } }
                                td {
                                    form method="post" action={ "/applications/" (app.id) "/delete" } {
                                        input type="hidden" name="csrf_token" value=(csrf);
                                        button.danger type="submit" { "Delete" }
                                    }
                                }
                            }
                        }
                    }
                }
            }
            h2 { "Register an application" }
            @if let Some(error) = error { p.error role="alert" { (error) } }
            form method="post" action="/applications" {
                input type="hidden" name="csrf_token" value=(csrf);
                label for="app-name" { "Name (shown on the consent page)" }
                input #app-name type="text" name="name" required maxlength="200";
                label for="app-type" { "Type" }
                select #app-type name="client_type" {
                    option value="confidential" { "confidential: a server that keeps a secret" }
                    option value="public" { "public: a native or browser app (PKCE, no secret)" }
                }
                label for="app-redirect-uris" { "Redirect URIs, one a line" }
                textarea #app-redirect-uris name="redirect_uris" rows="3" cols="60" placeholder="https://app.example.com/callback" {}
                p.muted { "Exact URIs: https, http only on 127.0.0.1 or [::1] (any port), or a reverse-domain scheme such as com.example.app:/cb. No fragment." }
                label { "Grant types" }
                div.inline {
                    label { input type="checkbox" name="grant_authorization_code" value="on" checked; " authorization code" }
                    label { input type="checkbox" name="grant_refresh_token" value="on" checked; " refresh token" }
                    label { input type="checkbox" name="grant_client_credentials" value="on"; " client credentials" }
                    label { input type="checkbox" name="grant_device_code" value="on"; " device code" }
                }
                label { "Scopes" }
                (scope_boxes(&every_scope, &every_scope, &catalogue))
                label for="app-service-account" { "Service account (client credentials act as it)" }
                select #app-service-account name="service_account_id" {
                    option value="" { "none" }
                    @for robot in &robots.items {
                        option value=(robot.user.id) { (robot.user.name) " (" (robot.membership.role) ")" }
                    }
                }
                label { "Permissions" }
                div.inline {
                    label { input type="checkbox" name="introspect" value="on"; " introspect this account's tokens and API keys (resource server)" }
                    label { input type="checkbox" name="verify_keys" value="on"; " verify this account's API keys (POST /api/v1/keys/verify)" }
                    label { input type="checkbox" name="implicit_allowed" value="on"; " implicit flow (discouraged)" }
                }
                p { button type="submit" { "Register application" } }
            }
        }
    })
}
