//! The inputs of a request to an endpoint where the client authenticates (token, revocation,
//! introspection, device authorization; RFC 6749 §2.3): where it came from, its headers and
//! its form. Extracted in one piece so every such handler takes the same one argument, and
//! authenticated by one call, at the point the endpoint's rules put it.

use axum::extract::{FromRequest, Request};
use axum::http::HeaderMap;

use super::client_auth::{authenticate_client, AuthenticatedClient};
use super::error::OAuthError;
use super::form::OAuthForm;
use crate::auth::ClientInfo;
use crate::state::AppState;

/// A client's request: its origin, headers and form, not yet authenticated.
pub struct ClientRequest {
    /// Where the request came from.
    pub origin: ClientInfo,
    /// The request's headers (the `Authorization` header carries Basic credentials).
    pub headers: HeaderMap,
    /// The request's form.
    pub form: OAuthForm,
}

impl ClientRequest {
    /// Authenticates the client that sent this request (see [`authenticate_client`]).
    pub async fn authenticate(&self, state: &AppState) -> Result<AuthenticatedClient, OAuthError> {
        authenticate_client(state, &self.origin, &self.headers, &self.form).await
    }
}

impl FromRequest<AppState> for ClientRequest {
    type Rejection = OAuthError;

    async fn from_request(request: Request, state: &AppState) -> Result<Self, Self::Rejection> {
        let (parts, body) = request.into_parts();
        let origin = ClientInfo::of(&parts, &state.config.http);
        let headers = parts.headers.clone();
        let form = OAuthForm::from_request(Request::from_parts(parts, body), state).await?;
        Ok(Self {
            origin,
            headers,
            form,
        })
    }
}
