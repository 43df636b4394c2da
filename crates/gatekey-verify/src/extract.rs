//! [`Caller`] as an axum extractor. It takes the caller [`crate::RequireCallerLayer`] put in
//! the request's extensions; without that layer, it checks the request itself with a
//! [`Verifier`] found in the extensions (`.layer(Extension(verifier))`). With neither, the
//! route is misconfigured, and the request is refused with `503`, never let through.
//!
//! `Option<Caller>` is for routes that also serve anonymous requests: `None` when no Bearer
//! credential was sent, and the same refusals as `Caller` for a credential that is bad.

use axum::extract::{FromRequestParts, OptionalFromRequestParts};
use axum::http::request::Parts;

use crate::{Caller, Verifier, VerifyError};

impl<S: Send + Sync> FromRequestParts<S> for Caller {
    type Rejection = VerifyError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        caller_of_request(parts).await
    }
}

impl<S: Send + Sync> OptionalFromRequestParts<S> for Caller {
    type Rejection = VerifyError;

    async fn from_request_parts(
        parts: &mut Parts,
        _state: &S,
    ) -> Result<Option<Self>, Self::Rejection> {
        match caller_of_request(parts).await {
            Ok(caller) => Ok(Some(caller)),
            Err(VerifyError::Missing) => Ok(None),
            Err(refused) => Err(refused),
        }
    }
}

/// The caller of the request `parts`: from the extensions, or checked now (and kept there).
pub(crate) async fn caller_of_request(parts: &mut Parts) -> Result<Caller, VerifyError> {
    if let Some(caller) = parts.extensions.get::<Caller>() {
        return Ok(caller.clone());
    }
    let Some(verifier) = parts.extensions.get::<Verifier>().cloned() else {
        return Err(VerifyError::Unavailable(
            "the route has neither RequireCallerLayer nor a Verifier extension".into(),
        ));
    };
    let caller = verifier.verify_headers(&parts.headers).await?;
    parts.extensions.insert(caller.clone());
    Ok(caller)
}
