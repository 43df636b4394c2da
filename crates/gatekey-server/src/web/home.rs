//! `GET /`: your API keys in the current account; for admins, the members, the OAuth
//! applications and the latest audit events too.

use std::collections::HashMap;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use gatekey_core::api_key::ApiKey;
use gatekey_core::oauth::application::Application;
use gatekey_core::page::PageRequest;
use gatekey_core::principal::Principal;
use gatekey_core::scope::Scope;
use gatekey_core::secret::Secret;
use gatekey_core::store::{ApiKeyFilter, ApiKeyStore, AuditStore, StoreError, UserStore};
use gatekey_core::user::UserKind;
use maud::{html, Markup};

use super::applications_section::{applications_section, created_notice};
use super::key_rows::{expiry, last_use, previous_secret_note, roll_form, rolled_notice};
use super::layout::{display_time, html_response, page};
use super::page_error::PageError;
use super::password_page::{password_form, render_password_page};
use super::scope_boxes::scope_boxes;
use super::signed_in::SignedInToChangePassword;
use crate::auth::session::WebSession;
use crate::background::flush_usage;
use crate::state::AppState;

/// Shows the home page, or sends a visitor without a session to sign in, and one who must
/// change the password to the change-password page.
pub async fn show_home(
    State(state): State<AppState>,
    SignedInToChangePassword(web): SignedInToChangePassword,
) -> Result<Response, PageError> {
    if web.password_change_required() {
        return Ok(Redirect::to("/password").into_response());
    }
    render_home(&state, &web, StatusCode::OK, Messages::default()).await
}

/// What the last form on the page produced.
#[derive(Default)]
pub struct Messages<'a> {
    /// A key just created, with its secret (shown this once).
    pub created: Option<(&'a ApiKey, &'a Secret)>,
    /// A key just rolled, with its new secret (shown this once).
    pub rolled: Option<(&'a ApiKey, &'a Secret)>,
    /// Why the key form was refused.
    pub key_error: Option<&'a str>,
    /// The password form's success message.
    pub password_notice: Option<&'a str>,
    /// Why the password form was refused.
    pub password_error: Option<&'a str>,
    /// An application just registered, with its secret for a confidential client (shown this
    /// once).
    pub created_application: Option<(&'a Application, Option<&'a Secret>)>,
    /// Why the application form was refused.
    pub application_error: Option<&'a str>,
}

/// Renders the home page with the messages of the last form. A session that must change its
/// password gets the change-password page instead, unless the form just changed it (the
/// success notice is set; `web` still holds the user as read before the change).
pub async fn render_home(
    state: &AppState,
    web: &WebSession,
    status: StatusCode,
    messages: Messages<'_>,
) -> Result<Response, PageError> {
    if web.password_change_required() && messages.password_notice.is_none() {
        return Ok(render_password_page(
            web,
            status,
            messages.password_notice,
            messages.password_error,
        ));
    }
    let body = home_body(state, web, &messages).await?;
    Ok(html_response(
        status,
        page(
            "Your API keys",
            Some((&web.principal, &web.session.csrf_token)),
            body,
        ),
    ))
}

async fn home_body(
    state: &AppState,
    web: &WebSession,
    messages: &Messages<'_>,
) -> Result<Markup, StoreError> {
    let p = &web.principal;
    flush_usage(state).await;
    let filter = ApiKeyFilter {
        account_id: Some(p.account.id),
        user_id: Some(p.user.id),
        ..ApiKeyFilter::default()
    };
    let keys = state
        .store
        .list_api_keys(
            filter,
            PageRequest::new(Some(1), Some(200)).unwrap_or_default(),
        )
        .await?;
    let revoked: Vec<i64> = keys
        .items
        .iter()
        .filter(|key| key.revoked_at.is_some())
        .map(|key| key.id)
        .collect();
    let leaked: HashMap<i64, String> = state
        .store
        .leak_revocations_of_keys(p.account.id, &revoked)
        .await?
        .into_iter()
        .collect();
    let csrf = web.session.csrf_token.as_str();
    let now = state.clock.now();
    let grantable = &p.role_scopes;
    let catalogue = state.scopes.catalogue(&state.store).await?;
    let accounts = state.store.memberships_of(p.user.id).await?;
    let admin = if p.may(Scope::Admin) {
        Some(admin_sections(state, p, csrf, messages.application_error).await?)
    } else {
        None
    };
    Ok(html! {
        @if let Some((app, secret)) = messages.created_application { (created_notice(app, secret)) }
        @if let Some((key, secret)) = messages.created {
            section {
                h2 { "New API key “" (key.name) "”" }
                p.notice { "Copy it now: it will not be shown again." }
                div.secret { code #new-secret { (secret.expose()) } button.secondary type="button" data-copy="new-secret" { "Copy" } }
                p.muted { "Use it as " code { "Authorization: Bearer <key>" } "." }
            }
        }
        @if let Some((key, secret)) = messages.rolled { (rolled_notice(key, secret, now)) }
        @if accounts.len() > 1 {
            section {
                form.inline method="post" action="/account" {
                    input type="hidden" name="csrf_token" value=(csrf);
                    label for="account" { "Account" }
                    select #account name="account" {
                        @for (membership, account) in &accounts {
                            option value=(account.slug) selected[account.id == p.account.id] { (account.name) " (" (membership.role) ")" }
                        }
                    }
                    " "
                    button.secondary type="submit" { "Switch" }
                }
            }
        }
        section {
            h1 { "Your API keys" }
            p.muted { "Keys act as you (" (p.user.email) ") in " (p.account.name) ". Each action they take is recorded under your name." }
            @if keys.items.is_empty() { p.muted { "You have no API keys yet." } } @else {
                table {
                    thead { tr { th { "Name" } th { "Key" } th { "Scopes" } th { "Created" } th { "Last used" } th { "Expires" } th {} } }
                    tbody {
                        @for key in &keys.items {
                            tr class=[key.revoked_at.map(|_| "revoked")] {
                                td { (key.name) }
                                td { code { (key.display_prefix) "…" } (previous_secret_note(key, now)) }
                                td { (key.scopes) }
                                td { (display_time(key.created_at)) }
                                td { (last_use(key)) }
                                td { (expiry(key, now)) }
                                td {
                                    @if key.revoked_at.is_some() {
                                        "revoked"
                                        @if let Some(why) = leaked.get(&key.id) { br; small.muted { (why) } }
                                    } @else {
                                        form method="post" action={ "/keys/" (key.id) "/revoke" } {
                                            input type="hidden" name="csrf_token" value=(csrf);
                                            button.danger type="submit" { "Revoke" }
                                        }
                                        (roll_form(key, now, csrf))
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        section {
            h2 { "Create an API key" }
            @if let Some(error) = messages.key_error { p.error role="alert" { (error) } }
            form method="post" action="/keys" {
                input type="hidden" name="csrf_token" value=(csrf);
                label for="key-name" { "Name" }
                input #key-name type="text" name="name" required maxlength="100" placeholder="e.g. reporting script";
                label { "Scopes" }
                (scope_boxes(grantable, grantable, &catalogue))
                label for="key-expiry" { "Expires" }
                select #key-expiry name="expires_in_days" {
                    option value="" { "never" }
                    option value="30" { "in 30 days" }
                    option value="90" selected { "in 90 days" }
                    option value="365" { "in a year" }
                }
                p { button type="submit" { "Create key" } }
            }
        }
        @if p.user.kind == UserKind::Person {
            section {
                h2 { "Change your password" }
                (password_form(csrf, messages.password_notice, messages.password_error))
            }
        }
        section {
            h2 { "Your sessions" }
            p.muted { "Signed in on another computer, or not sure? End every session of yours, in every account, this one included." }
            form method="post" action="/logout/everywhere" {
                input type="hidden" name="csrf_token" value=(csrf);
                button.danger type="submit" { "Sign out everywhere" }
            }
        }
        @if let Some(admin) = admin { (admin) }
    })
}

async fn admin_sections(
    state: &AppState,
    principal: &Principal,
    csrf: &str,
    application_error: Option<&str>,
) -> Result<Markup, StoreError> {
    let account_id = principal.account.id;
    let applications = applications_section(state, principal, csrf, application_error).await?;
    let members = state
        .store
        .list_members(
            Some(account_id),
            None,
            PageRequest::new(Some(1), Some(200)).unwrap_or_default(),
        )
        .await?;
    let audits = state
        .store
        .list_audits(
            account_id,
            PageRequest::new(Some(1), Some(20)).unwrap_or_default(),
        )
        .await?;
    Ok(html! {
        section {
            h2 { "Members" }
            table {
                thead { tr { th { "Id" } th { "Email" } th { "Name" } th { "Kind" } th { "Role" } th { "Status" } } }
                tbody {
                    @for m in &members.items {
                        tr {
                            td { (m.user.id) } td { (m.user.email) } td { (m.user.name) } td { (m.user.kind) }
                            td { (m.membership.role) } td { @if m.user.is_disabled() { "disabled" } @else { "active" } }
                        }
                    }
                }
            }
        }
        section {
            h2 { "Scopes" }
            p {
                a href="/roles" { "What each role holds in " (principal.account.name) }
                @if principal.account.slug == state.config.operator_account {
                    " · " a href="/scopes" { "The scope catalogue" }
                }
            }
        }
        (applications)
        section {
            h2 { "Recent activity" }
            table {
                thead { tr { th { "When" } th { "Who" } th { "Credential" } th { "Action" } th { "Target" } th { "Outcome" } th { "IP" } } }
                tbody {
                    @for a in &audits.items {
                        tr {
                            td { (display_time(a.at)) }
                            td { (a.actor_email.clone().unwrap_or_else(|| "—".into())) }
                            td { (a.actor.credential.type_name()) @if let Some(id) = a.actor.credential.id() { " " (id) } }
                            td { code { (a.action) } }
                            td { (a.target_type) @if let Some(id) = &a.target_id { " " (id) } }
                            td { @if a.success { "success" } @else { "failure" } }
                            td { (a.actor.ip.clone().unwrap_or_default()) }
                        }
                    }
                }
            }
        }
    })
}
