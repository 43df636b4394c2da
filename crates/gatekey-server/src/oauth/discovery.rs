//! `GET /.well-known/oauth-authorization-server` (RFC 8414) and
//! `GET /.well-known/openid-configuration` (OpenID Connect Discovery 1.0 §4), served from
//! memory. Both documents are rendered once per scope catalogue: a request compares the cached
//! catalogue (itself kept in memory by [`crate::scope_cache`], and replaced when the catalogue
//! changes) with the one they were rendered from, and sends the stored bytes. So a request
//! reads no database unless the catalogue changed or its cache lifetime ran out.

use std::sync::{Arc, Mutex, PoisonError};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::header::CONTENT_TYPE;
use axum::response::IntoResponse;
use axum::routing::get;
use axum::Router;
use gatekey_core::scope_catalogue::ScopeCatalogue;

use super::error::OAuthError;
use super::metadata::{metadata, openid_configuration};
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

/// Both documents, serialized, for one catalogue.
#[derive(Debug)]
struct Rendered {
    catalogue: Arc<ScopeCatalogue>,
    oauth: Bytes,
    openid: Bytes,
}

/// The documents of the last catalogue seen.
#[derive(Debug, Default)]
pub struct DiscoveryDocuments {
    rendered: Mutex<Option<Arc<Rendered>>>,
}

impl DiscoveryDocuments {
    /// The documents for `catalogue` at `issuer`: the stored ones when they were rendered from
    /// this very catalogue, else rendered now and stored.
    fn for_catalogue(&self, issuer: &str, catalogue: Arc<ScopeCatalogue>) -> Arc<Rendered> {
        let mut slot = self.rendered.lock().unwrap_or_else(PoisonError::into_inner);
        let rendered = match slot.as_ref() {
            Some(rendered) if Arc::ptr_eq(&rendered.catalogue, &catalogue) => {
                return rendered.clone()
            }
            // The catalogue was read again but has not changed: same documents.
            Some(rendered) if rendered.catalogue == catalogue => Arc::new(Rendered {
                catalogue,
                oauth: rendered.oauth.clone(),
                openid: rendered.openid.clone(),
            }),
            _ => {
                let scopes = catalogue.supported_scopes();
                Arc::new(Rendered {
                    oauth: to_bytes(&metadata(issuer, &scopes)),
                    openid: to_bytes(&openid_configuration(issuer, &scopes)),
                    catalogue,
                })
            }
        };
        *slot = Some(rendered.clone());
        rendered
    }
}

fn to_bytes(document: &impl serde::Serialize) -> Bytes {
    // Serializing plain strings, lists and booleans cannot fail.
    Bytes::from(serde_json::to_vec(document).unwrap_or_default())
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
