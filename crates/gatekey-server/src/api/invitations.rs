//! `/api/v1/invitations`: the caller's account's pending invitations (admins only, with a
//! first-party credential). `POST /api/v1/users` makes them.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use gatekey_core::audit::{AuditAction, AuditEntry};
use gatekey_core::invitation::{Invitation, InvitationEnded, InvitationStore};
use gatekey_core::scope::Scope;
use gatekey_core::secret::Secret;
use gatekey_proto::invitation::{InvitationList, InvitationView};
use gatekey_proto::ErrorBody;

use super::paging::{PageQuery, Paging};
use super::views::{pagination, timestamp};
use crate::auth::Caller;
use crate::error::ApiError;
use crate::json::Json;
use crate::path::Path;
use crate::state::AppState;

/// An invitation as the API shows it, without its link (shown once, when made).
pub fn invitation_view(invitation: &Invitation) -> InvitationView {
    InvitationView {
        id: invitation.id,
        email: invitation.email.clone(),
        name: invitation.name.clone(),
        role: invitation.role.as_str().to_owned(),
        status: invitation.status.as_str().to_owned(),
        created_at: timestamp(invitation.created_at),
        expires_at: timestamp(invitation.expires_at),
        accept_url: None,
    }
}

/// The link a person opens to accept: the secret is in the path, which is acceptable only
/// because it works once and for a short time (and every page sets `Referrer-Policy:
/// no-referrer`).
pub fn accept_url(state: &AppState, secret: &Secret) -> String {
    format!("{}/invitations/{}", state.issuer, secret.expose())
}

/// Lists the account's pending invitations, oldest first.
#[utoipa::path(
    get,
    path = "/api/v1/invitations",
    tag = "invitations",
    params(PageQuery),
    responses((status = 200, description = "One page of pending invitations", body = InvitationList))
)]
pub async fn list_invitations(
    State(state): State<AppState>,
    caller: Caller,
    Paging(page): Paging,
) -> Result<Response, ApiError> {
    caller.require_first_party_with(Scope::Admin)?;
    let found = state
        .store
        .pending_invitations(caller.principal.account.id, state.clock.now(), page)
        .await?;
    Ok(Json(InvitationList {
        pagination: pagination(&found),
        invitations: found.items.iter().map(invitation_view).collect(),
    })
    .into_response())
}

/// Withdraws a pending invitation: its link stops working at once.
#[utoipa::path(
    delete,
    path = "/api/v1/invitations/{id}",
    tag = "invitations",
    params(("id" = i64, Path, description = "Invitation id")),
    responses(
        (status = 204, description = "Withdrawn: the link no longer works"),
        (status = 404, description = "No such pending invitation", body = ErrorBody),
    )
)]
pub async fn withdraw_invitation(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
) -> Result<Response, ApiError> {
    caller.require_first_party_with(Scope::Admin)?;
    let now = state.clock.now();
    let audit = AuditEntry::new(
        now,
        &caller.actor(),
        AuditAction::InvitationWithdrawn,
        "invitation",
    );
    match state
        .store
        .withdraw_invitation(caller.principal.account.id, id, now, audit)
        .await?
    {
        InvitationEnded::Done(_) => Ok(StatusCode::NO_CONTENT.into_response()),
        _ => Err(ApiError::not_found("pending invitation")),
    }
}
