//! `GET /roles`, `POST /roles/{role}` and `POST /roles/{role}/reset`: what each role holds in
//! the session's account, for its owners and admins, who map a role to catalogue scopes or
//! return it to the catalogue's defaults. The checks and the audit are those of the REST API
//! (`gatekey_core::scope_admin`), the rank rule included.

use std::collections::HashMap;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use gatekey_core::role::Role;
use gatekey_core::scope_admin::{map_role, unmap_role, RoleMapper, ScopeAdminError};
use maud::html;
use serde::Deserialize;

use super::csrf_form::{CsrfChecked, CsrfForm};
use super::layout::{html_response, page};
use super::page_error::PageError;
use super::scope_boxes::{scope_boxes, ticked_names};
use super::scope_catalogue_page::refusal;
use super::signed_in::SignedInAdmin;
use crate::auth::session::WebSession;
use crate::auth::ClientInfo;
use crate::state::AppState;

/// A role's form: its ticked `scope_<name>` boxes.
#[derive(Deserialize)]
pub struct RoleForm {
    #[serde(flatten)]
    boxes: HashMap<String, String>,
}

fn role_in_path(name: &str) -> Result<Role, PageError> {
    name.parse()
        .map_err(|_| PageError::refused(StatusCode::NOT_FOUND, "No such role."))
}

/// The roles page, with why the last form was refused.
async fn render(
    state: &AppState,
    web: &WebSession,
    status: StatusCode,
    error: Option<&str>,
) -> Result<Response, PageError> {
    let p = &web.principal;
    let scopes = state.account_scopes(p.account.id).await?;
    let catalogue = scopes.catalogue();
    let csrf = web.session.csrf_token.as_str();
    let body = html! {
        section {
            h1 { "Roles and scopes in " (p.account.name) }
            p.muted { "What each role holds in this account. read, write and admin follow the role. The scopes of the catalogue are held by their default roles, unless this account maps the role itself below. A change reaches every key and token of the role at once." }
            @if let Some(error) = error { p.error role="alert" { (error) } }
            table {
                thead { tr { th { "Role" } th { "Holds" } th { "Catalogue scopes" } } }
                tbody {
                    @for role in Role::ALL {
                        tr {
                            td { (role) @if scopes.is_overridden(role) { " (mapped)" } }
                            td { (scopes.held_by(role)) }
                            td {
                                @if catalogue.entries().is_empty() {
                                    span.muted { "The catalogue is empty." }
                                } @else {
                                    form method="post" action={ "/roles/" (role) } {
                                        input type="hidden" name="csrf_token" value=(csrf);
                                        (scope_boxes(catalogue.names(), scopes.held_by(role), catalogue))
                                        button type="submit" { "Save" }
                                    }
                                }
                                @if scopes.is_overridden(role) {
                                    form method="post" action={ "/roles/" (role) "/reset" } {
                                        input type="hidden" name="csrf_token" value=(csrf);
                                        button.secondary type="submit" { "Use the catalogue's defaults" }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    };
    Ok(html_response(
        status,
        page("Roles and scopes", Some((&web.principal, csrf)), body),
    ))
}

/// After a change: back to the page, or the page again with the refusal.
async fn answer<T>(
    state: &AppState,
    web: &WebSession,
    result: Result<T, ScopeAdminError>,
) -> Result<Response, PageError> {
    match refusal(result)? {
        None => Ok(Redirect::to("/roles").into_response()),
        Some(message) => render(state, web, StatusCode::BAD_REQUEST, Some(&message)).await,
    }
}

fn mapper<'a>(web: &WebSession, actor: &'a gatekey_core::audit::Actor) -> RoleMapper<'a> {
    RoleMapper {
        account_id: web.principal.account.id,
        role: web.principal.role,
        actor,
    }
}

/// `GET /roles`.
pub async fn show_roles(
    State(state): State<AppState>,
    SignedInAdmin(web): SignedInAdmin,
) -> Result<Response, PageError> {
    render(&state, &web, StatusCode::OK, None).await
}

/// `POST /roles/{role}`: maps the role to the ticked catalogue scopes.
pub async fn map_role_scopes(
    State(state): State<AppState>,
    client: ClientInfo,
    Path(role): Path<String>,
    form: CsrfForm<RoleForm, SignedInAdmin>,
) -> Result<Response, PageError> {
    let SignedInAdmin(web) = form.signed_in;
    let role = role_in_path(&role)?;
    let names = ticked_names(&form.fields.boxes);
    let catalogue = state.scopes.catalogue(&state.store).await?;
    let actor = web.principal.actor(client.ip, client.user_agent);
    let now = state.clock.now();
    let mapper = mapper(&web, &actor);
    let mapped = map_role(&state.store, now, &mapper, &catalogue, role, &names).await;
    answer(&state, &web, mapped).await
}

/// `POST /roles/{role}/reset`: returns the role to the catalogue's defaults.
pub async fn reset_role_scopes(
    State(state): State<AppState>,
    client: ClientInfo,
    Path(role): Path<String>,
    CsrfChecked(SignedInAdmin(web)): CsrfChecked<SignedInAdmin>,
) -> Result<Response, PageError> {
    let role = role_in_path(&role)?;
    let actor = web.principal.actor(client.ip, client.user_agent);
    let now = state.clock.now();
    let mapper = mapper(&web, &actor);
    let reset = unmap_role(&state.store, now, &mapper, role).await;
    answer(&state, &web, reset).await
}
