//! `gatekey admin account create|list`.

use anyhow::bail;
use clap::Subcommand;
use gatekey_core::account::{validate_name, validate_slug};
use gatekey_core::audit::{Actor, AuditAction, AuditEntry};
use gatekey_core::store::{AccountStore, StoreError};
use gatekey_store::SqlStore;
use serde_json::json;

use super::now;
use crate::output::Output;

#[derive(Debug, Subcommand)]
pub enum AccountCommand {
    /// Create an account.
    Create {
        /// Unique slug: 2 to 63 of a-z, 0-9 and '-'.
        #[arg(long)]
        slug: String,
        /// Display name.
        #[arg(long)]
        name: String,
    },
    /// List every account.
    List,
}

pub async fn run(store: &SqlStore, out: Output, command: AccountCommand) -> anyhow::Result<()> {
    match command {
        AccountCommand::Create { slug, name } => {
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
                Err(StoreError::Conflict(_)) => {
                    bail!("an account with slug {slug:?} already exists")
                }
                other => other?,
            };
            out.print(
                &json!({"id": account.id, "slug": account.slug, "name": account.name}),
                || {
                    format!(
                        "created account {} ({}), id {}",
                        account.slug, account.name, account.id
                    )
                },
            )
        }
        AccountCommand::List => {
            let accounts = store.list_accounts().await?;
            let rows: Vec<_> = accounts
                .iter()
                .map(|a| json!({"id": a.id, "slug": a.slug, "name": a.name}))
                .collect();
            out.print(&json!({ "accounts": rows }), || {
                accounts
                    .iter()
                    .map(|a| format!("{:>5}  {:<24} {}", a.id, a.slug, a.name))
                    .collect::<Vec<_>>()
                    .join("\n")
            })
        }
    }
}
