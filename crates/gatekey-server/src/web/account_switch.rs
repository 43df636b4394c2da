//! `POST /account`: a user who belongs to several accounts switches the one the session acts in.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use gatekey_core::store::{SessionStore, UserStore};
use serde::Deserialize;

use super::csrf_form::CsrfForm;
use super::page_error::PageError;
use super::signed_in::SignedIn;
use crate::state::AppState;

/// The account-switch form.
#[derive(Deserialize)]
pub struct SwitchAccountForm {
    account: String,
}

/// Switches the session to another of the user's accounts.
pub async fn switch_account(
    State(state): State<AppState>,
    form: CsrfForm<SwitchAccountForm>,
) -> Result<Response, PageError> {
    let CsrfForm {
        signed_in: SignedIn(web),
        fields: form,
    } = form;
    let memberships = state.store.memberships_of(web.principal.user.id).await?;
    let Some((_, account)) = memberships
        .iter()
        .find(|(_, account)| account.slug == form.account)
    else {
        return Err(PageError::refused(
            StatusCode::NOT_FOUND,
            "You are not a member of that account.",
        ));
    };
    state
        .store
        .switch_session_account(web.session.id, account.id)
        .await?;
    Ok(Redirect::to("/").into_response())
}
