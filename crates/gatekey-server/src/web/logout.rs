//! `POST /logout`: ends the session (CSRF-checked, so another site cannot sign you out).

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
use crate::auth::session::{current_session, SESSION_COOKIE};
use crate::auth::ClientInfo;
use crate::state::AppState;

/// The sign-out form.
#[derive(Deserialize)]
pub struct LogoutForm {
    csrf_token: String,
}

/// Deletes the session and its cookie.
pub async fn submit_logout(
    State(state): State<AppState>,
    headers: HeaderMap,
    client: ClientInfo,
    form: Result<Form<LogoutForm>, FormRejection>,
) -> Response {
    let web = match current_session(&state, &headers).await {
        Ok(Some(web)) => web,
        Ok(None) => return Redirect::to("/login").into_response(),
        Err(_) => {
            return error_page(
                StatusCode::SERVICE_UNAVAILABLE,
                "The service is temporarily unavailable.",
            )
        }
    };
    let submitted = form.map(|Form(f)| f.csrf_token).unwrap_or_default();
    if !tokens_match(&submitted, &web.session.csrf_token) {
        return error_page(
            StatusCode::FORBIDDEN,
            "The form expired. Please go back and try again.",
        );
    }
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
        return error_page(
            StatusCode::SERVICE_UNAVAILABLE,
            "The service is temporarily unavailable.",
        );
    }
    let mut response = Redirect::to("/login").into_response();
    response.headers_mut().append(
        header::SET_COOKIE,
        cookie(SESSION_COOKIE, "", "/", 0, state.secure_cookies()),
    );
    response
}
