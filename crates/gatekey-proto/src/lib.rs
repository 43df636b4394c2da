//! Wire types of gatekey's HTTP API, shared by the server and the client. Serde only, no I/O.

#![warn(missing_docs)]

pub mod api;
pub mod error;
pub mod invitation;
pub mod key_usage;
pub mod oauth;
pub mod pkce;
mod redacted;
#[cfg(feature = "openapi")]
pub mod schema_values;
pub mod scopes;

pub use error::ErrorBody;
