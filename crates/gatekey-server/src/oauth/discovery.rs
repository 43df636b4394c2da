//! `GET /.well-known/oauth-authorization-server` (RFC 8414) and
//! `GET /.well-known/openid-configuration` (OpenID Connect Discovery 1.0 §4), served from
//! memory. Both documents are rendered once per scope catalogue: a request compares the cached
//! catalogue (itself kept in memory by [`crate::scope_cache`], and replaced when the catalogue
//! changes) with the one they were rendered from, and sends the stored bytes. So a request
//! reads no database unless the catalogue changed or its cache lifetime ran out.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::header::CONTENT_TYPE;
use axum::response::IntoResponse;
use axum::routing::get;
use axum::Router;

use super::discovery_documents::Rendered;
use super::error::OAuthError;
use crate::state::AppState;

/// The discovery routes.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route(
            "/.well-known/oauth-authorization-server",
            get(show_oauth_metadata),
        )
        .route(
            "/.well-known/openid-configuration",
            get(show_openid_configuration),
        )
}

async fn documents(state: &AppState) -> Result<Arc<Rendered>, OAuthError> {
    let catalogue = state.scopes.catalogue(&state.store).await?;
    Ok(state.discovery.for_catalogue(&state.issuer, catalogue))
}

fn json(body: Bytes) -> impl IntoResponse {
    ([(CONTENT_TYPE, "application/json")], body)
}

/// `GET /.well-known/oauth-authorization-server`.
async fn show_oauth_metadata(
    State(state): State<AppState>,
) -> Result<impl IntoResponse, OAuthError> {
    Ok(json(documents(&state).await?.oauth.clone()))
}

/// `GET /.well-known/openid-configuration`.
async fn show_openid_configuration(
    State(state): State<AppState>,
) -> Result<impl IntoResponse, OAuthError> {
    Ok(json(documents(&state).await?.openid.clone()))
}
