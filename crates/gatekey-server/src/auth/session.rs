//! Web sessions: the `gatekey_session` cookie, checked against the database on every request
//! (web traffic is light, and a logout or a disabled user then takes effect at once).

use std::sync::Arc;

use axum::http::{header, HeaderMap};
use gatekey_core::account::Account;
use gatekey_core::audit::CredentialRef;
use gatekey_core::principal::Principal;
use gatekey_core::scope::ScopeSet;
use gatekey_core::secret::{Secret, SecretKind};
use gatekey_core::session::Session;
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

/// The session the request's cookie names, if it is valid and its user still active.
pub async fn current_session(
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
    if session.expires_at <= state.clock.now() {
        return Ok(None);
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
    let principal = Principal {
        user: Arc::new(member.user),
        account: Arc::new(account),
        membership_id: member.membership.id,
        role: member.membership.role,
        credential: CredentialRef::Session,
        credential_scopes: ScopeSet::ALL,
        expires_at: Some(session.expires_at),
    };
    Ok(Some(WebSession { session, principal }))
}
