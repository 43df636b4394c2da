//! The user's commands: `login`, `token`, `api`, `status`, `logout`. They talk to a server
//! over HTTP through `gatekey-client`, with tokens cached per server under the user's
//! configuration folder.

mod api;
mod login;
mod logout;
mod saved;
mod status;
mod token;

use anyhow::{bail, Context};
use clap::Args;
use gatekey_client::{ApiClient, ConnectionOptions};

pub use api::ApiArgs;
pub use login::LoginArgs;
pub use status::StatusArgs;

/// How the user commands find their connection. `Debug` hides the connection string, which
/// may hold secrets.
#[derive(Clone, Args)]
pub struct ConnectionArgs {
    /// A connection string (`Server=…;AuthenticationMethod=…;…`) instead of a saved login.
    #[arg(long, env = "GATEKEY_CONNECTION", hide_env_values = true)]
    connection: Option<String>,
    /// The server of a saved login (default: the one logged in to last).
    #[arg(long)]
    server: Option<String>,
}

impl std::fmt::Debug for ConnectionArgs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConnectionArgs")
            .field(
                "connection",
                &self.connection.as_ref().map(|_| "<redacted>"),
            )
            .field("server", &self.server)
            .finish()
    }
}

impl ConnectionArgs {
    /// The client for this connection: the connection string, or the saved login with its
    /// token cache.
    pub(crate) fn client(&self) -> anyhow::Result<ApiClient> {
        Ok(ApiClient::new(self.options()?)?)
    }

    fn options(&self) -> anyhow::Result<ConnectionOptions> {
        if let Some(connection) = &self.connection {
            return connection
                .parse()
                .context("the connection string (--connection or GATEKEY_CONNECTION)");
        }
        let saved = saved::Logins::load()?;
        let Some(login) = saved.find(self.server.as_deref()) else {
            match &self.server {
                Some(server) => bail!(
                    "not logged in to {server}: run gatekey login --server {server} --client-id ID"
                ),
                None => bail!("not logged in: run gatekey login --server URL --client-id ID"),
            }
        };
        if !login.cache.exists() {
            bail!(
                "the tokens of {} are gone: run gatekey login --server {} --client-id {}",
                login.server,
                login.server,
                login.client_id
            );
        }
        login.options()
    }
}

/// Runs a user command.
pub async fn run_login(args: LoginArgs) -> anyhow::Result<()> {
    login::run(args).await
}

/// `gatekey token`.
pub async fn run_token(args: ConnectionArgs) -> anyhow::Result<()> {
    token::run(args).await
}

/// `gatekey api …`.
pub async fn run_api(args: ApiArgs) -> anyhow::Result<()> {
    api::run(args).await
}

/// `gatekey status`.
pub async fn run_status(args: StatusArgs) -> anyhow::Result<()> {
    status::run(args).await
}

/// `gatekey logout`.
pub async fn run_logout(args: ConnectionArgs) -> anyhow::Result<()> {
    logout::run(args).await
}
