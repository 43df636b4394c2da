//! Web sessions: the `gatekey_session` cookie, checked against the database on every request
//! (web traffic is light, and a logout or a disabled user then takes effect at once).
//!
//! A session ends at its absolute expiry or after `session.idle_timeout` without use
//! ([`check_session`]); its last use is written at most once a minute. A user who must change
//! their password (the first-run owner) has a session that [`current_session`] does not
//! return: only the change-password page and sign-out, which ask for
//! [`session_allowing_password_change`], accept it, so every other page and API call refuses it
//! without having to know about the rule.

use std::sync::Arc;

use axum::http::{header, HeaderMap};
use gatekey_core::account::Account;
use gatekey_core::audit::CredentialRef;
use gatekey_core::principal::Principal;
use gatekey_core::scope::ScopeSet;
use gatekey_core::secret::{Secret, SecretKind};
use gatekey_core::session::{check_session, Session, SessionCheck};
use gatekey_core::store::{AccountStore, SessionStore, StoreError, UserStore};

use crate::state::AppState;

/// The session cookie's name.
pub const SESSION_COOKIE: &str = "gatekey_session";

/// The value of cookie `name`, if the request carries it.
pub fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(key, _)| *key == name)
        .map(|(_, value)| value)
}

/// A signed-in web user.
#[derive(Debug, Clone)]
pub struct WebSession {
    /// The stored session.
    pub session: Session,
    /// The caller as a principal (credential `session`, every scope the role allows).
    pub principal: Principal,
}

impl WebSession {
    /// Whether the user must change their password before doing anything else.
    pub fn password_change_required(&self) -> bool {
        self.principal.user.must_change_password
    }
}

/// The session the request's cookie names, if it is valid, its user still active, and not
/// waiting for a password change.
pub async fn current_session(
    state: &AppState,
    headers: &HeaderMap,
) -> Result<Option<WebSession>, StoreError> {
    Ok(session_allowing_password_change(state, headers)
        .await?
        .filter(|web| !web.password_change_required()))
}

/// Whether the request carries a valid session that may do nothing until the password is
/// changed; for answering such a request with a clear refusal rather than "not signed in".
pub async fn password_change_pending(
    state: &AppState,
    headers: &HeaderMap,
) -> Result<bool, StoreError> {
    Ok(session_allowing_password_change(state, headers)
        .await?
        .is_some_and(|web| web.password_change_required()))
}

/// The session the request's cookie names, if it is valid and its user still active, even when
/// the password must be changed first. Only the change-password page and sign-out use it.
pub async fn session_allowing_password_change(
    state: &AppState,
    headers: &HeaderMap,
) -> Result<Option<WebSession>, StoreError> {
    let Some(presented) = cookie(headers, SESSION_COOKIE) else {
        return Ok(None);
    };
    let Ok(secret) = Secret::parse(SecretKind::Session, presented) else {
        return Ok(None);
    };
    let Some(session) = state.store.session_by_hash(&secret.hash()).await? else {
        return Ok(None);
    };
    let now = state.clock.now();
    match check_session(&session, now, state.config.session.idle_timeout()) {
        SessionCheck::Live { touch: true } => {
            // Bookkeeping, not a check: if the write fails the request still proceeds, and
            // should writes keep failing the session ends at the idle timeout (the safe side).
            if let Err(error) = state.store.touch_session(session.id, now).await {
                tracing::warn!(%error, "cannot record a session's last use");
            }
        }
        SessionCheck::Live { touch: false } => {}
        SessionCheck::Expired | SessionCheck::Idle => return Ok(None),
    }
    let Some(member) = state
        .store
        .member(session.account_id, session.user_id)
        .await?
    else {
        return Ok(None);
    };
    if member.user.is_disabled() {
        return Ok(None);
    }
    let account: Account = state
        .store
        .account_by_id(session.account_id)
        .await?
        .ok_or(StoreError::NotFound)?;
    let role_scopes = state
        .role_scopes(account.id, member.membership.role)
        .await?;
    let principal = Principal {
        user: Arc::new(member.user),
        account: Arc::new(account),
        membership_id: member.membership.id,
        role: member.membership.role,
        // A session carries every scope; what the role holds limits it.
        credential_scopes: ScopeSet::ALL.union(&role_scopes),
        role_scopes,
        credential: CredentialRef::Session,
        expires_at: Some(session.expires_at),
    };
    Ok(Some(WebSession { session, principal }))
}
