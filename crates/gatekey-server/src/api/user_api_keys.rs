//! `/api/v1/users/{id}/api_keys`: administrators manage the keys of their account's users.

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use gatekey_core::api_key::{may_create_key_for, KeyOwner};
use gatekey_core::scope::Scope;
use gatekey_core::store::{ApiKeyFilter, ApiKeyStore};
use gatekey_proto::api::{ApiKeyList, CreateApiKeyRequest, CreatedApiKey};
use gatekey_proto::ErrorBody;

use super::api_keys::create_key_for;
use super::expiring_within::{ExpiringQuery, ExpiringWithin};
use super::paging::{PageQuery, Paging};
use super::users::account_member;
use super::views::{api_key_view, pagination};
use crate::auth::Caller;
use crate::background::{flush_usage, return_credits};
use crate::error::ApiError;
use crate::json::Json;
use crate::path::Path;
use crate::state::AppState;

/// Lists a user's keys in the caller's account.
#[utoipa::path(
    get,
    path = "/api/v1/users/{id}/api_keys",
    tag = "users",
    params(("id" = i64, Path, description = "User id"), PageQuery, ExpiringQuery),
    responses(
        (status = 200, description = "One page of the user's keys", body = ApiKeyList),
        (status = 400, description = "A bad page, per_page or expiring_within", body = ErrorBody),
        (status = 404, description = "No such member of the caller's account", body = ErrorBody),
    )
)]
pub async fn list_user_api_keys(
    State(state): State<AppState>,
    caller: Caller,
    Path(user_id): Path<i64>,
    Paging(page): Paging,
    expiring: ExpiringWithin,
) -> Result<Response, ApiError> {
    caller.require_first_party_with(Scope::Admin)?;
    let account_id = caller.principal.account.id;
    account_member(&state, &caller, user_id, None).await?;
    flush_usage(&state).await;
    return_credits(&state, None).await;
    let keys = state
        .store
        .list_api_keys(
            ApiKeyFilter {
                account_id: Some(account_id),
                user_id: Some(user_id),
                expiring_between: expiring.between(state.clock.now()),
            },
            page,
        )
        .await?;
    Ok(Json(ApiKeyList {
        pagination: pagination(&keys),
        api_keys: keys.items.iter().map(api_key_view).collect(),
    })
    .into_response())
}

/// Creates a key for a service account of the caller's account whose role is not above the
/// caller's. The key's scopes are limited by that account's role and the caller's credential.
/// People create their own keys, so that what a key does is always what its person did.
#[utoipa::path(
    post,
    path = "/api/v1/users/{id}/api_keys",
    tag = "users",
    params(("id" = i64, Path, description = "The service account's user id")),
    request_body = CreateApiKeyRequest,
    responses(
        (status = 201, description = "The key, with its secret shown this once", body = CreatedApiKey),
        (status = 400, description = "A bad name, an unknown scope, a lifetime too long, or bad meta, limits or credits", body = ErrorBody),
        (status = 403, description = "Not a service account, or one ranking above the caller", body = ErrorBody),
        (status = 404, description = "No such member of the caller's account", body = ErrorBody),
        (status = 409, description = "The service account is disabled", body = ErrorBody),
    )
)]
pub async fn create_user_api_key(
    State(state): State<AppState>,
    caller: Caller,
    Path(user_id): Path<i64>,
    Json(body): Json<CreateApiKeyRequest>,
) -> Result<Response, ApiError> {
    caller.require_first_party_with(Scope::Admin)?;
    let owner = account_member(&state, &caller, user_id, None).await?;
    may_create_key_for(caller.principal.role, &owner)
        .map_err(|e| ApiError::forbidden(e.to_string()))?;
    let grantable = caller.principal.effective_scopes();
    let held = state
        .role_scopes(owner.membership.account_id, owner.membership.role)
        .await?;
    let owner = KeyOwner::new(&owner, &held);
    // The caller holds `admin`, so a key with limits or credits of its own may create keys.
    create_key_for(&state, &caller, owner, (grantable, false), body).await
}
