//! `/api/v1/authorizations`: the applications the caller's user authorized in this account.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use gatekey_core::oauth::store::GrantStore;
use gatekey_core::page::Page;
use gatekey_core::scope::Scope;
use gatekey_proto::api::{AuthorizationList, AuthorizationView};
use gatekey_proto::ErrorBody;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::paging::{PageQuery, Paging};
use super::views::{pagination, timestamp};
use crate::auth::Caller;
use crate::error::ApiError;
use crate::json::Json;
use crate::oauth::revoke_application_for;
use crate::path::Path;
use crate::state::AppState;

/// This resource's routes.
pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_authorizations))
        .routes(routes!(revoke_authorization))
}

/// Lists the applications the caller's user authorized in this account, newest first.
#[utoipa::path(
    get,
    path = "/api/v1/authorizations",
    tag = "authorizations",
    params(PageQuery),
    responses((status = 200, description = "One page of authorized applications", body = AuthorizationList))
)]
async fn list_authorizations(
    State(state): State<AppState>,
    caller: Caller,
    Paging(page): Paging,
) -> Result<Response, ApiError> {
    caller.require_first_party_with(Scope::Read)?;
    let p = &caller.principal;
    let grants = state.store.grants_of_user(p.user.id, p.account.id).await?;
    let total = grants.len() as u64;
    let items: Vec<AuthorizationView> = grants
        .iter()
        .skip(usize::try_from(page.offset()).unwrap_or(usize::MAX))
        .take(page.per_page as usize)
        .map(|(grant, app)| AuthorizationView {
            client_id: app.client_id.clone(),
            name: app.name.clone(),
            scopes: grant
                .scopes
                .names()
                .into_iter()
                .map(str::to_owned)
                .collect(),
            created_at: timestamp(grant.created_at),
        })
        .collect();
    let page = Page {
        items,
        total,
        request: page,
    };
    Ok(Json(AuthorizationList {
        pagination: pagination(&page),
        authorizations: page.items,
    })
    .into_response())
}

/// Revokes one application's access: its grants and every code and token under them. The
/// caller's credential must be first-party and carry `write`: one application must not be
/// able to cut off another.
#[utoipa::path(
    delete,
    path = "/api/v1/authorizations/{client_id}",
    tag = "authorizations",
    params(("client_id" = String, Path, description = "The application's client id")),
    responses(
        (status = 204, description = "Revoked: its grants, codes and tokens"),
        (status = 404, description = "The caller's user has not authorized that application here", body = ErrorBody),
    )
)]
async fn revoke_authorization(
    State(state): State<AppState>,
    caller: Caller,
    Path(client_id): Path<String>,
) -> Result<Response, ApiError> {
    caller.require_first_party_credential(Scope::Write)?;
    if revoke_application_for(&state, &caller.principal, &client_id, &caller.actor()).await? {
        Ok(StatusCode::NO_CONTENT.into_response())
    } else {
        Err(ApiError::not_found("authorization"))
    }
}
