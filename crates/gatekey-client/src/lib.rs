//! The client side of gatekey: a connection described by options (a connection string or a
//! builder), tokens obtained by any of the OAuth 2.0 flows or handed in from outside and
//! replaced before they expire, and an API client on top.
//!
//! ```no_run
//! # async fn example() -> Result<(), gatekey_client::ClientError> {
//! use gatekey_client::ApiClient;
//!
//! let options = "Server=http://127.0.0.1:8080;AuthenticationMethod=ClientCredentials;\
//!                ClientId=app_1;ClientSecret={gk_cs_2}".parse()?;
//! let client = ApiClient::builder(options)
//!     .on_tokens(|tokens| eprintln!("new token, expires {:?}", tokens.expires_at()))
//!     .build()?;
//! let me: gatekey_proto::api::MeResponse = client.get("/api/v1/me").await?;
//! println!("{} in {}", me.user.email, me.account.slug);
//! # Ok(())
//! # }
//! ```
//!
//! See `docs/client.md` in the repository for every method and option.

#![warn(missing_docs)]

mod client;
mod command;
pub mod connection;
mod error;
mod id_token;
mod identity;
mod interaction;
mod metadata;
mod oauth;
mod retry;
mod session;
mod token_cache;
mod tokens;

pub use client::{ApiClient, ApiClientBuilder};
pub use command::{CommandError, CommandToken, TokenCommand};
pub use connection::{
    AuthenticationMethod, ConnectionError, ConnectionOptions, ConnectionOptionsBuilder,
};
pub use error::ClientError;
pub use id_token::IdTokenError;
pub use identity::Identity;
pub use interaction::{DevicePrompt, Interaction, TerminalInteraction};
pub use reqwest::Method;
pub use secrecy::{ExposeSecret, SecretString};
pub use session::TokenCallback;
pub use tokens::TokenSet;
