//! `gatekey admin account create|list`.

use anyhow::bail;
use clap::{Args, Subcommand};
use gatekey_core::account::{validate_name, validate_slug};
use gatekey_core::audit::{Actor, AuditAction, AuditEntry};
use gatekey_core::store::{AccountStore, StoreError};
use gatekey_store::SqlStore;

use super::now;
use super::views::{account_view, AccountList};
use crate::output::Output;

#[derive(Debug, Subcommand)]
pub enum AccountCommand {
    /// Create an account.
    Create(CreateArgs),
    /// List every account.
    List,
}

/// `account create`.
#[derive(Debug, Args)]
pub struct CreateArgs {
    /// Unique slug: 2 to 63 of a-z, 0-9 and '-'.
    #[arg(long)]
    slug: String,
    /// Display name.
    #[arg(long)]
    name: String,
}

pub async fn run(store: &SqlStore, out: Output, command: AccountCommand) -> anyhow::Result<()> {
    match command {
        AccountCommand::Create(args) => create_account(store, out, args).await,
        AccountCommand::List => list_accounts(store, out).await,
    }
}

async fn create_account(store: &SqlStore, out: Output, args: CreateArgs) -> anyhow::Result<()> {
    let CreateArgs { slug, name } = args;
    validate_slug(&slug)?;
    validate_name(&name)?;
    let at = now();
    let audit = AuditEntry::new(
        at,
        &Actor::operator(),
        AuditAction::AccountCreated,
        "account",
    );
    let account = match store.create_account(&slug, &name, at, audit).await {
        Err(StoreError::Conflict(_)) => bail!("an account with slug {slug:?} already exists"),
        other => other?,
    };
    out.print(&account_view(&account), || {
        format!(
            "created account {} ({}), id {}",
            account.slug, account.name, account.id
        )
    })
}

async fn list_accounts(store: &SqlStore, out: Output) -> anyhow::Result<()> {
    let accounts = store.list_accounts().await?;
    let list = AccountList {
        accounts: accounts.iter().map(account_view).collect(),
    };
    out.print(&list, || {
        accounts
            .iter()
            .map(|a| format!("{:>5}  {:<24} {}", a.id, a.slug, a.name))
            .collect::<Vec<_>>()
            .join("\n")
    })
}
