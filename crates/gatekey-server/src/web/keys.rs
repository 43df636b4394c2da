//! `POST /keys` and `POST /keys/{id}/revoke`: API key management from the home page.

use axum::extract::rejection::FormRejection;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use gatekey_core::api_key::{ApiKeyRequest, KeyOwner};
use gatekey_core::api_key_creation::{create_api_key as create_key_in_store, CreateApiKeyError};
use gatekey_core::audit::{AuditAction, AuditEntry};
use gatekey_core::scope::{Scope, ScopeSet};
use gatekey_core::store::ApiKeyStore;
use serde::Deserialize;

use super::csrf::tokens_match;
use super::home::{render_home, Messages};
use super::layout::error_page;
use crate::auth::session::{current_session, WebSession};
use crate::auth::ClientInfo;
use crate::state::AppState;

/// The create-key form.
#[derive(Deserialize)]
pub struct CreateKeyForm {
    csrf_token: String,
    name: String,
    scope_read: Option<String>,
    scope_write: Option<String>,
    scope_admin: Option<String>,
    expires_in_days: Option<String>,
}

/// The revoke form.
#[derive(Deserialize)]
pub struct RevokeKeyForm {
    csrf_token: String,
}

async fn signed_in(
    state: &AppState,
    headers: &HeaderMap,
    csrf: &str,
) -> Result<WebSession, Response> {
    match current_session(state, headers).await {
        Ok(Some(web)) if tokens_match(csrf, &web.session.csrf_token) => Ok(web),
        Ok(Some(_)) => Err(error_page(
            StatusCode::FORBIDDEN,
            "The form expired. Please go back and try again.",
        )),
        Ok(None) => Err(Redirect::to("/login").into_response()),
        Err(_) => Err(error_page(
            StatusCode::SERVICE_UNAVAILABLE,
            "The service is temporarily unavailable.",
        )),
    }
}

/// Creates a key and shows its secret once.
pub async fn create_key(
    State(state): State<AppState>,
    headers: HeaderMap,
    client: ClientInfo,
    form: Result<Form<CreateKeyForm>, FormRejection>,
) -> Response {
    let Ok(Form(form)) = form else {
        return error_page(StatusCode::BAD_REQUEST, "The form was incomplete.");
    };
    let web = match signed_in(&state, &headers, &form.csrf_token).await {
        Ok(web) => web,
        Err(response) => return response,
    };
    let mut scopes = ScopeSet::EMPTY;
    for (checked, scope) in [
        (&form.scope_read, Scope::Read),
        (&form.scope_write, Scope::Write),
        (&form.scope_admin, Scope::Admin),
    ] {
        if checked.is_some() {
            scopes = scopes.with(scope);
        }
    }
    let now = state.clock.now();
    let days = form
        .expires_in_days
        .as_deref()
        .filter(|d| !d.is_empty())
        .map(str::parse::<i64>);
    let expires_at = match days {
        None => None,
        Some(Ok(days)) if (1..=3650).contains(&days) => Some(now + time::Duration::days(days)),
        Some(_) => {
            let messages = Messages {
                key_error: Some("Choose an expiry from the list."),
                ..Messages::default()
            };
            return render_home(&state, &web, StatusCode::BAD_REQUEST, messages).await;
        }
    };
    let p = &web.principal;
    let owner = KeyOwner {
        membership_id: p.membership_id,
        user: &p.user,
        role: p.role,
    };
    let request = ApiKeyRequest {
        name: form.name.trim().to_owned(),
        scopes: Some(scopes),
        expires_at,
    };
    let actor = p.actor(client.ip, client.user_agent);
    match create_key_in_store(
        &state.store,
        now,
        owner,
        p.credential_scopes,
        request,
        &actor,
    )
    .await
    {
        Ok((key, secret)) => {
            let messages = Messages {
                created: Some((&key, &secret)),
                ..Messages::default()
            };
            render_home(&state, &web, StatusCode::CREATED, messages).await
        }
        Err(CreateApiKeyError::Input(e)) => {
            let error = e.to_string();
            let messages = Messages {
                key_error: Some(&error),
                ..Messages::default()
            };
            render_home(&state, &web, StatusCode::BAD_REQUEST, messages).await
        }
        Err(CreateApiKeyError::UserDisabled) => {
            error_page(StatusCode::FORBIDDEN, "Your user is disabled.")
        }
        // Keys made with a session have no creating key; kept for completeness.
        Err(CreateApiKeyError::CreatorRevoked) => error_page(
            StatusCode::UNAUTHORIZED,
            "Your credential has ended. Sign in again.",
        ),
        Err(CreateApiKeyError::Store(_)) => error_page(
            StatusCode::SERVICE_UNAVAILABLE,
            "The service is temporarily unavailable.",
        ),
    }
}

/// Revokes one of the signed-in user's keys, and every key created with it.
pub async fn revoke_key(
    State(state): State<AppState>,
    headers: HeaderMap,
    client: ClientInfo,
    Path(id): Path<i64>,
    form: Result<Form<RevokeKeyForm>, FormRejection>,
) -> Response {
    let csrf = form.map(|Form(f)| f.csrf_token).unwrap_or_default();
    let web = match signed_in(&state, &headers, &csrf).await {
        Ok(web) => web,
        Err(response) => return response,
    };
    let p = &web.principal;
    let owned = match state.store.api_key_by_id(id).await {
        Ok(Some(key)) => key.user_id == p.user.id && key.account_id == p.account.id,
        Ok(None) => false,
        Err(_) => {
            return error_page(
                StatusCode::SERVICE_UNAVAILABLE,
                "The service is temporarily unavailable.",
            )
        }
    };
    if !owned {
        return error_page(StatusCode::NOT_FOUND, "No such API key.");
    }
    let now = state.clock.now();
    let audit = AuditEntry::new(
        now,
        &p.actor(client.ip, client.user_agent),
        AuditAction::ApiKeyRevoked,
        "api_key",
    );
    match state.store.revoke_api_key(id, now, audit).await {
        // The keys it created are revoked with it: drop them all from this server's cache.
        Ok(revoked) => state.invalidate(&revoked.invalidations()),
        Err(_) => {
            return error_page(
                StatusCode::SERVICE_UNAVAILABLE,
                "The service is temporarily unavailable.",
            )
        }
    }
    Redirect::to("/").into_response()
}
