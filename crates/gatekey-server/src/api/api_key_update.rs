//! `PATCH /api/v1/api_keys/{id}`: changing a key's name, meta, limits and credits.

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use gatekey_core::api_key::ApiKey;
use gatekey_core::api_key_update::{update_api_key as update_key, UpdateApiKeyError};
use gatekey_core::scope::Scope;
use gatekey_core::store::{ApiKeyStore, UserStore};
use gatekey_proto::api::ApiKeyView;
use gatekey_proto::key_usage::UpdateApiKeyRequest;
use gatekey_proto::ErrorBody;

use super::key_usage_input::key_changes;
use super::views::api_key_view;
use crate::auth::Caller;
use crate::error::ApiError;
use crate::json::Json;
use crate::path::Path;
use crate::state::AppState;

/// The key `id` of the caller's account, if the caller may act on it as on revoking it: its
/// own key, or another user's with `admin` and a role not ranking below that user's. A key of
/// another account is not found.
pub(super) async fn key_within_reach(
    state: &AppState,
    caller: &Caller,
    id: i64,
) -> Result<ApiKey, ApiError> {
    let p = &caller.principal;
    let key = state
        .store
        .api_key_by_id(id)
        .await?
        .filter(|k| k.account_id == p.account.id)
        .ok_or_else(|| ApiError::not_found("API key"))?;
    if key.user_id != p.user.id {
        caller.require(Scope::Admin)?;
        // The rank rule of key creation: an admin cannot end an owner's key.
        if let Some(holder) = state.store.member(p.account.id, key.user_id).await? {
            p.role
                .check_may_administer(holder.membership.role)
                .map_err(|e| ApiError::forbidden(e.to_string()))?;
        }
    }
    Ok(key)
}

/// Changes a key: absent fields stay, `null` clears. Who may act on the key is as for
/// revoking it; its name and meta are then the caller's to change, while its limits, credits
/// and refill need `admin` in the account, on every key, one's own included (a key's holder
/// does not top up their own credits). Setting `credits_remaining` replaces the balance for
/// the current refill period; credits servers leased of the old balance are dropped.
#[utoipa::path(
    patch,
    path = "/api/v1/api_keys/{id}",
    tag = "api_keys",
    params(("id" = i64, Path, description = "The key's id")),
    request_body = UpdateApiKeyRequest,
    responses(
        (status = 200, description = "The key as changed", body = ApiKeyView),
        (status = 400, description = "A bad name, meta, limit, balance or refill, or a refill without credits", body = ErrorBody),
        (status = 403, description = "Another user's key needs `admin` and a role not below theirs; limits, credits and refill need `admin`", body = ErrorBody),
        (status = 404, description = "No such key in the caller's account", body = ErrorBody),
        (status = 409, description = "The key is revoked", body = ErrorBody),
    )
)]
pub async fn update_api_key(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
    Json(body): Json<UpdateApiKeyRequest>,
) -> Result<Response, ApiError> {
    caller.require_first_party_credential(Scope::Write)?;
    let changes = key_changes(body)?;
    let key = key_within_reach(&state, &caller, id).await?;
    let changed = update_key(
        &state.store,
        state.clock.now(),
        &key,
        changes,
        caller.principal.may(Scope::Admin),
        &caller.actor(),
    )
    .await
    .map_err(|error| match error {
        UpdateApiKeyError::Input(e) => ApiError::bad_request(e.to_string()),
        UpdateApiKeyError::Usage(e) => ApiError::bad_request(e.to_string()),
        UpdateApiKeyError::Rights(e) => ApiError::forbidden(e.to_string()),
        UpdateApiKeyError::Revoked => ApiError::conflict("the key is revoked"),
        UpdateApiKeyError::Store(e) => e.into(),
    })?;
    Ok(Json(api_key_view(&changed)).into_response())
}
