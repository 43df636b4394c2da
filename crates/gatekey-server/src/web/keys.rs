//! `POST /keys` and `POST /keys/{id}/revoke`: API key management from the home page.

use std::collections::HashMap;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use gatekey_core::api_key::ApiKeyRequest;
use gatekey_core::api_key_creation::{create_api_key as create_key_in_store, CreateApiKeyError};
use gatekey_core::audit::{AuditAction, AuditEntry};
use gatekey_core::store::ApiKeyStore;
use serde::Deserialize;

use super::csrf_form::{CsrfChecked, CsrfForm};
use super::home::{render_home, Messages};
use super::page_error::PageError;
use super::scope_boxes::ticked_scopes;
use super::signed_in::SignedIn;
use crate::auth::ClientInfo;
use crate::state::AppState;

/// The create-key form.
#[derive(Deserialize)]
pub struct CreateKeyForm {
    name: String,
    expires_in_days: Option<String>,
    /// The ticked `scope_<name>` boxes, among the other fields.
    #[serde(flatten)]
    boxes: HashMap<String, String>,
}

/// Creates a key and shows its secret once.
pub async fn create_key(
    State(state): State<AppState>,
    client: ClientInfo,
    form: CsrfForm<CreateKeyForm>,
) -> Result<Response, PageError> {
    let CsrfForm {
        signed_in: SignedIn(web),
        fields: form,
    } = form;
    let catalogue = state.scopes.catalogue(&state.store).await?;
    let scopes = match ticked_scopes(&form.boxes, &catalogue) {
        Ok(scopes) => scopes,
        Err(error) => {
            let error = error.to_string();
            let messages = Messages {
                key_error: Some(&error),
                ..Messages::default()
            };
            return render_home(&state, &web, StatusCode::BAD_REQUEST, messages).await;
        }
    };
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
    let owner = p.as_key_owner();
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
        p.credential_scopes.clone(),
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
        Err(CreateApiKeyError::UserDisabled) => Err(PageError::refused(
            StatusCode::FORBIDDEN,
            "Your user is disabled.",
        )),
        // Keys made with a session have no creating key; kept for completeness.
        Err(CreateApiKeyError::CreatorRevoked) => Err(PageError::refused(
            StatusCode::UNAUTHORIZED,
            "Your credential has ended. Sign in again.",
        )),
        Err(CreateApiKeyError::Store(error)) => Err(error.into()),
    }
}

/// Revokes one of the signed-in user's keys, and every key created with it.
pub async fn revoke_key(
    State(state): State<AppState>,
    client: ClientInfo,
    Path(id): Path<i64>,
    CsrfChecked(SignedIn(web)): CsrfChecked,
) -> Result<Response, PageError> {
    let p = &web.principal;
    let owned = state
        .store
        .api_key_by_id(id)
        .await?
        .is_some_and(|key| key.user_id == p.user.id && key.account_id == p.account.id);
    if !owned {
        return Err(PageError::refused(
            StatusCode::NOT_FOUND,
            "No such API key.",
        ));
    }
    let now = state.clock.now();
    let audit = AuditEntry::new(
        now,
        &p.actor(client.ip, client.user_agent),
        AuditAction::ApiKeyRevoked,
        "api_key",
    );
    state.store.revoke_api_key(id, now, audit).await?;
    Ok(Redirect::to("/").into_response())
}
