//! CSRF-checked forms, as extractors. Every signed-in form echoes its session's CSRF token in a
//! `csrf_token` field; the extractor reads the form, finds the session and compares the token
//! in constant time ([`tokens_match`]) before the handler runs, then admits the user (an
//! administrator check, say) only once the form is known to come from our own page.
//!
//! Two shapes, as the forms have always answered: a form with fields ([`CsrfForm`]) must be
//! complete, token included, or it is refused before the session is looked at; a button that
//! sends its token alone ([`CsrfChecked`]) treats a missing or unreadable token as a wrong one.

use axum::extract::{FromRequest, RawForm, Request};
use axum::http::HeaderMap;
use serde::de::DeserializeOwned;
use serde::Deserialize;

use super::csrf::tokens_match;
use super::page_error::PageError;
use super::signed_in::{session_for, SignedIn, SignedInAs};
use crate::auth::session::WebSession;
use crate::state::AppState;

/// A complete form `F` from the signed-in user `W`, its CSRF token checked.
#[derive(Debug)]
pub struct CsrfForm<F, W = SignedIn> {
    /// Who sent it.
    pub signed_in: W,
    /// The form's other fields.
    pub fields: F,
}

/// A form that sends its CSRF token alone (a button), checked, from the signed-in user `W`.
#[derive(Debug)]
pub struct CsrfChecked<W = SignedIn>(pub W);

/// The field every signed-in form carries.
#[derive(Deserialize)]
struct CsrfField {
    csrf_token: String,
}

/// `W`'s session, if `submitted` is its CSRF token; the user is admitted only then.
pub async fn checked_session<W: SignedInAs>(
    state: &AppState,
    headers: &HeaderMap,
    submitted: &str,
) -> Result<W, PageError> {
    let web = session_for::<W>(state, headers).await?;
    W::admit(with_csrf_token(web, submitted)?)
}

/// `web`, if `submitted` is its CSRF token.
pub fn with_csrf_token(web: WebSession, submitted: &str) -> Result<WebSession, PageError> {
    if tokens_match(submitted, &web.session.csrf_token) {
        Ok(web)
    } else {
        Err(PageError::FormExpired)
    }
}

impl<F, W> FromRequest<AppState> for CsrfForm<F, W>
where
    F: DeserializeOwned + Send,
    W: SignedInAs + Send,
{
    type Rejection = PageError;

    async fn from_request(request: Request, state: &AppState) -> Result<Self, PageError> {
        let headers = request.headers().clone();
        let RawForm(body) = RawForm::from_request(request, state)
            .await
            .map_err(|_| PageError::IncompleteForm)?;
        let fields: F =
            serde_urlencoded::from_bytes(&body).map_err(|_| PageError::IncompleteForm)?;
        let CsrfField { csrf_token } =
            serde_urlencoded::from_bytes(&body).map_err(|_| PageError::IncompleteForm)?;
        let signed_in = checked_session(state, &headers, &csrf_token).await?;
        Ok(Self { signed_in, fields })
    }
}

impl<W> FromRequest<AppState> for CsrfChecked<W>
where
    W: SignedInAs + Send,
{
    type Rejection = PageError;

    async fn from_request(request: Request, state: &AppState) -> Result<Self, PageError> {
        let headers = request.headers().clone();
        let submitted = match RawForm::from_request(request, state).await {
            Ok(RawForm(body)) => serde_urlencoded::from_bytes::<CsrfField>(&body)
                .map(|field| field.csrf_token)
                .unwrap_or_default(),
            Err(_) => String::new(),
        };
        Ok(Self(checked_session(state, &headers, &submitted).await?))
    }
}
