//! `POST /logout`: ends the session; `POST /logout/everywhere`: ends every session of the user,
//! in every account, this one included. Both are CSRF-checked, so another site cannot sign you
//! out, and both accept a session that must still change its password.

use axum::extract::rejection::FormRejection;
use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use gatekey_core::audit::{AuditAction, AuditEntry};
use gatekey_core::store::SessionStore;
use serde::Deserialize;

use super::csrf::tokens_match;
use super::layout::{cookie, error_page};
use crate::auth::session::{session_allowing_password_change, WebSession, SESSION_COOKIE};
use crate::auth::ClientInfo;
use crate::state::AppState;

/// The sign-out forms.
#[derive(Deserialize)]
pub struct LogoutForm {
    csrf_token: String,
}

fn unavailable() -> Response {
    error_page(
        StatusCode::SERVICE_UNAVAILABLE,
        "The service is temporarily unavailable.",
    )
}

/// The session of a sign-out form whose CSRF token matches, or the answer to give instead.
async fn checked_session(
    state: &AppState,
    headers: &HeaderMap,
    form: Result<Form<LogoutForm>, FormRejection>,
) -> Result<WebSession, Response> {
    let web = match session_allowing_password_change(state, headers).await {
        Ok(Some(web)) => web,
        Ok(None) => return Err(Redirect::to("/login").into_response()),
        Err(_) => return Err(unavailable()),
    };
    let submitted = form.map(|Form(f)| f.csrf_token).unwrap_or_default();
    if !tokens_match(&submitted, &web.session.csrf_token) {
        return Err(error_page(
            StatusCode::FORBIDDEN,
            "The form expired. Please go back and try again.",
        ));
    }
    Ok(web)
}

/// To the sign-in page, with the session cookie cleared.
fn signed_out(state: &AppState) -> Response {
    let mut response = Redirect::to("/login").into_response();
    response.headers_mut().append(
        header::SET_COOKIE,
        cookie(SESSION_COOKIE, "", "/", 0, state.secure_cookies()),
    );
    response
}

/// Deletes the session and its cookie.
pub async fn submit_logout(
    State(state): State<AppState>,
    headers: HeaderMap,
    client: ClientInfo,
    form: Result<Form<LogoutForm>, FormRejection>,
) -> Response {
    let web = match checked_session(&state, &headers, form).await {
        Ok(web) => web,
        Err(response) => return response,
    };
    let actor = web.principal.actor(client.ip, client.user_agent);
    let audit = AuditEntry::new(state.clock.now(), &actor, AuditAction::Logout, "session")
        .in_account(web.session.account_id)
        .target(web.session.id);
    if state
        .store
        .delete_session(web.session.id, audit)
        .await
        .is_err()
    {
        return unavailable();
    }
    signed_out(&state)
}

/// Deletes every session of the user ("sign out everywhere"), audited as `logout.everywhere`
/// in each of the user's accounts with the number of sessions ended.
pub async fn submit_logout_everywhere(
    State(state): State<AppState>,
    headers: HeaderMap,
    client: ClientInfo,
    form: Result<Form<LogoutForm>, FormRejection>,
) -> Response {
    let web = match checked_session(&state, &headers, form).await {
        Ok(web) => web,
        Err(response) => return response,
    };
    let actor = web.principal.actor(client.ip, client.user_agent);
    let audit = AuditEntry::new(
        state.clock.now(),
        &actor,
        AuditAction::LogoutEverywhere,
        "user",
    )
    .target(web.principal.user.id);
    if state
        .store
        .delete_user_sessions(web.principal.user.id, audit)
        .await
        .is_err()
    {
        return unavailable();
    }
    signed_out(&state)
}
