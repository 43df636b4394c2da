//! `/api/v1/roles`: what each role holds in the caller's account. Everyone may read it (scope
//! `read`); the account's owners and admins map a role to catalogue scopes of their choosing,
//! or return it to the catalogue's default roles, with a first-party credential carrying
//! `admin`. Built-in scopes follow the role and cannot be mapped.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use gatekey_core::role::Role;
use gatekey_core::scope::Scope;
use gatekey_core::scope_admin::{map_role, unmap_role, RoleMapper};
use gatekey_proto::scopes::{RoleList, RoleScopesView, SetRoleScopesRequest};
use gatekey_proto::ErrorBody;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::scope_views::role_scopes_view;
use super::scopes::scope_admin_error;
use crate::auth::Caller;
use crate::error::ApiError;
use crate::json::Json;
use crate::path::Path;
use crate::state::AppState;

/// The role mapping's routes.
pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_roles))
        .routes(routes!(set_role_scopes, reset_role_scopes))
}

fn role_in_path(name: &str) -> Result<Role, ApiError> {
    name.parse().map_err(|_| ApiError::not_found("role"))
}

/// Lists every role with what it holds in the caller's account.
#[utoipa::path(
    get,
    path = "/api/v1/roles",
    tag = "roles",
    responses((status = 200, description = "Every role, highest first", body = RoleList))
)]
async fn list_roles(State(state): State<AppState>, caller: Caller) -> Result<Response, ApiError> {
    caller.require(Scope::Read)?;
    let scopes = state.account_scopes(caller.principal.account.id).await?;
    Ok(Json(RoleList {
        roles: Role::ALL
            .into_iter()
            .map(|role| role_scopes_view(&scopes, role))
            .collect(),
    })
    .into_response())
}

fn mapper<'a>(caller: &Caller, actor: &'a gatekey_core::audit::Actor) -> RoleMapper<'a> {
    RoleMapper {
        account_id: caller.principal.account.id,
        role: caller.principal.role,
        actor,
    }
}

/// Maps a role of the caller's account to exactly the catalogue scopes named.
#[utoipa::path(
    put,
    path = "/api/v1/roles/{role}/scopes",
    tag = "roles",
    params(("role" = String, Path, description = "`owner`, `admin`, `member` or `viewer`", example = "member")),
    request_body = SetRoleScopesRequest,
    responses(
        (status = 200, description = "What the role now holds", body = RoleScopesView),
        (status = 400, description = "An unknown or built-in scope (`invalid_scope`)", body = ErrorBody),
        (status = 403, description = "A role ranking above the caller's", body = ErrorBody),
        (status = 404, description = "No such role", body = ErrorBody),
    )
)]
async fn set_role_scopes(
    State(state): State<AppState>,
    caller: Caller,
    Path(role): Path<String>,
    Json(body): Json<SetRoleScopesRequest>,
) -> Result<Response, ApiError> {
    caller.require_first_party_with(Scope::Admin)?;
    let role = role_in_path(&role)?;
    let catalogue = state.scopes.catalogue(&state.store).await?;
    let actor = caller.actor();
    map_role(
        &state.store,
        state.clock.now(),
        &mapper(&caller, &actor),
        &catalogue,
        role,
        &body.scopes,
    )
    .await
    .map_err(scope_admin_error)?;
    let scopes = state.account_scopes(caller.principal.account.id).await?;
    Ok(Json(role_scopes_view(&scopes, role)).into_response())
}

/// Returns a role of the caller's account to the catalogue entries' default roles.
#[utoipa::path(
    delete,
    path = "/api/v1/roles/{role}/scopes",
    tag = "roles",
    params(("role" = String, Path, description = "`owner`, `admin`, `member` or `viewer`", example = "member")),
    responses(
        (status = 204, description = "The role follows the catalogue's default roles again"),
        (status = 403, description = "A role ranking above the caller's", body = ErrorBody),
        (status = 404, description = "No such role", body = ErrorBody),
    )
)]
async fn reset_role_scopes(
    State(state): State<AppState>,
    caller: Caller,
    Path(role): Path<String>,
) -> Result<Response, ApiError> {
    caller.require_first_party_with(Scope::Admin)?;
    let role = role_in_path(&role)?;
    let actor = caller.actor();
    unmap_role(
        &state.store,
        state.clock.now(),
        &mapper(&caller, &actor),
        role,
    )
    .await
    .map_err(scope_admin_error)?;
    Ok(StatusCode::NO_CONTENT.into_response())
}
