//! `gatekey login`: sign in through the browser (PKCE) or the device flow, and save the
//! tokens for the other commands.

use anyhow::Context;
use clap::Args;
use gatekey_client::{ApiClient, AuthenticationMethod, ConnectionOptions};
use gatekey_proto::api::MeResponse;

use super::saved::{cache_path, Login, Logins};

/// `gatekey login` options.
#[derive(Debug, Clone, Args)]
pub struct LoginArgs {
    /// The gatekey server (its issuer URL).
    #[arg(long)]
    server: String,
    /// The client id of a public application that allows the device or code flow.
    #[arg(long)]
    client_id: String,
    /// Show a code to type on another device (the default when no browser can be opened).
    #[arg(long, conflicts_with = "browser")]
    device: bool,
    /// Sign in in this machine's browser, redirected back to a loopback port.
    #[arg(long)]
    browser: bool,
    /// The scopes to ask for, space-separated (default: all the application allows).
    #[arg(long)]
    scope: Option<String>,
}

/// Whether a browser can be opened here: a desktop session on Linux, always elsewhere.
fn browser_available() -> bool {
    if cfg!(any(target_os = "macos", target_os = "windows")) {
        return true;
    }
    ["DISPLAY", "WAYLAND_DISPLAY"]
        .iter()
        .any(|v| std::env::var_os(v).is_some_and(|v| !v.is_empty()))
}

pub async fn run(args: LoginArgs) -> anyhow::Result<()> {
    let server = args.server.trim_end_matches('/').to_owned();
    let method = if args.device || (!args.browser && !browser_available()) {
        AuthenticationMethod::DeviceCode
    } else {
        AuthenticationMethod::Pkce
    };
    let login = Login {
        server: server.clone(),
        client_id: args.client_id.clone(),
        method: method.to_string(),
        scope: args.scope.clone(),
        cache: cache_path(&server)?,
    };
    let options: ConnectionOptions = login.options()?;
    let client = ApiClient::new(options)?;
    let tokens = client.login().await?;
    Logins::load()?.save(&login)?;
    let me: MeResponse = client
        .get("/api/v1/me")
        .await
        .context("logged in, but /api/v1/me failed")?;
    eprintln!(
        "Logged in to {server} as {} in {} (scopes: {}).",
        me.user.email,
        me.account.slug,
        tokens.scope().unwrap_or("")
    );
    Ok(())
}
