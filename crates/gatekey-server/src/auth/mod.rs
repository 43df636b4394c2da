//! Authentication of API requests: Bearer API keys and OAuth access tokens (RFC 6750) and web
//! sessions, resolved to a principal once per request by [`require_caller`], then checked per
//! handler with [`Caller::require`].

pub mod access_token;
pub mod api_key;
pub mod cache;
pub mod caller;
pub mod client;
pub mod refusals;
pub mod session;

pub use caller::{require_caller, Caller};
pub use client::ClientInfo;
