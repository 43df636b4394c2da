//! `/api/v1/users`: the people and service accounts of the caller's account (admins only).
//! People are added by invitation (see [`super::invitations`]).

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use gatekey_core::invitation::InviteError;
use gatekey_core::page::{Page, PageRequest};
use gatekey_core::role::Role;
use gatekey_core::scope::Scope;
use gatekey_core::store::UserStore;
use gatekey_core::user::{Member, UserKind};
use gatekey_core::user_admin::{
    change_role, invite_person, ChangeRoleError, InvitePersonError, Invitee,
};
use gatekey_proto::api::{CreateUserRequest, MemberView, UpdateUserRequest, UserList};
use gatekey_proto::invitation::CreatedInvitation;
use gatekey_proto::ErrorBody;

use super::invitations::{accept_url, invitation_view};
use super::paging::{PageQuery, Paging};
use super::views::{member_view, pagination};
use crate::auth::Caller;
use crate::error::ApiError;
use crate::json::Json;
use crate::path::Path;
use crate::state::AppState;

/// Lists every member of the caller's account, oldest first.
#[utoipa::path(
    get,
    path = "/api/v1/users",
    tag = "users",
    params(PageQuery),
    responses((status = 200, description = "One page of members", body = UserList))
)]
pub async fn list_users(
    State(state): State<AppState>,
    caller: Caller,
    Paging(page): Paging,
) -> Result<Response, ApiError> {
    caller.require(Scope::Admin)?;
    let members = account_members(&state, &caller, None, page).await?;
    Ok(Json(UserList {
        pagination: pagination(&members),
        users: members.items.iter().map(member_view).collect(),
    })
    .into_response())
}

/// Shows one member of the caller's account.
#[utoipa::path(
    get,
    path = "/api/v1/users/{id}",
    tag = "users",
    params(("id" = i64, Path, description = "User id")),
    responses(
        (status = 200, description = "The member", body = MemberView),
        (status = 404, description = "No such member of the caller's account", body = ErrorBody),
    )
)]
pub async fn show_user(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
) -> Result<Response, ApiError> {
    caller.require(Scope::Admin)?;
    let member = account_member(&state, &caller, id, None).await?;
    Ok(Json(member_view(&member)).into_response())
}

/// One page of the members of the caller's account, of `kind` when one is named, oldest first.
pub(super) async fn account_members(
    state: &AppState,
    caller: &Caller,
    kind: Option<UserKind>,
    page: PageRequest,
) -> Result<Page<Member>, ApiError> {
    let account_id = caller.principal.account.id;
    Ok(state
        .store
        .list_members(Some(account_id), kind, page)
        .await?)
}

/// Member `id` of the caller's account, of `kind` when one is named; otherwise 404, the same
/// for a member of another account as for no one.
pub(super) async fn account_member(
    state: &AppState,
    caller: &Caller,
    id: i64,
    kind: Option<UserKind>,
) -> Result<Member, ApiError> {
    let what = match kind {
        Some(UserKind::Service) => "service account",
        _ => "user",
    };
    state
        .store
        .member(caller.principal.account.id, id)
        .await?
        .filter(|m| kind.is_none_or(|kind| m.user.kind == kind))
        .ok_or_else(|| ApiError::not_found(what))
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

/// Adds a person to the caller's account: always by invitation. The answer (201 and the
/// invitation with its one-time `accept_url`) is the same whether the email is new, has a login
/// in another account, or was invited already, so it tells the admin nothing about other
/// accounts. Only a member of this account is refused (409): the admin sees members anyway.
#[utoipa::path(
    post,
    path = "/api/v1/users",
    tag = "users",
    request_body = CreateUserRequest,
    responses(
        (status = 201, description = "The invitation, with its one-time link", body = CreatedInvitation),
        (status = 400, description = "A bad email, name or role, or a password given", body = ErrorBody),
        (status = 403, description = "Only an owner invites an owner", body = ErrorBody),
        (status = 409, description = "Already a member of this account", body = ErrorBody),
    )
)]
pub async fn create_user(
    State(state): State<AppState>,
    caller: Caller,
    Json(body): Json<CreateUserRequest>,
) -> Result<Response, ApiError> {
    // The link is a way in to the account: handed out only with a first-party credential.
    caller.require_first_party_with(Scope::Admin)?;
    if body.password.is_some() {
        return Err(ApiError::bad_request(
            "a person chooses their own password when accepting the invitation; leave out `password`",
        ));
    }
    let role = grantable_role(&caller, &body.role)?;
    let invitee = Invitee {
        email: &body.email,
        name: &body.name,
        role,
    };
    let (invitation, secret) = invite_person(
        &state.store,
        state.clock.now(),
        &caller.principal.account,
        invitee,
        caller.principal.role,
        &caller.actor(),
    )
    .await
    .map_err(|e| match e {
        InvitePersonError::Invite(InviteError::Input(e)) => ApiError::bad_request(e.to_string()),
        InvitePersonError::Invite(e @ InviteError::HigherRole(_)) => {
            ApiError::forbidden(e.to_string())
        }
        InvitePersonError::AlreadyMember => ApiError::conflict(e.to_string()),
        InvitePersonError::Store(e) => e.into(),
    })?;
    let mut view = invitation_view(&invitation);
    view.accept_url = Some(accept_url(&state, &secret));
    Ok((
        StatusCode::CREATED,
        Json(CreatedInvitation { invitation: view }),
    )
        .into_response())
}

/// Changes a member's role in the caller's account. The rank rule applies: an admin can neither
/// change an owner's role nor make an owner, and the last owner stays an owner. A lowered role
/// applies at once to every API key and OAuth token of the member, on every server. Needs a
/// first-party credential.
#[utoipa::path(
    patch,
    path = "/api/v1/users/{id}",
    tag = "users",
    params(("id" = i64, Path, description = "User id")),
    request_body = UpdateUserRequest,
    responses(
        (status = 200, description = "The member with the new role", body = MemberView),
        (status = 400, description = "An unknown role", body = ErrorBody),
        (status = 403, description = "The rank rule refuses it", body = ErrorBody),
        (status = 404, description = "No such member of the caller's account", body = ErrorBody),
        (status = 409, description = "The last owner stays an owner", body = ErrorBody),
    )
)]
pub async fn update_user(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
    Json(body): Json<UpdateUserRequest>,
) -> Result<Response, ApiError> {
    // A role decides what every credential of the member may do: an application acting for an
    // admin must not be able to raise anyone.
    caller.require_first_party_with(Scope::Admin)?;
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
    Ok(Json(member_view(&changed)).into_response())
}
