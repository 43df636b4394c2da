//! `GET /oauth/jwks`: the public signing keys as a JWK Set (RFC 7517 §5), the `jwks_uri` of the
//! metadata document (RFC 8414 §2). Served from memory; verifiers may cache it for
//! `signing.jwks_max_age` seconds, which is shorter than the time a new key is published before
//! it signs, so a cached set always holds the key of any token a verifier receives.

use axum::extract::State;
use axum::http::header::{CACHE_CONTROL, CONTENT_TYPE};
use axum::response::IntoResponse;
use axum::routing::get;
use axum::Router;

use crate::state::AppState;

/// The JWKS endpoint's routes.
pub fn routes() -> Router<AppState> {
    Router::new().route("/oauth/jwks", get(show_jwks))
}

/// `GET /oauth/jwks`.
async fn show_jwks(State(state): State<AppState>) -> impl IntoResponse {
    let loaded = state.signing_keys.loaded();
    (
        [
            (CONTENT_TYPE, "application/json".to_owned()),
            (
                CACHE_CONTROL,
                format!("public, max-age={}", state.config.signing.jwks_max_age),
            ),
        ],
        loaded.jwks.clone(),
    )
}
