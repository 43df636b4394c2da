//! `POST /api/v1/api_keys/{id}/roll`: a new secret for a key, the replaced one working for a
//! grace period the caller chooses.

use std::sync::Arc;

use axum::extract::State;
use axum::http::{header, HeaderMap};
use axum::response::{IntoResponse, Response};
use gatekey_core::api_key::{may_create_key_for, KeyForOtherError};
use gatekey_core::api_key_roll::{roll_api_key as roll_in_store, RollApiKeyError, RollGrace};
use gatekey_core::audit::CredentialRef;
use gatekey_core::scope::Scope;
use gatekey_core::secret::{Secret, SecretKind};
use gatekey_core::store::{ApiKeyStore, RollingKey, UserStore};
use gatekey_proto::api::{CreatedApiKey, RollApiKeyRequest};
use gatekey_proto::ErrorBody;

use super::views::api_key_view;
use crate::auth::caller::bearer_token;
use crate::auth::Caller;
use crate::error::ApiError;
use crate::json::Json;
use crate::path::Path;
use crate::state::AppState;

/// Gives a key of the caller's account a new secret, shown once; the old secret keeps working
/// for `grace_period_seconds` (0: it stops at once), ending any older secret an earlier roll
/// kept. Who may roll a key is who may revoke it, except that a person's key is rolled only by
/// that person (a new secret made by someone else would act as them), and that an API key may
/// roll only itself and the keys created with it, with its current secret.
#[utoipa::path(
    post,
    path = "/api/v1/api_keys/{id}/roll",
    tag = "api_keys",
    params(("id" = i64, Path, description = "The key's id")),
    request_body = RollApiKeyRequest,
    responses(
        (status = 200, description = "The key with its new secret, shown this once", body = CreatedApiKey),
        (status = 400, description = "A grace period below 0 or above 604800 seconds", body = ErrorBody),
        (status = 403, description = "Another person's key, a service account ranking above the caller, or an API key rolling a key that does not descend from it", body = ErrorBody),
        (status = 404, description = "No such key in the caller's account", body = ErrorBody),
        (status = 409, description = "The key is revoked or expired, or its user disabled", body = ErrorBody),
    )
)]
pub async fn roll_api_key(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    Path(id): Path<i64>,
    Json(body): Json<RollApiKeyRequest>,
) -> Result<Response, ApiError> {
    caller.require_first_party_credential(Scope::Write)?;
    let grace = RollGrace::from_seconds(body.grace_period_seconds)
        .map_err(|e| ApiError::bad_request(format!("grace_period_seconds: {e}")))?;
    let p = &caller.principal;
    let key = state
        .store
        .api_key_by_id(id)
        .await?
        .filter(|k| k.account_id == p.account.id)
        .ok_or_else(|| ApiError::not_found("API key"))?;
    let holder = if key.user_id == p.user.id {
        p.user.clone()
    } else {
        caller.require(Scope::Admin)?;
        let holder = state
            .store
            .member(p.account.id, key.user_id)
            .await?
            .ok_or_else(|| ApiError::not_found("API key"))?;
        may_create_key_for(p.role, &holder).map_err(|e| match e {
            KeyForOtherError::NotAServiceAccount => ApiError::forbidden(
                "a person's API key is rolled only by that person; administrators roll the keys of service accounts",
            ),
            KeyForOtherError::HigherRole => ApiError::forbidden(e.to_string()),
        })?;
        Arc::new(holder.user)
    };
    let rolled = roll_in_store(
        &state.store,
        state.clock.now(),
        &key,
        &holder,
        grace,
        rolling_key(&caller, &headers)?,
        &caller.actor(),
    )
    .await
    .map_err(|e| match e {
        RollApiKeyError::Revoked | RollApiKeyError::Expired | RollApiKeyError::UserDisabled => {
            ApiError::conflict(e.to_string())
        }
        RollApiKeyError::NotRollableWith => ApiError::forbidden(e.to_string()),
        RollApiKeyError::NotFound => ApiError::not_found("API key"),
        RollApiKeyError::Store(e) => e.into(),
    })?;
    let (key, secret) = rolled;
    Ok(Json(CreatedApiKey {
        api_key: api_key_view(&key),
        secret: secret.expose().to_owned(),
    })
    .into_response())
}

/// The API key the caller rolls with, and the secret it presented, when the caller is an API
/// key: the store checks that it may roll the key with that secret.
fn rolling_key(caller: &Caller, headers: &HeaderMap) -> Result<Option<RollingKey>, ApiError> {
    let CredentialRef::ApiKey(id) = caller.principal.credential else {
        return Ok(None);
    };
    let presented = headers
        .get(header::AUTHORIZATION)
        .map(bearer_token)
        .transpose()?
        .ok_or_else(ApiError::missing_credential)?;
    let secret = Secret::parse(SecretKind::ApiKey, presented)
        .map_err(|_| ApiError::invalid_token("the credential is malformed"))?;
    Ok(Some(RollingKey {
        id,
        hash: secret.hash(),
    }))
}
