//! `gatekey admin app create|list|show|update|rotate-secret|delete`: OAuth applications.
//!
//! The operator acts with an owner's authority: any service account of the application's
//! account may be linked.

mod create;
mod grants;
mod text;
mod token_settings;
mod update;

use anyhow::anyhow;
use clap::{Args, Subcommand};
use gatekey_core::audit::Actor;
use gatekey_core::oauth::admin::{
    delete_application, rotate_secret, Registrar, SECRET_ROTATION_GRACE,
};
use gatekey_core::oauth::application::Application;
use gatekey_core::oauth::store::ApplicationStore;
use gatekey_core::role::Role;
use gatekey_core::store::AccountStore;
use gatekey_store::SqlStore;

use super::views::{ApplicationList, ApplicationOutput, ApplicationWithSecret, DeletedApplication};
use super::{account, every_page, now};
use crate::output::Output;

/// The grant type names `--grant-type` accepts.
const GRANT_TYPES: [&str; 4] = [
    "authorization_code",
    "refresh_token",
    "client_credentials",
    "urn:ietf:params:oauth:grant-type:device_code",
];

#[derive(Debug, Subcommand)]
pub enum AppCommand {
    /// Register an application; prints its client id, and a confidential client's secret once.
    Create(create::CreateArgs),
    /// List an account's applications.
    List(ListArgs),
    /// Show one application.
    Show(ClientIdArgs),
    /// Change an application; options not given stay as they are.
    Update(update::UpdateArgs),
    /// Give a confidential application a new secret; the old one works for 24 more hours.
    RotateSecret(ClientIdArgs),
    /// Delete an application: every grant and token of it is revoked.
    Delete(ClientIdArgs),
}

/// `app list`.
#[derive(Debug, Args)]
pub struct ListArgs {
    /// The account's slug.
    #[arg(long)]
    account: String,
}

/// `app show`, `app rotate-secret` and `app delete`.
#[derive(Debug, Args)]
pub struct ClientIdArgs {
    /// The application's client id.
    client_id: String,
}

pub async fn run(store: &SqlStore, out: Output, command: AppCommand) -> anyhow::Result<()> {
    match command {
        AppCommand::Create(args) => create::create_app(store, out, args).await,
        AppCommand::List(args) => list_apps(store, out, args).await,
        AppCommand::Show(args) => show_app(store, out, args).await,
        AppCommand::Update(args) => update::update_app(store, out, args).await,
        AppCommand::RotateSecret(args) => rotate_app_secret(store, out, args).await,
        AppCommand::Delete(args) => delete_app(store, out, args).await,
    }
}

/// The operator registers and changes applications with an owner's authority.
fn operator(actor: &Actor) -> Registrar<'_> {
    Registrar {
        role: Role::Owner,
        actor,
    }
}

/// The live application with `client_id` and its account's slug, or a clear refusal.
async fn find(store: &SqlStore, client_id: &str) -> anyhow::Result<(Application, String)> {
    let app = store
        .application_by_client_id(client_id)
        .await?
        .ok_or_else(|| anyhow!("no application with client id {client_id:?}"))?;
    let slug = store
        .account_by_id(app.account_id)
        .await?
        .map(|a| a.slug)
        .ok_or_else(|| anyhow!("the account of {client_id:?} no longer exists"))?;
    Ok((app, slug))
}

async fn list_apps(store: &SqlStore, out: Output, args: ListArgs) -> anyhow::Result<()> {
    let account = account(store, &args.account).await?;
    let apps = every_page(|page| store.list_applications(account.id, page)).await?;
    let list = ApplicationList {
        applications: apps
            .iter()
            .map(|a| ApplicationOutput::new(a, &account.slug))
            .collect(),
        total: apps.len(),
    };
    out.print(&list, || text::app_rows(&apps, &account.slug))
}

async fn show_app(store: &SqlStore, out: Output, args: ClientIdArgs) -> anyhow::Result<()> {
    let (app, slug) = find(store, &args.client_id).await?;
    out.print(&ApplicationOutput::new(&app, &slug), || {
        text::app_text(&app, &slug)
    })
}

async fn rotate_app_secret(
    store: &SqlStore,
    out: Output,
    args: ClientIdArgs,
) -> anyhow::Result<()> {
    let (app, slug) = find(store, &args.client_id).await?;
    let actor = Actor::operator();
    let (rotated, secret) = rotate_secret(store, now(), &app, operator(&actor)).await?;
    let body = ApplicationWithSecret {
        application: ApplicationOutput::new(&rotated, &slug),
        client_secret: Some(secret.expose().to_owned()),
    };
    out.print(&body, || {
        format!(
            "rotated the secret of {}; the previous secret works for {} more hours\n\
             client_secret: {}\nThis secret is shown only once.",
            rotated.client_id,
            SECRET_ROTATION_GRACE.whole_hours(),
            secret.expose()
        )
    })
}

async fn delete_app(store: &SqlStore, out: Output, args: ClientIdArgs) -> anyhow::Result<()> {
    let (app, slug) = find(store, &args.client_id).await?;
    delete_application(store, now(), &app, &Actor::operator()).await?;
    let deleted = DeletedApplication {
        client_id: app.client_id.clone(),
        account: slug,
        deleted: true,
    };
    out.print(&deleted, || {
        format!(
            "deleted application {} ({}); its grants and tokens are revoked",
            app.client_id, app.name
        )
    })
}
