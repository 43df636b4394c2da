//! `POST /keys/{id}/roll`: a new secret for one of the signed-in user's keys, shown once, the
//! old one working for the grace chosen on the form ([`super::key_rows::roll_form`]).

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use gatekey_core::api_key_roll::{roll_api_key, RollApiKeyError, RollGrace};
use gatekey_core::store::ApiKeyStore;
use serde::Deserialize;

use super::csrf_form::CsrfForm;
use super::home::{render_home, Messages};
use super::key_rows::GRACES;
use super::page_error::PageError;
use super::signed_in::SignedIn;
use crate::auth::ClientInfo;
use crate::state::AppState;

/// The roll form.
#[derive(Deserialize)]
pub struct RollKeyForm {
    grace_seconds: String,
}

/// Rolls one of the signed-in user's keys and shows the new secret once.
pub async fn roll_key(
    State(state): State<AppState>,
    client: ClientInfo,
    Path(id): Path<i64>,
    form: CsrfForm<RollKeyForm>,
) -> Result<Response, PageError> {
    let CsrfForm {
        signed_in: SignedIn(web),
        fields: form,
    } = form;
    let p = &web.principal;
    let Some(key) = state
        .store
        .api_key_by_id(id)
        .await?
        .filter(|key| key.user_id == p.user.id && key.account_id == p.account.id)
    else {
        return Err(PageError::refused(
            StatusCode::NOT_FOUND,
            "No such API key.",
        ));
    };
    let grace = form
        .grace_seconds
        .parse::<i64>()
        .ok()
        .filter(|seconds| GRACES.iter().any(|(offered, _)| offered == seconds))
        .and_then(|seconds| RollGrace::from_seconds(seconds).ok());
    let Some(grace) = grace else {
        let messages = Messages {
            key_error: Some("Choose how long the old secret works from the list."),
            ..Messages::default()
        };
        return render_home(&state, &web, StatusCode::BAD_REQUEST, messages).await;
    };
    let actor = p.actor(client.ip, client.user_agent);
    let now = state.clock.now();
    match roll_api_key(&state.store, now, &key, &p.user, grace, None, &actor).await {
        Ok((rolled, secret)) => {
            let messages = Messages {
                rolled: Some((&rolled, &secret)),
                ..Messages::default()
            };
            render_home(&state, &web, StatusCode::OK, messages).await
        }
        Err(RollApiKeyError::Store(error)) => Err(error.into()),
        Err(RollApiKeyError::NotFound) => Err(PageError::refused(
            StatusCode::NOT_FOUND,
            "No such API key.",
        )),
        Err(refused) => Err(PageError::refused(
            StatusCode::CONFLICT,
            format!("This key cannot be rolled: {refused}."),
        )),
    }
}
