//! `/api/v1/api_keys`: the caller's own API keys.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Extension;
use gatekey_core::api_key::{ApiKeyRequest, KeyOwner};
use gatekey_core::api_key_creation::{
    create_metered_api_key, CreateApiKeyError, CreateMeteredKeyError, UsageRequest,
};
use gatekey_core::audit::{AuditAction, AuditEntry};
use gatekey_core::scope::{Scope, ScopeSet};
use gatekey_core::store::{ApiKeyFilter, ApiKeyStore};
use gatekey_proto::api::{ApiKeyList, CreateApiKeyRequest, CreatedApiKey};
use gatekey_proto::ErrorBody;

use super::api_key_update::key_within_reach;
use super::expiring_within::{ExpiringQuery, ExpiringWithin};
use super::key_usage_input::usage_settings;
use super::paging::{PageQuery, Paging};
use super::views::{api_key_view, pagination};
use crate::auth::caller::CallerKeyPolicy;
use crate::auth::Caller;
use crate::background::{flush_usage, return_credits};
use crate::error::ApiError;
use crate::json::Json;
use crate::path::Path;
use crate::state::AppState;

/// Lists the caller's keys in this account, newest first.
#[utoipa::path(
    get,
    path = "/api/v1/api_keys",
    tag = "api_keys",
    params(PageQuery, ExpiringQuery),
    responses(
        (status = 200, description = "One page of the caller's keys", body = ApiKeyList),
        (status = 400, description = "A bad page, per_page or expiring_within", body = ErrorBody),
    )
)]
pub async fn list_api_keys(
    State(state): State<AppState>,
    caller: Caller,
    Paging(page): Paging,
    expiring: ExpiringWithin,
) -> Result<Response, ApiError> {
    caller.require_first_party_with(Scope::Read)?;
    flush_usage(&state).await;
    return_credits(&state, None).await;
    let filter = ApiKeyFilter {
        account_id: Some(caller.principal.account.id),
        user_id: Some(caller.principal.user.id),
        expiring_between: expiring.between(state.clock.now()),
    };
    let keys = state.store.list_api_keys(filter, page).await?;
    Ok(Json(ApiKeyList {
        pagination: pagination(&keys),
        api_keys: keys.items.iter().map(api_key_view).collect(),
    })
    .into_response())
}

/// Creates a key for the caller. Any role may; the credential must carry `write`, and the new
/// key can have no scope the creating credential lacks. Meta is the caller's to set; limits,
/// credits and refill need `admin`, and a key with limits or credits creates keys only for an
/// admin.
#[utoipa::path(
    post,
    path = "/api/v1/api_keys",
    tag = "api_keys",
    request_body = CreateApiKeyRequest,
    responses(
        (status = 201, description = "The key, with its secret shown this once", body = CreatedApiKey),
        (status = 400, description = "A bad name, an unknown scope or a scope the credential lacks, a lifetime too long, or bad meta, limits or credits", body = ErrorBody),
        (status = 403, description = "Limits, credits or refill without `admin`, or a key with limits or credits creating a key", body = ErrorBody),
        (status = 409, description = "The user is disabled", body = ErrorBody),
    )
)]
pub async fn create_api_key(
    State(state): State<AppState>,
    caller: Caller,
    metered: Option<Extension<CallerKeyPolicy>>,
    Json(body): Json<CreateApiKeyRequest>,
) -> Result<Response, ApiError> {
    caller.require_first_party_credential(Scope::Write)?;
    let p = &caller.principal;
    let owner = p.as_key_owner();
    let parent_metered = metered.is_some_and(|Extension(CallerKeyPolicy(policy))| {
        !policy.limits.is_empty() || policy.credited
    });
    let grantable = p.credential_scopes.clone();
    create_key_for(&state, &caller, owner, (grantable, parent_metered), body).await
}

/// Creates a key for `owner`, as `caller`, limited to `grantable`, the caller's credential
/// being a key with limits or credits when `parent_metered`. Shared with the admin route.
pub(super) async fn create_key_for(
    state: &AppState,
    caller: &Caller,
    owner: KeyOwner<'_>,
    (grantable, parent_metered): (ScopeSet, bool),
    body: CreateApiKeyRequest,
) -> Result<Response, ApiError> {
    let now = state.clock.now();
    let usage = UsageRequest {
        settings: usage_settings(&body)?,
        may_admin: caller.principal.may(Scope::Admin),
        parent_metered,
    };
    let scopes = match body.scopes.as_deref() {
        Some(names) => {
            let catalogue = state.scopes.catalogue(&state.store).await?;
            let known = catalogue.names_input(names);
            Some(known.map_err(|e| ApiError::invalid_scope(e.to_string()))?)
        }
        None => None,
    };
    let expires_at = match body.expires_in {
        None => None,
        Some(seconds) => Some(
            i64::try_from(seconds)
                .ok()
                .and_then(|s| now.checked_add(time::Duration::seconds(s)))
                .ok_or_else(|| ApiError::bad_request("expires_in is too large"))?,
        ),
    };
    let request = ApiKeyRequest {
        name: body.name,
        scopes,
        expires_at,
    };
    // A key made with an API key is that key's child: within its scopes and lifetime, and
    // revoked with it. A key made with a session has no parent.
    let created = create_metered_api_key(
        &state.store,
        now,
        owner,
        grantable,
        caller.principal.parent_key(),
        request,
        usage,
        &caller.actor(),
    )
    .await;
    match created {
        Ok((key, secret)) => {
            let body = CreatedApiKey {
                api_key: api_key_view(&key),
                secret: secret.expose().to_owned(),
            };
            Ok((StatusCode::CREATED, Json(body)).into_response())
        }
        Err(CreateMeteredKeyError::Usage(e)) => Err(ApiError::bad_request(e.to_string())),
        Err(CreateMeteredKeyError::Rights(e)) => Err(ApiError::forbidden(e.to_string())),
        Err(CreateMeteredKeyError::Create(error)) => Err(match error {
            CreateApiKeyError::Input(e) => ApiError::bad_request(e.to_string()),
            CreateApiKeyError::UserDisabled => ApiError::conflict("the user is disabled"),
            CreateApiKeyError::CreatorRevoked => {
                ApiError::invalid_token("the credential has been revoked")
            }
            CreateApiKeyError::Store(e) => e.into(),
        }),
    }
}

/// Revokes a key, and every key created with it. The caller's own keys need `write`; another
/// user's key in the same account needs `admin` and a role not ranking below the key's user.
/// A key of another account is reported as not found.
#[utoipa::path(
    delete,
    path = "/api/v1/api_keys/{id}",
    tag = "api_keys",
    params(("id" = i64, Path, description = "The key's id")),
    responses(
        (status = 204, description = "Revoked, with every key created with it"),
        (status = 403, description = "Another user's key needs `admin` and a role not below theirs", body = ErrorBody),
        (status = 404, description = "No such key in the caller's account", body = ErrorBody),
    )
)]
pub async fn revoke_api_key(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
) -> Result<Response, ApiError> {
    caller.require_first_party_credential(Scope::Write)?;
    key_within_reach(&state, &caller, id).await?;
    let now = state.clock.now();
    let audit = AuditEntry::new(now, &caller.actor(), AuditAction::ApiKeyRevoked, "api_key");
    state.store.revoke_api_key(id, now, audit).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}
