//! Client library for gatekey's REST API.
//!
//! For now it authenticates with an API key and maps the server's error bodies into typed
//! errors; the OAuth flows and the token lifecycle arrive with the OAuth server.
//!
//! ```no_run
//! # async fn example() -> Result<(), gatekey_client::ClientError> {
//! let client = gatekey_client::ApiClient::with_api_key("http://127.0.0.1:8080", "gk_key_…")?;
//! let me: gatekey_proto::api::MeResponse = client.get("/api/v1/me").await?;
//! println!("{} in {}", me.user.email, me.account.slug);
//! # Ok(())
//! # }
//! ```

mod client;
mod command;
pub mod connection;
mod error;

pub use client::ApiClient;
pub use command::{CommandError, CommandToken, TokenCommand};
pub use connection::{
    AuthenticationMethod, ConnectionError, ConnectionOptions, ConnectionOptionsBuilder,
};
pub use error::ClientError;
