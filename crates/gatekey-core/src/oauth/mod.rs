//! OAuth 2.0 (RFC 6749) as gatekey implements it, with the advice of RFC 9700: applications,
//! redirect URI rules, PKCE, grants and tokens. Protocol rules only; no HTTP, no SQL.

pub mod admin;
pub mod application;
pub mod application_tokens;
pub mod authentication_request;
pub mod authorize;
pub mod client_type;
pub mod consent;
pub mod device;
pub mod end_session;
pub mod exchange;
#[cfg(test)]
pub(crate) mod fixtures;
pub mod grant;
pub mod id_token;
pub mod identity_claims;
pub mod introspection;
pub mod jws;
pub mod jwt_access_token;
pub mod jwt_claims;
pub mod offline_access;
pub mod pkce;
pub mod post_logout_redirect_uri;
pub mod prompt;
pub mod redirect_uri;
pub mod resource_indicator;
pub mod revocation;
pub mod sign_in;
pub mod signing_key_material;
pub mod signing_key_rewrap;
pub mod signing_key_rotation;
pub mod signing_key_schedule;
pub mod signing_key_store;
pub mod store;
pub mod token;
