//! `POST /account`: a user who belongs to several accounts switches the one the session acts in.

use axum::extract::rejection::FormRejection;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use gatekey_core::store::{SessionStore, UserStore};
use serde::Deserialize;

use super::csrf::tokens_match;
use super::layout::error_page;
use crate::auth::session::current_session;
use crate::state::AppState;

/// The account-switch form.
#[derive(Deserialize)]
pub struct SwitchAccountForm {
    csrf_token: String,
    account: String,
}

/// Switches the session to another of the user's accounts.
pub async fn switch_account(
    State(state): State<AppState>,
    headers: HeaderMap,
    form: Result<Form<SwitchAccountForm>, FormRejection>,
) -> Response {
    let Ok(Form(form)) = form else {
        return error_page(StatusCode::BAD_REQUEST, "The form was incomplete.");
    };
    let web = match current_session(&state, &headers).await {
        Ok(Some(web)) if tokens_match(&form.csrf_token, &web.session.csrf_token) => web,
        Ok(Some(_)) => {
            return error_page(
                StatusCode::FORBIDDEN,
                "The form expired. Please go back and try again.",
            )
        }
        Ok(None) => return Redirect::to("/login").into_response(),
        Err(_) => {
            return error_page(
                StatusCode::SERVICE_UNAVAILABLE,
                "The service is temporarily unavailable.",
            )
        }
    };
    let memberships = match state.store.memberships_of(web.principal.user.id).await {
        Ok(memberships) => memberships,
        Err(_) => {
            return error_page(
                StatusCode::SERVICE_UNAVAILABLE,
                "The service is temporarily unavailable.",
            )
        }
    };
    let Some((_, account)) = memberships
        .iter()
        .find(|(_, account)| account.slug == form.account)
    else {
        return error_page(
            StatusCode::NOT_FOUND,
            "You are not a member of that account.",
        );
    };
    if state
        .store
        .switch_session_account(web.session.id, account.id)
        .await
        .is_err()
    {
        return error_page(
            StatusCode::SERVICE_UNAVAILABLE,
            "The service is temporarily unavailable.",
        );
    }
    Redirect::to("/").into_response()
}
