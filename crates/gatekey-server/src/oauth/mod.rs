//! The OAuth 2.0 endpoints: discovery (RFC 8414, OpenID Connect Discovery 1.0), authorization
//! (RFC 6749 §4.1, RFC 7636, RFC 9207), the token endpoint (one file per grant type),
//! revocation (RFC 7009), introspection (RFC 7662), UserInfo (OpenID Connect Core 1.0 §5.3),
//! RP-Initiated Logout (OpenID Connect RP-Initiated Logout 1.0),
//! and the pages where users consent and manage their applications.

pub(crate) mod application_cache;
mod approval;
mod authorize;
mod authorized_applications;
pub(crate) mod client_auth;
mod client_request;
mod consent_page;
mod device_authorization;
pub(crate) mod device_codes_per_address;
mod device_page;
pub(crate) mod device_request_limit;
mod discovery;
pub(crate) mod discovery_documents;
mod end_session;
mod error;
pub(crate) mod form;
mod grants;
mod introspect;
mod jwks;
mod metadata;
mod revoke;
pub(crate) mod service_account_cache;
mod token;
mod userinfo;

use axum::Router;

pub use grants::revoke_application_for;

use crate::state::AppState;

/// The OAuth routes.
pub fn routes() -> Router<AppState> {
    Router::new()
        .merge(discovery::routes())
        .merge(jwks::routes())
        .merge(authorize::routes())
        .merge(authorized_applications::routes())
        .merge(device_page::routes())
        .merge(device_authorization::routes())
        .merge(token::routes())
        .merge(revoke::routes())
        .merge(introspect::routes())
        .merge(userinfo::routes())
        .merge(end_session::routes())
}
