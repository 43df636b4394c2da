//! `POST /api/v1/keys/verify`: a service that cannot sit behind the gateway asks whether an
//! API key its own caller sent is good, and the check counts as that key's use: its limits
//! and its account's are counted and its credits spent, exactly as for a call to gatekey's
//! API, and its `last_used_at` moves. A cached key is answered from memory.
//!
//! Who asks: a credential of an account administrator (effective `admin` scope), or a
//! confidential application with the `verify_keys` permission authenticated with
//! `client_secret_basic`; either about its own account's keys only (any other key, whatever
//! its state, is `NOT_FOUND`: [`gatekey_core::api_key_verification`]). The asker's own
//! credential is not metered: the key asked about is. Not under the API's authentication
//! layer, as an application authenticates with its client secret here.

use std::sync::Arc;

use axum::extract::{FromRequest, Request, State};
use axum::http::request::Parts;
use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Response};
use gatekey_core::api_key_verification::{may_verify_keys_of, visible_verdict, VerifyCode};
use gatekey_core::scope::Scope;
use gatekey_proto::key_usage::{RateLimitView, VerifyKeyRequest, VerifyKeyResponse};
use gatekey_proto::ErrorBody;

use super::views::{account_view, user_view};
use crate::auth::api_key::{look_up_api_key, KeyRefusal};
use crate::auth::cache::CachedKey;
use crate::auth::caller::{authenticate, refuse_credential_in_query};
use crate::auth::ClientInfo;
use crate::error::ApiError;
use crate::json::Json;
use crate::metering::{admit, Admission, Verdict};
use crate::oauth::client_auth::authenticate_client;
use crate::oauth::form::OAuthForm;
use crate::state::AppState;

/// The longest key read, in characters: ten times a gatekey key's length. A longer one is no key
/// and is refused as bad input, before any hashing.
const MAX_KEY_LEN: usize = 512;

/// Verifies an API key its holder presented to the caller: `200` with the verdict
/// (`valid`, `code`) whatever it is, and for a key of the caller's account that works, who it
/// acts as, its scopes, meta, credits left and rate limit.
#[utoipa::path(
    post,
    path = "/api/v1/keys/verify",
    tag = "api_keys",
    operation_id = "verify_key",
    security(("bearer" = []), ("basic" = [])),
    request_body = VerifyKeyRequest,
    responses(
        (status = 200, description = "The verdict on the key", body = VerifyKeyResponse),
        (status = 400, description = "A key in the URL, or one longer than 512 characters", body = ErrorBody),
        (status = 401, description = "No credential, a bad one, or an application's wrong secret", body = ErrorBody),
        (status = 403, description = "Neither an admin credential nor a confidential application with `verify_keys`", body = ErrorBody),
    )
)]
pub async fn verify_key(State(state): State<AppState>, request: Request) -> Response {
    // The caller first, as on every API route: a body is read only for a caller.
    let (parts, body) = request.into_parts();
    let account_id = match verifier_account(&state, &parts).await {
        Ok(account_id) => account_id,
        Err(refusal) => return refusal,
    };
    let body = match Json::<VerifyKeyRequest>::from_request(
        Request::from_parts(parts, body),
        &state,
    )
    .await
    {
        Ok(Json(body)) if body.key.chars().count() > MAX_KEY_LEN => {
            return ApiError::bad_request(format!("key must be at most {MAX_KEY_LEN} characters"))
                .into_response()
        }
        Ok(Json(body)) => body,
        Err(error) => return error.into_response(),
    };
    let mut response = match verdict(&state, account_id, &body.key).await {
        Ok(answer) => Json(answer).into_response(),
        Err(error) => error.into_response(),
    };
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// The account whose keys the caller may verify, or the answer refusing it.
async fn verifier_account(state: &AppState, parts: &Parts) -> Result<i64, Response> {
    refuse_credential_in_query(parts).map_err(IntoResponse::into_response)?;
    let basic = parts
        .headers
        .get(header::AUTHORIZATION)
        .and_then(|value| value.as_bytes().get(..6))
        .is_some_and(|scheme| scheme.eq_ignore_ascii_case(b"basic "));
    if basic {
        let origin = ClientInfo::of(parts, &state.config.http);
        let client = authenticate_client(state, &origin, &parts.headers, &OAuthForm::default())
            .await
            .map_err(IntoResponse::into_response)?;
        let account_id = client.application.account_id;
        if !client.is_confidential() || !may_verify_keys_of(&client.application, account_id) {
            return Err(ApiError::forbidden(
                "only a confidential application with the verify_keys permission verifies keys",
            )
            .into_response());
        }
        return Ok(account_id);
    }
    let (caller, _) = authenticate(state, parts)
        .await
        .map_err(IntoResponse::into_response)?;
    caller
        .require(Scope::Admin)
        .map_err(IntoResponse::into_response)?;
    Ok(caller.principal.account.id)
}

/// The verdict on `presented` for a caller who may verify the keys of `account_id`.
async fn verdict(
    state: &AppState,
    account_id: i64,
    presented: &str,
) -> Result<VerifyKeyResponse, ApiError> {
    let entry = match look_up_api_key(state, presented).await? {
        Ok(entry) if entry.principal.account.id == account_id => entry,
        Ok(_) => return Ok(refused(VerifyCode::NotFound)),
        Err(refusal) => {
            let (code, key_account) = match refusal {
                KeyRefusal::Malformed | KeyRefusal::Unknown => (VerifyCode::NotFound, None),
                KeyRefusal::Revoked { account_id } => (VerifyCode::Revoked, Some(account_id)),
                KeyRefusal::Disabled { account_id } => (VerifyCode::Disabled, Some(account_id)),
                KeyRefusal::Expired { account_id } => (VerifyCode::Expired, Some(account_id)),
            };
            let visible = key_account.map_or(VerifyCode::NotFound, |key_account| {
                visible_verdict(code, key_account, account_id)
            });
            return Ok(refused(visible));
        }
    };
    // The asker's address is not the key holder's: the use is recorded without one.
    entry.touch(state.clock.now(), None);
    let admission = admit(state, &entry.principal, entry.policy.as_deref(), 1).await?;
    Ok(verified(&entry, &admission))
}

/// The answer for a key that is not found, revoked, expired or disabled: the code alone.
fn refused(code: VerifyCode) -> VerifyKeyResponse {
    VerifyKeyResponse {
        valid: false,
        code: code.as_str().to_owned(),
        key_id: None,
        user: None,
        account: None,
        scopes: None,
        meta: None,
        remaining: None,
        ratelimit: None,
    }
}

/// The answer for a key of the caller's account that works, metered as `admission` says.
fn verified(entry: &Arc<CachedKey>, admission: &Admission) -> VerifyKeyResponse {
    let code = match admission.verdict {
        Verdict::Allowed => VerifyCode::Valid,
        Verdict::RateLimited => VerifyCode::RateLimited,
        Verdict::UsageExceeded { .. } => VerifyCode::UsageExceeded,
    };
    let p = &entry.principal;
    let policy = entry.policy.as_deref();
    VerifyKeyResponse {
        valid: code.is_valid(),
        code: code.as_str().to_owned(),
        key_id: match p.credential {
            gatekey_core::audit::CredentialRef::ApiKey(id) => Some(id),
            _ => None,
        },
        user: Some(user_view(&p.user)),
        account: Some(account_view(&p.account)),
        scopes: Some(
            p.effective_scopes()
                .names()
                .into_iter()
                .map(str::to_owned)
                .collect(),
        ),
        meta: policy.and_then(|p| p.meta.as_ref()).map(|m| m.to_value()),
        remaining: admission.credits_remaining,
        ratelimit: admission.rate.limit.map(|limit| RateLimitView {
            limit,
            remaining: admission.rate.remaining,
            reset: admission.rate.reset,
        }),
    }
}
