//! Checks gatekey credentials in a Rust resource server: an API that sits behind gatekey and
//! takes its API keys (`gk_key_…`) and OAuth access tokens, opaque (`gk_at_…`) or JWT
//! (RFC 9068).
//!
//! A [`Verifier`] is built from gatekey's issuer URL and the credentials of an application
//! with the `introspect` permission. It turns a Bearer credential into a [`Caller`]: the user,
//! the account, the effective scopes, the kind of credential and its expiry.
//!
//! - **API keys and opaque tokens** are checked by token introspection (RFC 7662). An active
//!   answer is reused for a few seconds ([`VerifierBuilder::introspection_ttl`], 5 s by
//!   default), keyed by the SHA-256 of the credential: a revoked key keeps working that long.
//! - **JWT access tokens** are verified offline against gatekey's JWKS when the resource
//!   server has an audience ([`VerifierBuilder::audience`], RFC 8707): signature (EdDSA,
//!   ES256 or RS256, the key's own algorithm), `typ: at+jwt`, `iss`, `aud`, `exp`, `iat`,
//!   `nbf`. The JWKS is kept, and fetched again when a token names an unknown `kid`, at most
//!   once per [`VerifierBuilder::jwks_refetch_floor`]. A verified token is kept until its
//!   `exp`, so a repeated one costs a hash and a lookup. **An offline verifier cannot see a
//!   revocation**: a revoked JWT works here until it expires (600 s by default). For the
//!   operations that must honour a revocation at once, call [`Verifier::introspect`].
//! - When gatekey cannot be reached, the request is refused with `503`, never let through and
//!   never answered `401`.
//!
//! In axum, put [`RequireCallerLayer`] on the routes, take [`Caller`] as an extractor, and
//! call [`Caller::require`] (or add [`require_scopes`]) for each operation:
//!
//! ```no_run
//! use axum::{routing::get, Router};
//! use gatekey_verify::{Caller, RequireCallerLayer, Verifier, VerifyError};
//!
//! async fn list_notes(caller: Caller) -> Result<String, VerifyError> {
//!     caller.require("notes:read")?;
//!     Ok(format!("the notes of account {}", caller.account.slug))
//! }
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let verifier = Verifier::builder("https://auth.example.com", "app_…", "gk_cs_…")
//!     .audience("https://notes.example.com")
//!     .build()?;
//! let app: Router = Router::new()
//!     .route("/notes", get(list_notes))
//!     .layer(RequireCallerLayer::new(verifier));
//! # Ok(()) }
//! ```
//!
//! Refusals are answered as RFC 6750 §3 says, with a body in gatekey's shape
//! `{"error","error_description"}`: `401` with `WWW-Authenticate: Bearer` when no credential
//! was sent, `401 invalid_token`, `403 insufficient_scope` naming the scope, `400
//! invalid_request` for a malformed `Authorization` header. No secret (the client secret, a
//! presented credential) ever appears in `Debug` output or in a log line.

#![warn(missing_docs)]

mod bearer;
mod builder;
mod cache;
mod caller;
mod clock;
mod discovery;
mod error;
mod extract;
mod introspection;
mod jwks;
mod jwt;
mod jwt_claims;
mod key_cache;
mod layer;
mod rejection;
mod require_scopes;
mod response_body;
mod secret;
mod verifier;

pub use bearer::bearer_credential;
pub use builder::{
    ConfigError, VerifierBuilder, DEFAULT_CACHE_CAPACITY, DEFAULT_HTTP_TIMEOUT,
    DEFAULT_INTROSPECTION_TTL, DEFAULT_JWKS_MAX_AGE, DEFAULT_JWKS_REFETCH_FLOOR, DEFAULT_LEEWAY,
};
pub use caller::{Caller, CallerAccount, CallerUser, CheckedBy, Credential, CredentialKind};
pub use clock::{Clock, SystemClock};
pub use error::{TokenRefusal, VerifyError};
pub use layer::{RequireCaller, RequireCallerLayer};
pub use require_scopes::{require_scopes, RequireScopes, RequireScopesLayer};
pub use secret::ClientSecret;
pub use verifier::Verifier;
