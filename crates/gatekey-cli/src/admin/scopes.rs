//! `gatekey admin scope create|list|update|delete`: the scope catalogue, straight on the
//! database. Built-in scopes (`read`, `write`, `admin`) are listed but cannot be changed.

use clap::{Args, Subcommand};
use gatekey_core::audit::Actor;
use gatekey_core::role::RoleSet;
use gatekey_core::scope_admin::{
    create_catalogue_scope, delete_catalogue_scope, update_catalogue_scope, CatalogueInput,
};
use gatekey_core::scope_catalogue::{CatalogueChange, ScopeCatalogue, ScopeStore};
use gatekey_proto::scopes::ScopeView;
use gatekey_server::api::scope_views::{entry_view, scope_views};
use gatekey_store::SqlStore;
use serde::Serialize;

use super::now;
use crate::output::Output;

#[derive(Debug, Subcommand)]
pub enum ScopeCommand {
    /// Add a scope to the catalogue.
    Create(CreateArgs),
    /// List every scope: the built-in ones, then the catalogue.
    List,
    /// Change a catalogue scope's description, group or default roles.
    Update(UpdateArgs),
    /// Remove a scope from the catalogue. Keys, applications and grants keep its name, which
    /// stops being effective.
    Delete {
        /// The scope's name.
        name: String,
    },
}

/// `scope create`.
#[derive(Debug, Args)]
pub struct CreateArgs {
    /// The name: 1 to 64 printable ASCII characters but space, '"' and '\' (RFC 6749 §3.3).
    #[arg(long)]
    name: String,
    /// What it allows, shown on the consent page.
    #[arg(long)]
    description: String,
    /// A heading to list it under.
    #[arg(long)]
    group: Option<String>,
    /// A role that holds it by default (repeat for each); owner, admin and member when none.
    #[arg(long = "role", value_name = "ROLE")]
    roles: Vec<String>,
}

/// `scope update`.
#[derive(Debug, Args)]
pub struct UpdateArgs {
    /// The scope's name.
    name: String,
    /// A new description.
    #[arg(long)]
    description: Option<String>,
    /// A new group.
    #[arg(long, conflicts_with = "no_group")]
    group: Option<String>,
    /// Remove the group.
    #[arg(long)]
    no_group: bool,
    /// The roles that hold it by default from now on (repeat for each).
    #[arg(long = "role", value_name = "ROLE")]
    roles: Vec<String>,
}

/// What `scope list --json` prints.
#[derive(Serialize)]
struct ScopeListOutput {
    scopes: Vec<ScopeView>,
}

pub async fn run(store: &SqlStore, out: Output, command: ScopeCommand) -> anyhow::Result<()> {
    let actor = Actor::operator();
    match command {
        ScopeCommand::Create(args) => {
            let input = CatalogueInput {
                name: args.name,
                description: args.description,
                group: args.group,
                default_roles: roles(&args.roles)?,
            };
            let created = create_catalogue_scope(store, now(), input, &actor, None).await;
            let created = created?;
            out.print(&entry_view(&created), || {
                format!(
                    "created scope {} for roles {}",
                    created.name, created.default_roles
                )
            })
        }
        ScopeCommand::List => list_scopes(store, out).await,
        ScopeCommand::Update(args) => {
            let change = CatalogueChange {
                description: args.description,
                group: match (args.group, args.no_group) {
                    (Some(group), _) => Some(Some(group)),
                    (None, true) => Some(None),
                    (None, false) => None,
                },
                default_roles: roles(&args.roles)?,
            };
            let updated =
                update_catalogue_scope(store, now(), &args.name, change, &actor, None).await?;
            out.print(&entry_view(&updated), || {
                format!(
                    "updated scope {} (roles {})",
                    updated.name, updated.default_roles
                )
            })
        }
        ScopeCommand::Delete { name } => {
            delete_catalogue_scope(store, now(), &name, &actor, None).await?;
            out.print(&serde_json::json!({ "deleted": name }), || {
                format!("deleted scope {name}; credentials that carry it keep it, without effect")
            })
        }
    }
}

/// The roles named, or `None` when none were.
fn roles(names: &[String]) -> anyhow::Result<Option<RoleSet>> {
    if names.is_empty() {
        return Ok(None);
    }
    Ok(Some(RoleSet::from_names(names)?))
}

async fn list_scopes(store: &SqlStore, out: Output) -> anyhow::Result<()> {
    let catalogue = ScopeCatalogue::new(store.scope_catalogue().await?);
    let scopes = scope_views(&catalogue);
    out.print(
        &ScopeListOutput {
            scopes: scopes.clone(),
        },
        || {
            scopes
                .iter()
                .map(|s| {
                    format!(
                        "{:<24} {:<28} {:<12} {}",
                        s.name,
                        s.roles.join(","),
                        s.group
                            .as_deref()
                            .unwrap_or(if s.builtin { "(built-in)" } else { "" }),
                        s.description
                    )
                })
                .collect::<Vec<_>>()
                .join("\n")
        },
    )
}
