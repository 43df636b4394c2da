//! `POST /logout`: ends the session; `POST /logout/everywhere`: ends every session of the user,
//! in every account, this one included. Both are CSRF-checked, so another site cannot sign you
//! out, and both accept a session that must still change its password.

use axum::extract::{FromRequest, FromRequestParts, Request, State};
use axum::http::header;
use axum::response::{IntoResponse, Redirect, Response};
use gatekey_core::audit::{Actor, AuditAction, AuditEntry};
use gatekey_core::store::{SessionStore, StoreError};

use super::csrf_form::CsrfChecked;
use super::layout::cookie;
use super::page_error::PageError;
use super::signed_in::SignedInToChangePassword;
use crate::auth::session::{WebSession, SESSION_COOKIE};
use crate::auth::ClientInfo;
use crate::state::AppState;

/// A press of a sign-out button: the CSRF-checked session, and who pressed it, as the audit
/// records them.
pub struct SignOut {
    web: WebSession,
    actor: Actor,
}

impl FromRequest<AppState> for SignOut {
    type Rejection = PageError;

    async fn from_request(request: Request, state: &AppState) -> Result<Self, PageError> {
        let (mut parts, body) = request.into_parts();
        let Ok(client) = ClientInfo::from_request_parts(&mut parts, state).await;
        let request = Request::from_parts(parts, body);
        let CsrfChecked(SignedInToChangePassword(web)) =
            CsrfChecked::from_request(request, state).await?;
        let actor = web.principal.actor(client.ip, client.user_agent);
        Ok(Self { web, actor })
    }
}

/// Clears the session cookie on `response`.
pub fn clear_session_cookie(state: &AppState, response: &mut Response) {
    response.headers_mut().append(
        header::SET_COOKIE,
        cookie(SESSION_COOKIE, "", "/", 0, state.secure_cookies()),
    );
}

/// To the sign-in page, with the session cookie cleared.
fn signed_out(state: &AppState) -> Response {
    let mut response = Redirect::to("/login").into_response();
    clear_session_cookie(state, &mut response);
    response
}

/// Deletes `web`'s session as `actor` asked, audited as `logout`. Every way of signing out of
/// one session (the button, an application's logout request) ends it here; the caller clears
/// the cookie on its answer ([`clear_session_cookie`]).
pub async fn end_web_session(
    state: &AppState,
    web: &WebSession,
    actor: &Actor,
) -> Result<(), StoreError> {
    let audit = AuditEntry::new(state.clock.now(), actor, AuditAction::Logout, "session")
        .in_account(web.session.account_id)
        .target(web.session.id);
    state.store.delete_session(web.session.id, audit).await
}

/// Deletes the session and its cookie.
pub async fn submit_logout(
    State(state): State<AppState>,
    SignOut { web, actor }: SignOut,
) -> Result<Response, PageError> {
    end_web_session(&state, &web, &actor).await?;
    Ok(signed_out(&state))
}

/// Deletes every session of the user ("sign out everywhere"), audited as `logout.everywhere`
/// in each of the user's accounts with the number of sessions ended.
pub async fn submit_logout_everywhere(
    State(state): State<AppState>,
    SignOut { web, actor }: SignOut,
) -> Result<Response, PageError> {
    let audit = AuditEntry::new(
        state.clock.now(),
        &actor,
        AuditAction::LogoutEverywhere,
        "user",
    )
    .target(web.principal.user.id);
    state
        .store
        .delete_user_sessions(web.principal.user.id, audit)
        .await?;
    Ok(signed_out(&state))
}
