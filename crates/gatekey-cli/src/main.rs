//! The `gatekey` command: `serve`, the operator's `admin …` commands, and the user's
//! `login`, `token`, `api`, `status` and `logout`.

mod admin;
mod database_url;
mod output;
mod serve;
mod user;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use crate::database_url::DatabaseUrl;

/// gatekey: API keys, service accounts and audit for your API.
#[derive(Debug, Parser)]
#[command(name = "gatekey", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the server (SQLite in ./gatekey-data by default; no configuration needed).
    Serve(serve::ServeArgs),
    /// Operator commands, run directly on the database (also while a server runs).
    Admin(admin::AdminArgs),
    /// Sign in to a server (browser or device flow) and save the tokens for the commands below.
    Login(user::LoginArgs),
    /// Print a valid access token, renewing it when needed.
    Token(user::ConnectionArgs),
    /// Call the REST API, such as `gatekey api /api/v1/me`.
    Api(user::ApiArgs),
    /// Show who you are signed in as, where, and until when (`--json` for one JSON document).
    Status(user::StatusArgs),
    /// Revoke the tokens at the server and forget them.
    Logout(user::ConnectionArgs),
}

/// Options every command that opens the database takes. `Debug` hides the database password.
#[derive(Debug, Clone, clap::Args)]
pub struct DatabaseArgs {
    /// Configuration file (TOML).
    #[arg(long, global = true, env = "GATEKEY_CONFIG")]
    config: Option<PathBuf>,
    /// Database URL: sqlite://PATH or postgres://… (overrides the configuration).
    #[arg(long, global = true)]
    database_url: Option<DatabaseUrl>,
}

/// The server allocates and frees small buffers at every request from several threads, where
/// the system allocator spent about a fifth of the token endpoint's instructions.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("gatekey: cannot start the async runtime: {error}");
            return ExitCode::from(1);
        }
    };
    let result = runtime.block_on(async {
        match cli.command {
            Command::Serve(args) => serve::run(args).await,
            Command::Admin(args) => admin::run(args).await,
            Command::Login(args) => user::run_login(args).await,
            Command::Token(args) => user::run_token(args).await,
            Command::Api(args) => user::run_api(args).await,
            Command::Status(args) => user::run_status(args).await,
            Command::Logout(args) => user::run_logout(args).await,
        }
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("gatekey: {}", one_line(&error));
            ExitCode::from(1)
        }
    }
}

/// An error and its causes on one line.
fn one_line(error: &anyhow::Error) -> String {
    error
        .chain()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(": ")
        .replace('\n', " ")
}

/// Loads the configuration, and warns in one line on standard error about `GATEKEY_*`
/// variables that are not configuration keys (they are ignored).
pub fn load_config(
    file: Option<&std::path::Path>,
    overrides: &gatekey_server::ConfigOverrides,
) -> anyhow::Result<gatekey_server::Config> {
    let (config, ignored) = gatekey_server::Config::load_reporting(file, overrides)?;
    if !ignored.is_empty() {
        eprintln!("gatekey: warning: {ignored}");
    }
    Ok(config)
}

/// Starts logging to standard error; `GATEKEY_LOG` (or `RUST_LOG`) overrides `default`.
pub fn init_logging(default: &str) {
    let filter = std::env::var("GATEKEY_LOG")
        .or_else(|_| std::env::var("RUST_LOG"))
        .unwrap_or_else(|_| default.to_owned());
    let _ = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::new(filter))
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .try_init();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_output_hides_database_passwords_and_connection_strings() {
        for args in [
            vec![
                "gatekey",
                "serve",
                "--database-url",
                "postgres://gatekey:s3cret-pw@db/gatekey",
            ],
            vec![
                "gatekey",
                "admin",
                "account",
                "list",
                "--database-url",
                "postgres://gatekey:s3cret-pw@db/gatekey",
            ],
            vec![
                "gatekey",
                "token",
                "--connection",
                "Server=https://auth.example;ApiKey=s3cret-pw",
            ],
        ] {
            let cli = Cli::try_parse_from(&args).expect("valid arguments");
            let debug = format!("{cli:?}");
            assert!(!debug.contains("s3cret-pw"), "{debug}");
            assert!(
                debug.contains("redacted") || debug.contains("***"),
                "{debug}"
            );
        }
    }
}
