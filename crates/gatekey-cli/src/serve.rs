//! `gatekey serve`.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context;
use gatekey_core::SystemClock;
use gatekey_server::bootstrap::bootstrap_if_empty;
use gatekey_server::ConfigOverrides;
use gatekey_store::SqlStore;

use crate::database_url::DatabaseUrl;

/// `gatekey serve` options. `Debug` hides the database password.
#[derive(Debug, clap::Args)]
pub struct ServeArgs {
    /// Configuration file (TOML).
    #[arg(long, env = "GATEKEY_CONFIG")]
    config: Option<PathBuf>,
    /// Address to listen on [default: 127.0.0.1:8080].
    #[arg(long)]
    listen: Option<SocketAddr>,
    /// Database URL [default: sqlite://gatekey-data/gatekey.db].
    #[arg(long)]
    database_url: Option<DatabaseUrl>,
    /// Public base URL [default: http:// + the listen address].
    #[arg(long)]
    issuer: Option<String>,
}

/// Runs the server until Ctrl-C or SIGTERM.
pub async fn run(args: ServeArgs) -> anyhow::Result<()> {
    crate::init_logging("info");
    let overrides = ConfigOverrides {
        listen: args.listen,
        database_url: args.database_url.map(DatabaseUrl::into_inner),
        issuer: args.issuer,
    };
    let config = crate::load_config(args.config.as_deref(), &overrides)?;
    let store = SqlStore::connect(&config.database_url)
        .await
        .context("opening the database")?;
    let clock = Arc::new(SystemClock);
    let email = std::env::var("GATEKEY_BOOTSTRAP_EMAIL")
        .ok()
        .filter(|v| !v.is_empty());
    let password = std::env::var("GATEKEY_BOOTSTRAP_PASSWORD")
        .ok()
        .filter(|v| !v.is_empty());
    let bootstrapped = bootstrap_if_empty(&store, clock.as_ref(), email, password)
        .await
        .context("first run")?;
    let mut server = gatekey_server::serve::start_with_store(store, config, clock).await?;
    let login_url = format!("{}/login", server.state.issuer);
    if let Some(first) = bootstrapped {
        if first.finished_interrupted {
            println!(
                "gatekey: first run: the account \"default\" had no owner (an earlier first run stopped); created its owner {}",
                first.email
            );
        } else {
            println!(
                "gatekey: first run: created the account \"default\" and its owner {}",
                first.email
            );
        }
        match first.generated_password {
            Some(password) => println!("gatekey: one-time password: {password}  (shown only now; sign in at {login_url})"),
            None => println!("gatekey: the owner's password is the one in GATEKEY_BOOTSTRAP_PASSWORD; sign in at {login_url}"),
        }
    }
    println!(
        "gatekey: listening on {} ({} database)",
        server.url(),
        server.state.store.backend()
    );
    tracing::info!(addr = %server.addr, "listening");
    if let Some(operations) = server.operations_addr {
        println!("gatekey: /metrics, /healthz and /readyz on http://{operations}");
    }
    let stopped_by_signal = tokio::select! {
        result = server.wait() => {
            result.context("server failed")?;
            false
        }
        () = shutdown_signal() => true,
    };
    if stopped_by_signal {
        tracing::info!("shutting down");
        server.shutdown().await.context("shutting down")?;
    }
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
}
