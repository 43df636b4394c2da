//! What a page answers when it cannot do what was asked. Handlers and the session extractors
//! pass a [`PageError`] up with `?`; its one [`IntoResponse`] renders the error page and is the
//! one place a storage failure is logged, so none is logged twice and none is dropped unseen.

use std::borrow::Cow;

use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use gatekey_core::store::StoreError;

use super::layout::error_page;
use crate::error::STORAGE_RETRY_AFTER;
use crate::metrics::StorageFailure;
use crate::password_hashing::{HashingRefused, BUSY_RETRY_AFTER};

/// Why a page was not shown or a form not carried out.
#[derive(Debug, thiserror::Error)]
pub enum PageError {
    /// The request has no usable session: sign in, then come back to `next` (a path on this
    /// server) when one is given.
    #[error("not signed in")]
    NotSignedIn {
        /// Where to go after signing in.
        next: Option<String>,
    },
    /// The form's body could not be read as the form the page sends.
    #[error("the form could not be read")]
    IncompleteForm,
    /// The form's CSRF token is not the session's: an old page, or another site's form.
    #[error("the form's CSRF token is not the session's")]
    FormExpired,
    /// A refusal the page explains in `message`.
    #[error("{message}")]
    Refused {
        /// The status to answer.
        status: StatusCode,
        /// What the page says.
        message: Cow<'static, str>,
    },
    /// The database failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The password could not be checked now (too many checks were running or waiting).
    #[error(transparent)]
    Busy(#[from] HashingRefused),
}

impl PageError {
    /// A refusal with `status`, explained by `message`.
    pub fn refused(status: StatusCode, message: impl Into<Cow<'static, str>>) -> Self {
        Self::Refused {
            status,
            message: message.into(),
        }
    }

    /// For a visitor without a session, comes back to `next` after signing in; any other error
    /// is left as it is.
    pub fn returning_to(self, next: &str) -> Self {
        match self {
            Self::NotSignedIn { .. } => Self::NotSignedIn {
                next: Some(next.to_owned()),
            },
            other => other,
        }
    }
}

/// The page answering a storage failure: 503 with `Retry-After`, marked [`StorageFailure`] so
/// that the metrics count it under its route. The caller logs the failure.
pub fn storage_failure_page() -> Response {
    let mut response = error_page(
        StatusCode::SERVICE_UNAVAILABLE,
        "The service is temporarily unavailable. Please try again.",
    );
    response
        .headers_mut()
        .insert(header::RETRY_AFTER, STORAGE_RETRY_AFTER.into());
    response.extensions_mut().insert(StorageFailure);
    response
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        match self {
            Self::NotSignedIn { next: None } => Redirect::to("/login").into_response(),
            Self::NotSignedIn { next: Some(next) } => {
                let next: String = url::form_urlencoded::byte_serialize(next.as_bytes()).collect();
                Redirect::to(&format!("/login?next={next}")).into_response()
            }
            Self::IncompleteForm => error_page(StatusCode::BAD_REQUEST, "The form was incomplete."),
            Self::FormExpired => error_page(
                StatusCode::FORBIDDEN,
                "The form expired. Please go back and try again.",
            ),
            Self::Refused { status, message } => error_page(status, &message),
            Self::Store(error) => {
                tracing::error!(%error, "storage failure on a web page");
                storage_failure_page()
            }
            Self::Busy(refused) => {
                tracing::warn!(%refused, "password check refused");
                let mut response = error_page(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "The service is busy. Please try again in a moment.",
                );
                response
                    .headers_mut()
                    .insert(header::RETRY_AFTER, BUSY_RETRY_AFTER.into());
                response
            }
        }
    }
}
