//! `/api/v1/users`: the people and service accounts of the caller's account (admins only).

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use gatekey_core::password::hash_password;
use gatekey_core::role::Role;
use gatekey_core::scope::Scope;
use gatekey_core::store::Invalidation;
use gatekey_core::store::{StoreError, UserStore};
use gatekey_core::user_admin::{
    change_role, create_person, ChangeRoleError, CreateUserError, PersonRequest,
};
use gatekey_proto::api::{CreateUserRequest, UpdateUserRequest, UserList};

use super::paging::Paging;
use super::views::{member_view, pagination};
use crate::auth::Caller;
use crate::error::ApiError;
use crate::json::Json;
use crate::path::Path;
use crate::state::AppState;

/// Lists every member of the caller's account, oldest first.
pub async fn list_users(
    State(state): State<AppState>,
    caller: Caller,
    Paging(page): Paging,
) -> Result<Response, ApiError> {
    caller.require(Scope::Admin)?;
    let members = state
        .store
        .list_members(Some(caller.principal.account.id), None, page)
        .await?;
    Ok(Json(UserList {
        pagination: pagination(&members),
        users: members.items.iter().map(member_view).collect(),
    })
    .into_response())
}

/// Shows one member of the caller's account.
pub async fn show_user(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
) -> Result<Response, ApiError> {
    caller.require(Scope::Admin)?;
    let member = state
        .store
        .member(caller.principal.account.id, id)
        .await?
        .ok_or_else(|| ApiError::not_found("user"))?;
    Ok(Json(member_view(&member)).into_response())
}

/// Parses a role and checks the caller may hand it out: only an owner makes owners.
pub(super) fn grantable_role(caller: &Caller, role: &str) -> Result<Role, ApiError> {
    let role: Role = role
        .parse()
        .map_err(|e: gatekey_core::role::UnknownRole| ApiError::bad_request(e.to_string()))?;
    if !caller.principal.role.may_administer(role) {
        return Err(ApiError::forbidden(format!(
            "only an owner can make another owner; your role is {}",
            caller.principal.role
        )));
    }
    Ok(role)
}

/// Creates a person in the caller's account.
pub async fn create_user(
    State(state): State<AppState>,
    caller: Caller,
    Json(body): Json<CreateUserRequest>,
) -> Result<Response, ApiError> {
    if body.password.is_some() {
        // A password is a credential: whoever sets it can sign in as the new person.
        caller.require_first_party()?;
    }
    caller.require(Scope::Admin)?;
    let role = grantable_role(&caller, &body.role)?;
    let password_hash = match body.password {
        Some(password) => Some(
            tokio::task::spawn_blocking(move || hash_password(&password))
                .await
                .map_err(|_| ApiError::unavailable("password hashing task failed"))?
                .map_err(|e| ApiError::bad_request(e.to_string()))?,
        ),
        None => None,
    };
    let person = PersonRequest {
        email: &body.email,
        name: &body.name,
        role,
        password_hash,
    };
    let now = state.clock.now();
    match create_person(
        &state.store,
        now,
        &caller.principal.account,
        person,
        &caller.actor(),
    )
    .await
    {
        Ok(member) => Ok((StatusCode::CREATED, Json(member_view(&member))).into_response()),
        Err(CreateUserError::Input(e)) => Err(ApiError::bad_request(e.to_string())),
        Err(CreateUserError::Password(e)) => Err(ApiError::bad_request(e.to_string())),
        Err(CreateUserError::Store(StoreError::Conflict(_))) => {
            Err(ApiError::conflict("a user with this email already exists"))
        }
        Err(CreateUserError::Store(e)) => Err(e.into()),
    }
}

/// Changes a member's role in the caller's account. The rank rule applies: an admin can neither
/// change an owner's role nor make an owner, and the last owner stays an owner. A lowered role
/// applies at once to every API key and OAuth token of the member, on every server.
pub async fn update_user(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
    Json(body): Json<UpdateUserRequest>,
) -> Result<Response, ApiError> {
    caller.require(Scope::Admin)?;
    let role: Role = body
        .role
        .parse()
        .map_err(|e: gatekey_core::role::UnknownRole| ApiError::bad_request(e.to_string()))?;
    let p = &caller.principal;
    let changed = change_role(
        &state.store,
        state.clock.now(),
        p.account.id,
        p.role,
        id,
        role,
        &caller.actor(),
    )
    .await
    .map_err(|e| match e {
        ChangeRoleError::NotFound => ApiError::not_found("user"),
        ChangeRoleError::HigherRole(_) => ApiError::forbidden(e.to_string()),
        ChangeRoleError::LastOwner => ApiError::conflict(e.to_string()),
        ChangeRoleError::Store(e) => e.into(),
    })?;
    state.invalidate(&[Invalidation::User(id)]);
    Ok(Json(member_view(&changed)).into_response())
}
