//! `GET /api/v1/audits`: the account's audit log, newest first (admins only).

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use gatekey_core::scope::Scope;
use gatekey_core::store::AuditStore;
use gatekey_proto::api::AuditList;

use super::paging::{PageQuery, Paging};
use super::views::{audit_view, pagination};
use crate::auth::Caller;
use crate::error::ApiError;
use crate::json::Json;
use crate::state::AppState;

/// Lists the audit events of the caller's account.
#[utoipa::path(
    get,
    path = "/api/v1/audits",
    tag = "audits",
    params(PageQuery),
    responses((status = 200, description = "One page of events, newest first", body = AuditList))
)]
pub async fn list_audits(
    State(state): State<AppState>,
    caller: Caller,
    Paging(page): Paging,
) -> Result<Response, ApiError> {
    caller.require(Scope::Admin)?;
    let events = state
        .store
        .list_audits(caller.principal.account.id, page)
        .await?;
    Ok(Json(AuditList {
        pagination: pagination(&events),
        audits: events.items.iter().map(audit_view).collect(),
    })
    .into_response())
}
