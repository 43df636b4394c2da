//! Forward authentication: a proxy in front of another API (nginx `auth_request`, Caddy
//! `forward_auth`, Traefik `forwardAuth`, Envoy `ext_authz`) asks `/auth/verify` about each
//! request, and passes it on with gatekey's identity headers, or refuses it with gatekey's
//! answer. See docs/gateway.md.

pub(crate) mod identity_headers;
mod original_request;
mod verify;

use axum::routing::any;
use axum::Router;

use crate::state::AppState;

pub use identity_headers::IDENTITY_HEADERS;

/// The forward-auth endpoint: `/auth/verify`, and `/auth/verify/{original path}` for Envoy's
/// `path_prefix`, with any method.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/auth/verify", any(verify::verify_request))
        .route("/auth/verify/{*original}", any(verify::verify_request))
}
