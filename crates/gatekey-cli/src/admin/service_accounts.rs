//! `gatekey admin service-account create|list`.

use clap::Subcommand;
use gatekey_core::audit::Actor;
use gatekey_core::page::{PageRequest, MAX_PER_PAGE};
use gatekey_core::role::Role;
use gatekey_core::store::UserStore;
use gatekey_core::user::UserKind;
use gatekey_core::user_admin::create_service_account;
use gatekey_store::SqlStore;
use serde_json::json;

use super::users::member_json;
use super::{account, now};
use crate::output::Output;

#[derive(Debug, Subcommand)]
pub enum ServiceAccountCommand {
    /// Create a service account; prints its user id.
    Create {
        /// The account's slug.
        #[arg(long)]
        account: String,
        /// Display name, such as "nightly sync".
        #[arg(long)]
        name: String,
        /// Role in the account.
        #[arg(long, default_value = "member", value_parser = ["owner", "admin", "member", "viewer"])]
        role: String,
    },
    /// List an account's service accounts.
    List {
        /// The account's slug.
        #[arg(long)]
        account: String,
    },
}

pub async fn run(
    store: &SqlStore,
    out: Output,
    command: ServiceAccountCommand,
) -> anyhow::Result<()> {
    match command {
        ServiceAccountCommand::Create {
            account: slug,
            name,
            role,
        } => {
            let account = account(store, &slug).await?;
            let role: Role = role.parse()?;
            let member =
                create_service_account(store, now(), &account, &name, role, &Actor::operator())
                    .await?;
            out.print(&member_json(&member, Some(&account.slug)), || {
                member.user.id.to_string()
            })
        }
        ServiceAccountCommand::List { account: slug } => {
            let account = account(store, &slug).await?;
            let request = PageRequest::new(Some(1), Some(MAX_PER_PAGE))?;
            let found = store
                .list_members(Some(account.id), Some(UserKind::Service), request)
                .await?;
            let rows: Vec<_> = found
                .items
                .iter()
                .map(|m| member_json(m, Some(&account.slug)))
                .collect();
            out.print(&json!({ "service_accounts": rows }), || {
                found
                    .items
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
    }
}
