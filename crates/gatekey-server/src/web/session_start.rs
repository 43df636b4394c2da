//! Starting a web session once a person has proven who they are, by the sign-in form or by
//! creating their login from an invitation: the stored session with its audit event, and the
//! response that sets its cookie.

use axum::http::header;
use axum::response::{IntoResponse, Redirect, Response};
use gatekey_core::audit::AuditEntry;
use gatekey_core::secret::{Secret, SecretKind};
use gatekey_core::session::{Session, SESSION_TTL};
use gatekey_core::store::SessionStore;

use super::csrf::new_token;
use super::layout::cookie;
use super::page_error::PageError;
use crate::auth::session::SESSION_COOKIE;
use crate::state::AppState;

/// The double-submit CSRF cookie of the form that signed the person in, cleared once used.
pub struct SpentCsrfCookie {
    /// The cookie's name.
    pub name: &'static str,
    /// The path it was set for.
    pub path: &'static str,
}

/// Stores a new session of `user_id` acting in `account_id`, with `audit` (its
/// `login.succeeded` event) in the same write, and answers a redirect to `target` that sets
/// the session cookie and clears `spent`.
pub async fn start_session(
    state: &AppState,
    user_id: i64,
    account_id: i64,
    audit: AuditEntry,
    target: &str,
    spent: SpentCsrfCookie,
) -> Result<Response, PageError> {
    let now = state.clock.now();
    let secret = Secret::generate(SecretKind::Session);
    let session = Session {
        id: 0,
        hash: secret.hash(),
        user_id,
        account_id,
        csrf_token: new_token(),
        created_at: now,
        expires_at: now + SESSION_TTL,
        last_seen_at: now,
    };
    state.store.create_session(session, audit).await?;
    let secure = state.secure_cookies();
    let mut response = Redirect::to(target).into_response();
    let headers = response.headers_mut();
    headers.append(
        header::SET_COOKIE,
        cookie(
            SESSION_COOKIE,
            secret.expose(),
            "/",
            SESSION_TTL.whole_seconds(),
            secure,
        ),
    );
    headers.append(
        header::SET_COOKIE,
        cookie(spent.name, "", spent.path, 0, secure),
    );
    Ok(response)
}
