//! `/api/v1/scopes`: the scope catalogue. Everyone may read it (scope `read`); the owners and
//! admins of the operator account (`operator_account`) change it, with a first-party
//! credential carrying `admin`. Built-in scopes are listed but cannot be changed.

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use gatekey_core::page::Page;
use gatekey_core::role::RoleSet;
use gatekey_core::scope::Scope;
use gatekey_core::scope_admin::{
    create_catalogue_scope, delete_catalogue_scope, update_catalogue_scope, CatalogueInput,
    ScopeAdminError,
};
use gatekey_core::scope_catalogue::CatalogueChange;
use gatekey_proto::scopes::{CreateScopeRequest, ScopeList, ScopeView, UpdateScopeRequest};
use gatekey_proto::ErrorBody;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::paging::{PageQuery, Paging};
use super::scope_views::{entry_view, scope_views};
use super::views::pagination;
use crate::auth::Caller;
use crate::error::ApiError;
use crate::json::Json;
use crate::path::Path;
use crate::state::AppState;

/// The catalogue's routes.
pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_scopes, create_scope))
        .routes(routes!(update_scope, delete_scope))
}

/// The one answer of every refused catalogue or mapping change.
pub(super) fn scope_admin_error(error: ScopeAdminError) -> ApiError {
    match error {
        ScopeAdminError::Name(_) | ScopeAdminError::Builtin(_) | ScopeAdminError::Mapping(_) => {
            ApiError::invalid_scope(error.to_string())
        }
        ScopeAdminError::Input(e) => ApiError::bad_request(e.to_string()),
        ScopeAdminError::Rank(e) => ApiError::forbidden(e.to_string()),
        ScopeAdminError::NotFound => ApiError::not_found("scope"),
        ScopeAdminError::Taken => ApiError::conflict(error.to_string()),
        ScopeAdminError::Store(e) => e.into(),
    }
}

/// Roles named in a request.
pub(super) fn parse_roles(names: &[String]) -> Result<RoleSet, ApiError> {
    RoleSet::from_names(names).map_err(|e| ApiError::bad_request(e.to_string()))
}

/// The one check of a catalogue change: a first-party credential with `admin`, in the
/// operator account.
fn require_operator(state: &AppState, caller: &Caller) -> Result<(), ApiError> {
    caller.require_first_party_with(Scope::Admin)?;
    if caller.principal.account.slug == state.config.operator_account {
        Ok(())
    } else {
        Err(ApiError::forbidden(format!(
            "the scope catalogue is managed from the operator account ({})",
            state.config.operator_account
        )))
    }
}

/// Lists every scope: the built-ins, then the catalogue by name.
#[utoipa::path(
    get,
    path = "/api/v1/scopes",
    tag = "scopes",
    params(PageQuery),
    responses((status = 200, description = "One page of scopes", body = ScopeList))
)]
async fn list_scopes(
    State(state): State<AppState>,
    caller: Caller,
    Paging(page): Paging,
) -> Result<Response, ApiError> {
    caller.require(Scope::Read)?;
    let catalogue = state.scopes.catalogue(&state.store).await?;
    let listed = Page::of_all(scope_views(&catalogue), page);
    Ok(Json(ScopeList {
        pagination: pagination(&listed),
        scopes: listed.items,
    })
    .into_response())
}

/// Adds a scope to the catalogue.
#[utoipa::path(
    post,
    path = "/api/v1/scopes",
    tag = "scopes",
    request_body = CreateScopeRequest,
    responses(
        (status = 201, description = "The new catalogue scope", body = ScopeView,
            headers(("Location" = String, description = "The scope's URL"))),
        (status = 400, description = "A bad name (`invalid_scope`), description, group or role", body = ErrorBody),
        (status = 403, description = "Not the operator account, or a role ranking above the caller", body = ErrorBody),
        (status = 409, description = "The name is taken", body = ErrorBody),
    )
)]
async fn create_scope(
    State(state): State<AppState>,
    caller: Caller,
    Json(body): Json<CreateScopeRequest>,
) -> Result<Response, ApiError> {
    require_operator(&state, &caller)?;
    let input = CatalogueInput {
        name: body.name,
        description: body.description,
        group: body.group,
        default_roles: body.roles.as_deref().map(parse_roles).transpose()?,
    };
    let created = create_catalogue_scope(
        &state.store,
        state.clock.now(),
        input,
        &caller.actor(),
        Some(caller.principal.account.id),
    )
    .await
    .map_err(scope_admin_error)?;
    let location = format!("/api/v1/scopes/{}", created.name);
    Ok((
        StatusCode::CREATED,
        [(header::LOCATION, location)],
        Json(entry_view(&created)),
    )
        .into_response())
}

/// Changes a catalogue scope's description, group or default roles.
#[utoipa::path(
    patch,
    path = "/api/v1/scopes/{name}",
    tag = "scopes",
    params(("name" = String, Path, description = "The scope's name", example = "reports.read")),
    request_body = UpdateScopeRequest,
    responses(
        (status = 200, description = "The changed scope", body = ScopeView),
        (status = 400, description = "A built-in scope (`invalid_scope`), or a bad description, group or role", body = ErrorBody),
        (status = 403, description = "Not the operator account, or a role ranking above the caller", body = ErrorBody),
        (status = 404, description = "No such catalogue scope", body = ErrorBody),
    )
)]
async fn update_scope(
    State(state): State<AppState>,
    caller: Caller,
    Path(name): Path<String>,
    Json(body): Json<UpdateScopeRequest>,
) -> Result<Response, ApiError> {
    require_operator(&state, &caller)?;
    let change = CatalogueChange {
        description: body.description,
        group: body.group,
        default_roles: body.roles.as_deref().map(parse_roles).transpose()?,
    };
    let updated = update_catalogue_scope(
        &state.store,
        state.clock.now(),
        &name,
        change,
        &caller.actor(),
        Some(caller.principal.account.id),
    )
    .await
    .map_err(scope_admin_error)?;
    Ok(Json(entry_view(&updated)).into_response())
}

/// Removes a scope from the catalogue. Keys, applications and grants keep the name; it is no
/// longer effective for them.
#[utoipa::path(
    delete,
    path = "/api/v1/scopes/{name}",
    tag = "scopes",
    params(("name" = String, Path, description = "The scope's name", example = "reports.read")),
    responses(
        (status = 204, description = "Removed from the catalogue"),
        (status = 400, description = "A built-in scope (`invalid_scope`)", body = ErrorBody),
        (status = 403, description = "Not the operator account, or a role ranking above the caller", body = ErrorBody),
        (status = 404, description = "No such catalogue scope", body = ErrorBody),
    )
)]
async fn delete_scope(
    State(state): State<AppState>,
    caller: Caller,
    Path(name): Path<String>,
) -> Result<Response, ApiError> {
    require_operator(&state, &caller)?;
    delete_catalogue_scope(
        &state.store,
        state.clock.now(),
        &name,
        &caller.actor(),
        Some(caller.principal.account.id),
    )
    .await
    .map_err(scope_admin_error)?;
    Ok(StatusCode::NO_CONTENT.into_response())
}
