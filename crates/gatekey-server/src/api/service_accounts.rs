//! `/api/v1/service_accounts`: users made for applications (admins only).

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use gatekey_core::role::Role;
use gatekey_core::scope::Scope;
use gatekey_core::user::UserKind;
use gatekey_core::user_admin::{
    create_service_account as create_service_user, disable_user, CreateUserError,
};
use gatekey_proto::api::{CreateServiceAccountRequest, MemberView, ServiceAccountList};
use gatekey_proto::ErrorBody;

use super::paging::{PageQuery, Paging};
use super::users::{account_member, account_members, grantable_role};
use super::views::{member_view, pagination};
use crate::auth::Caller;
use crate::error::ApiError;
use crate::json::Json;
use crate::path::Path;
use crate::state::AppState;

/// Lists the caller's account's service accounts, oldest first.
#[utoipa::path(
    get,
    path = "/api/v1/service_accounts",
    tag = "service_accounts",
    params(PageQuery),
    responses((status = 200, description = "One page of service accounts", body = ServiceAccountList))
)]
pub async fn list_service_accounts(
    State(state): State<AppState>,
    caller: Caller,
    Paging(page): Paging,
) -> Result<Response, ApiError> {
    caller.require(Scope::Admin)?;
    let members = account_members(&state, &caller, Some(UserKind::Service), page).await?;
    let body = ServiceAccountList {
        pagination: pagination(&members),
        service_accounts: members.items.iter().map(member_view).collect(),
    };
    Ok(Json(body).into_response())
}

/// Creates a service account in the caller's account (role `member` unless told otherwise).
/// Needs a first-party credential.
#[utoipa::path(
    post,
    path = "/api/v1/service_accounts",
    tag = "service_accounts",
    request_body = CreateServiceAccountRequest,
    responses(
        (status = 201, description = "The service account", body = MemberView),
        (status = 400, description = "A bad name or role", body = ErrorBody),
        (status = 403, description = "Only an owner makes an owner", body = ErrorBody),
    )
)]
pub async fn create_service_account(
    State(state): State<AppState>,
    caller: Caller,
    Json(body): Json<CreateServiceAccountRequest>,
) -> Result<Response, ApiError> {
    // A service account holds credentials of its own, which would outlast the revocation of an
    // application that created it.
    caller.require_first_party_with(Scope::Admin)?;
    let role = match body.role.as_deref() {
        Some(role) => grantable_role(&caller, role)?,
        None => Role::Member,
    };
    let now = state.clock.now();
    match create_service_user(
        &state.store,
        now,
        &caller.principal.account,
        &body.name,
        role,
        &caller.actor(),
    )
    .await
    {
        Ok(member) => Ok((StatusCode::CREATED, Json(member_view(&member))).into_response()),
        Err(CreateUserError::Input(e)) => Err(ApiError::bad_request(e.to_string())),
        Err(CreateUserError::Password(e)) => Err(ApiError::bad_request(e.to_string())),
        Err(CreateUserError::Store(e)) => Err(e.into()),
    }
}

/// Disables a service account of the caller's account: every key of it stops working on every
/// server. A service account belongs to exactly one account, so no other account is affected.
#[utoipa::path(
    delete,
    path = "/api/v1/service_accounts/{id}",
    tag = "service_accounts",
    params(("id" = i64, Path, description = "The service account's user id")),
    responses(
        (status = 204, description = "Disabled, with every key of it"),
        (status = 403, description = "It ranks above the caller", body = ErrorBody),
        (status = 404, description = "No such service account in the caller's account", body = ErrorBody),
    )
)]
pub async fn disable_service_account(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
) -> Result<Response, ApiError> {
    caller.require_first_party_with(Scope::Admin)?;
    let member = account_member(&state, &caller, id, Some(UserKind::Service)).await?;
    // The rank rule of creation: an admin cannot disable an owner-role service account.
    caller
        .principal
        .role
        .check_may_administer(member.membership.role)
        .map_err(|e| ApiError::forbidden(e.to_string()))?;
    disable_user(
        &state.store,
        state.clock.now(),
        member.user.id,
        &caller.actor(),
    )
    .await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}
