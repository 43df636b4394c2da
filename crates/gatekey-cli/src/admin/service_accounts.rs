//! `gatekey admin service-account create|list`.

use clap::{Args, Subcommand};
use gatekey_core::audit::Actor;
use gatekey_core::role::Role;
use gatekey_core::store::UserStore;
use gatekey_core::user::UserKind;
use gatekey_core::user_admin::create_service_account;
use gatekey_store::SqlStore;

use super::views::{MemberOutput, ServiceAccountList};
use super::{account, every_page, now};
use crate::output::Output;

#[derive(Debug, Subcommand)]
pub enum ServiceAccountCommand {
    /// Create a service account; prints its user id.
    Create(CreateArgs),
    /// List an account's service accounts.
    List(ListArgs),
}

/// `service-account create`.
#[derive(Debug, Args)]
pub struct CreateArgs {
    /// The account's slug.
    #[arg(long)]
    account: String,
    /// Display name, such as "nightly sync".
    #[arg(long)]
    name: String,
    /// Role in the account.
    #[arg(long, default_value = "member", value_parser = ["owner", "admin", "member", "viewer"])]
    role: String,
}

/// `service-account list`.
#[derive(Debug, Args)]
pub struct ListArgs {
    /// The account's slug.
    #[arg(long)]
    account: String,
}

pub async fn run(
    store: &SqlStore,
    out: Output,
    command: ServiceAccountCommand,
) -> anyhow::Result<()> {
    match command {
        ServiceAccountCommand::Create(args) => create(store, out, args).await,
        ServiceAccountCommand::List(args) => list(store, out, args).await,
    }
}

async fn create(store: &SqlStore, out: Output, args: CreateArgs) -> anyhow::Result<()> {
    let account = account(store, &args.account).await?;
    let role: Role = args.role.parse()?;
    let member =
        create_service_account(store, now(), &account, &args.name, role, &Actor::operator())
            .await?;
    out.print(&MemberOutput::new(&member, Some(&account.slug)), || {
        member.user.id.to_string()
    })
}

async fn list(store: &SqlStore, out: Output, args: ListArgs) -> anyhow::Result<()> {
    let account = account(store, &args.account).await?;
    let members =
        every_page(|page| store.list_members(Some(account.id), Some(UserKind::Service), page))
            .await?;
    let list = ServiceAccountList {
        service_accounts: members
            .iter()
            .map(|m| MemberOutput::new(m, Some(&account.slug)))
            .collect(),
    };
    out.print(&list, || {
        members
            .iter()
            .map(|m| {
                format!(
                    "{:>5}  {:<30} {}",
                    m.user.id, m.user.name, m.membership.role
                )
            })
            .collect::<Vec<_>>()
            .join("\n")
    })
}
