//! `gatekey admin …`: operator commands run straight on the database. Every change is audited
//! with the credential `operator`.

mod accounts;
mod api_key_roll;
mod api_keys;
mod apps;
mod scopes;
mod service_accounts;
mod signing_key_rewrap;
mod signing_keys;
mod users;
mod views;

use std::future::Future;

use anyhow::{anyhow, Context};
use clap::{Args, Subcommand};
use gatekey_core::account::Account;
use gatekey_core::page::{Page, PageRequest, MAX_PER_PAGE};
use gatekey_core::store::{AccountStore, UserStore};
use gatekey_core::user::{normalize_email, User};
use gatekey_server::ConfigOverrides;
use gatekey_store::SqlStore;

use crate::database_url::DatabaseUrl;
use crate::output::Output;
use crate::DatabaseArgs;

/// `gatekey admin` options.
#[derive(Debug, Args)]
pub struct AdminArgs {
    #[command(flatten)]
    database: DatabaseArgs,
    /// Print one JSON document on standard output.
    #[arg(long, global = true)]
    json: bool,
    /// Create the SQLite database if it does not exist (by default a missing file is an error,
    /// so that a mistyped path never yields a new, empty database).
    #[arg(long, global = true)]
    create_database: bool,
    #[command(subcommand)]
    command: AdminCommand,
}

#[derive(Debug, Subcommand)]
enum AdminCommand {
    /// Accounts.
    #[command(subcommand)]
    Account(accounts::AccountCommand),
    /// People and their memberships.
    #[command(subcommand)]
    User(users::UserCommand),
    /// Service accounts: users for applications.
    #[command(subcommand)]
    ServiceAccount(service_accounts::ServiceAccountCommand),
    /// API keys.
    #[command(subcommand)]
    ApiKey(api_keys::ApiKeyCommand),
    /// OAuth applications (clients) registered in an account.
    #[command(subcommand)]
    App(apps::AppCommand),
    /// The scope catalogue: the API's own scopes beside read, write and admin.
    #[command(subcommand)]
    Scope(scopes::ScopeCommand),
    /// The keys that sign tokens, and their rotation.
    #[command(subcommand)]
    SigningKey(signing_keys::SigningKeyCommand),
}

/// Runs an admin command.
pub async fn run(args: AdminArgs) -> anyhow::Result<()> {
    crate::init_logging("warn");
    let overrides = ConfigOverrides {
        database_url: args.database.database_url.map(DatabaseUrl::into_inner),
        ..ConfigOverrides::default()
    };
    let config = crate::load_config(args.database.config.as_deref(), &overrides)?;
    let store = if args.create_database {
        SqlStore::connect(&config.database_url).await
    } else {
        SqlStore::connect_existing(&config.database_url).await
    };
    let store = store.context("opening the database")?;
    let out = Output { json: args.json };
    let result = match args.command {
        AdminCommand::Account(command) => accounts::run(&store, out, command).await,
        AdminCommand::User(command) => users::run(&store, out, command).await,
        AdminCommand::ServiceAccount(command) => service_accounts::run(&store, out, command).await,
        AdminCommand::ApiKey(command) => api_keys::run(&store, out, command).await,
        AdminCommand::App(command) => apps::run(&store, out, command).await,
        AdminCommand::Scope(command) => scopes::run(&store, out, command).await,
        AdminCommand::SigningKey(command) => signing_keys::run(&store, &config, out, command).await,
    };
    store.close().await;
    result
}

/// The account with `slug`, or a clear refusal.
async fn account(store: &SqlStore, slug: &str) -> anyhow::Result<Account> {
    store
        .account_by_slug(slug)
        .await?
        .ok_or_else(|| anyhow!("no account with slug {slug:?}"))
}

/// The user with `email`, or a clear refusal.
async fn user(store: &SqlStore, email: &str) -> anyhow::Result<User> {
    let email = normalize_email(email)?;
    store
        .user_by_email(&email)
        .await?
        .ok_or_else(|| anyhow!("no user with email {email:?}"))
}

/// The time for operator changes.
fn now() -> time::OffsetDateTime {
    time::OffsetDateTime::now_utc()
}

/// Every item of a list the store returns page by page.
async fn every_page<T, E, F, Fut>(mut fetch: F) -> anyhow::Result<Vec<T>>
where
    F: FnMut(PageRequest) -> Fut,
    Fut: Future<Output = Result<Page<T>, E>>,
    E: std::error::Error + Send + Sync + 'static,
{
    let mut items = Vec::new();
    for page in 1.. {
        let found = fetch(PageRequest::new(Some(page), Some(MAX_PER_PAGE))?).await?;
        let last = found.items.len() < MAX_PER_PAGE as usize;
        items.extend(found.items);
        if last {
            break;
        }
    }
    Ok(items)
}
