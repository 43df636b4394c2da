//! `GET|POST /scopes`, `POST /scopes/{name}` and `POST /scopes/{name}/delete`: the scope
//! catalogue, for the owners and admins of the operator account (`operator_account`). The
//! checks and the audit are those of the REST API (`gatekey_core::scope_admin`).

use std::collections::HashMap;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use gatekey_core::role::{Role, RoleSet};
use gatekey_core::scope_admin::{
    create_catalogue_scope, delete_catalogue_scope, update_catalogue_scope, CatalogueInput,
    ScopeAdminError,
};
use gatekey_core::scope_catalogue::CatalogueChange;
use maud::{html, Markup};
use serde::Deserialize;

use super::csrf_form::{CsrfChecked, CsrfForm};
use super::layout::{html_response, page};
use super::page_error::PageError;
use super::signed_in::SignedInAdmin;
use crate::auth::session::WebSession;
use crate::auth::ClientInfo;
use crate::state::AppState;

/// The form that adds an entry, and the one that changes it (whose name is in the path).
#[derive(Deserialize)]
pub struct ScopeForm {
    #[serde(default)]
    name: String,
    description: String,
    #[serde(default)]
    group: String,
    /// The ticked `role_<role>` boxes, among the other fields.
    #[serde(flatten)]
    boxes: HashMap<String, String>,
}

impl ScopeForm {
    /// The group; empty is none.
    fn group(&self) -> Option<String> {
        Some(self.group.trim().to_owned()).filter(|g| !g.is_empty())
    }

    /// The roles whose boxes were ticked.
    fn roles(&self) -> Result<RoleSet, PageError> {
        let names: Vec<&str> = self
            .boxes
            .keys()
            .filter_map(|field| field.strip_prefix("role_"))
            .collect();
        RoleSet::from_names(&names).map_err(|_| PageError::IncompleteForm)
    }
}

/// Admits only the owners and admins of the operator account.
fn operator_admin(state: &AppState, web: WebSession) -> Result<WebSession, PageError> {
    if web.principal.account.slug == state.config.operator_account {
        Ok(web)
    } else {
        Err(PageError::refused(
            StatusCode::FORBIDDEN,
            format!(
                "The scope catalogue is managed from the operator account ({}).",
                state.config.operator_account
            ),
        ))
    }
}

fn role_boxes(roles: RoleSet) -> Markup {
    html! {
        div.inline {
            @for role in Role::ALL {
                label { input type="checkbox" name={ "role_" (role) } value="on" checked[roles.contains(role)]; " " (role) }
            }
        }
    }
}

/// The catalogue page, with why the last form was refused.
async fn render(
    state: &AppState,
    web: &WebSession,
    status: StatusCode,
    error: Option<&str>,
) -> Result<Response, PageError> {
    let catalogue = state.scopes.catalogue(&state.store).await?;
    let csrf = web.session.csrf_token.as_str();
    let body = html! {
        section {
            h1 { "Scope catalogue" }
            p.muted { "The API's own scopes, beside the built-in read, write and admin, for every account of this installation. The description is what consent pages show. Each scope is held by its default roles in every account that has not mapped the role itself (Roles). Deleting a scope leaves it in the keys and grants that carry it, without effect." }
            @if let Some(error) = error { p.error role="alert" { (error) } }
            @if catalogue.entries().is_empty() { p.muted { "The catalogue is empty." } }
            @for entry in catalogue.entries() {
                form.scope-entry method="post" action={ "/scopes/" (entry.name) } {
                    input type="hidden" name="csrf_token" value=(csrf);
                    h2 { code { (entry.name) } }
                    label { "Description" input type="text" name="description" value=(entry.description) required maxlength="200"; }
                    label { "Group" input type="text" name="group" value=(entry.group.as_deref().unwrap_or("")) maxlength="64"; }
                    label { "Held by default by" }
                    (role_boxes(entry.default_roles))
                    p { button type="submit" { "Save" } }
                }
                form method="post" action={ "/scopes/" (entry.name) "/delete" } {
                    input type="hidden" name="csrf_token" value=(csrf);
                    button.danger type="submit" { "Delete " (entry.name) }
                }
            }
        }
        section {
            h2 { "Add a scope" }
            form method="post" action="/scopes" {
                input type="hidden" name="csrf_token" value=(csrf);
                label for="scope-name" { "Name" }
                input #scope-name type="text" name="name" required maxlength="64" placeholder="features:read";
                p.muted { "1 to 64 printable ASCII characters, without spaces, quotes or backslashes (RFC 6749 §3.3)." }
                label for="scope-description" { "Description (shown on consent pages)" }
                input #scope-description type="text" name="description" required maxlength="200";
                label for="scope-group" { "Group (optional)" }
                input #scope-group type="text" name="group" maxlength="64";
                label { "Held by default by" }
                (role_boxes(RoleSet::CATALOGUE_DEFAULT))
                p { button type="submit" { "Add scope" } }
            }
        }
    };
    Ok(html_response(
        status,
        page("Scope catalogue", Some((&web.principal, csrf)), body),
    ))
}

/// What a page says after a change to the catalogue or a mapping: nothing (it worked), or why
/// it was refused; a storage failure is the error page.
pub(super) fn refusal<T>(result: Result<T, ScopeAdminError>) -> Result<Option<String>, PageError> {
    match result {
        Ok(_) => Ok(None),
        Err(ScopeAdminError::Store(error)) => Err(error.into()),
        Err(refused) => Ok(Some(refused.to_string())),
    }
}

/// After a change: back to the page, or the page again with the refusal.
async fn answer(
    state: &AppState,
    web: &WebSession,
    result: Result<(), ScopeAdminError>,
) -> Result<Response, PageError> {
    match refusal(result)? {
        None => Ok(Redirect::to("/scopes").into_response()),
        Some(message) => render(state, web, StatusCode::BAD_REQUEST, Some(&message)).await,
    }
}

/// `GET /scopes`.
pub async fn show_scopes(
    State(state): State<AppState>,
    SignedInAdmin(web): SignedInAdmin,
) -> Result<Response, PageError> {
    let web = operator_admin(&state, web)?;
    render(&state, &web, StatusCode::OK, None).await
}

/// `POST /scopes`: adds an entry.
pub async fn create_scope(
    State(state): State<AppState>,
    client: ClientInfo,
    form: CsrfForm<ScopeForm, SignedInAdmin>,
) -> Result<Response, PageError> {
    let web = operator_admin(&state, form.signed_in.0)?;
    let fields = form.fields;
    let input = CatalogueInput {
        name: fields.name.trim().to_owned(),
        description: fields.description.trim().to_owned(),
        group: fields.group(),
        default_roles: Some(fields.roles()?),
    };
    let p = &web.principal;
    let actor = p.actor(client.ip, client.user_agent);
    let now = state.clock.now();
    let created = create_catalogue_scope(&state.store, now, input, &actor, Some(p.account.id));
    answer(&state, &web, created.await.map(|_| ())).await
}

/// `POST /scopes/{name}`: changes an entry's description, group and default roles.
pub async fn update_scope(
    State(state): State<AppState>,
    client: ClientInfo,
    Path(name): Path<String>,
    form: CsrfForm<ScopeForm, SignedInAdmin>,
) -> Result<Response, PageError> {
    let web = operator_admin(&state, form.signed_in.0)?;
    let fields = form.fields;
    let change = CatalogueChange {
        description: Some(fields.description.trim().to_owned()),
        group: Some(fields.group()),
        default_roles: Some(fields.roles()?),
    };
    let p = &web.principal;
    let actor = p.actor(client.ip, client.user_agent);
    let now = state.clock.now();
    let updated =
        update_catalogue_scope(&state.store, now, &name, change, &actor, Some(p.account.id));
    answer(&state, &web, updated.await.map(|_| ())).await
}

/// `POST /scopes/{name}/delete`.
pub async fn delete_scope(
    State(state): State<AppState>,
    client: ClientInfo,
    Path(name): Path<String>,
    CsrfChecked(SignedInAdmin(web)): CsrfChecked<SignedInAdmin>,
) -> Result<Response, PageError> {
    let web = operator_admin(&state, web)?;
    let p = &web.principal;
    let actor = p.actor(client.ip, client.user_agent);
    let now = state.clock.now();
    let deleted = delete_catalogue_scope(&state.store, now, &name, &actor, Some(p.account.id));
    answer(&state, &web, deleted.await).await
}
