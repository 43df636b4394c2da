//! Who is signed in, as extractors: a page names the session it needs among its handler's
//! arguments and never reads the cookie itself. Without a usable session the answer is
//! [`PageError::NotSignedIn`] (to the sign-in page); a failed lookup is [`PageError::Store`].
//!
//! Forms are checked by [`CsrfForm`](super::csrf_form::CsrfForm), which finds the session the
//! same way ([`SignedInAs`]) and admits the user only once the form's token is the session's.

use axum::extract::{FromRequestParts, OptionalFromRequestParts};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode};
use gatekey_core::scope::Scope;

use super::page_error::PageError;
use crate::auth::session::{current_session, session_allowing_password_change, WebSession};
use crate::state::AppState;

/// A signed-in user whose session may use every page (it need not change its password first).
#[derive(Debug, Clone)]
pub struct SignedIn(pub WebSession);

/// A signed-in user, even one who must change their password before anything else: for the
/// change-password page and sign-out only.
#[derive(Debug, Clone)]
pub struct SignedInToChangePassword(pub WebSession);

/// A signed-in administrator of the session's account.
#[derive(Debug, Clone)]
pub struct SignedInAdmin(pub WebSession);

/// What a kind of signed-in user requires of a session.
pub trait SignedInAs: Sized {
    /// Whether a session that must change its password first will do.
    const ALLOWS_PENDING_PASSWORD_CHANGE: bool;

    /// Admits the session's user, or says why not.
    fn admit(web: WebSession) -> Result<Self, PageError>;
}

impl SignedInAs for SignedIn {
    const ALLOWS_PENDING_PASSWORD_CHANGE: bool = false;

    fn admit(web: WebSession) -> Result<Self, PageError> {
        Ok(Self(web))
    }
}

impl SignedInAs for SignedInToChangePassword {
    const ALLOWS_PENDING_PASSWORD_CHANGE: bool = true;

    fn admit(web: WebSession) -> Result<Self, PageError> {
        Ok(Self(web))
    }
}

impl SignedInAs for SignedInAdmin {
    const ALLOWS_PENDING_PASSWORD_CHANGE: bool = false;

    fn admit(web: WebSession) -> Result<Self, PageError> {
        if web.principal.may(Scope::Admin) {
            Ok(Self(web))
        } else {
            Err(PageError::refused(
                StatusCode::FORBIDDEN,
                "Only administrators of this account may do that.",
            ))
        }
    }
}

/// The session the request's cookie names, as kind `W` finds it (not yet admitted).
pub async fn session_for<W: SignedInAs>(
    state: &AppState,
    headers: &HeaderMap,
) -> Result<WebSession, PageError> {
    let found = if W::ALLOWS_PENDING_PASSWORD_CHANGE {
        session_allowing_password_change(state, headers).await?
    } else {
        current_session(state, headers).await?
    };
    found.ok_or(PageError::NotSignedIn { next: None })
}

/// For pages that show something else to a visitor without a session; a failed lookup is still
/// an error, not "signed out".
impl OptionalFromRequestParts<AppState> for SignedIn {
    type Rejection = PageError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Option<Self>, PageError> {
        Ok(current_session(state, &parts.headers).await?.map(Self))
    }
}

/// Finds and admits the session as kind `W` requires: the whole of each kind's extractor below
/// (axum's trait cannot be implemented once for every kind, so each kind has its own impl).
async fn signed_in_as<W: SignedInAs>(parts: &Parts, state: &AppState) -> Result<W, PageError> {
    W::admit(session_for::<W>(state, &parts.headers).await?)
}

impl FromRequestParts<AppState> for SignedIn {
    type Rejection = PageError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, PageError> {
        signed_in_as(parts, state).await
    }
}

impl FromRequestParts<AppState> for SignedInToChangePassword {
    type Rejection = PageError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, PageError> {
        signed_in_as(parts, state).await
    }
}

impl FromRequestParts<AppState> for SignedInAdmin {
    type Rejection = PageError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, PageError> {
        signed_in_as(parts, state).await
    }
}
