//! `gatekey admin app update`.

use anyhow::bail;
use clap::Args;
use gatekey_core::audit::Actor;
use gatekey_core::oauth::admin::{
    set_introspect_all_accounts, update_application, ApplicationChanges,
};
use gatekey_core::scope_catalogue::{ScopeCatalogue, ScopeStore};
use gatekey_store::SqlStore;

use super::grants::GrantArgs;
use super::token_settings::TokenSettingsArgs;
use super::{find, operator, text};
use crate::admin::now;
use crate::admin::views::ApplicationOutput;
use crate::output::Output;

/// `app update`.
#[derive(Debug, Args)]
pub struct UpdateArgs {
    /// The application's client id.
    client_id: String,
    /// New display name.
    #[arg(long)]
    name: Option<String>,
    #[command(flatten)]
    grants: GrantArgs,
    #[command(flatten)]
    tokens: TokenSettingsArgs,
    /// Replaces the scopes (space-separated).
    #[arg(long)]
    scope: Option<String>,
    /// Grant the introspection permission.
    #[arg(long, conflicts_with = "no_introspect")]
    introspect: bool,
    /// Take the introspection permission away.
    #[arg(long)]
    no_introspect: bool,
    /// Let the introspection permission reach every account's tokens and API keys, not only the
    /// application's own account's (operator-only; implies --introspect).
    #[arg(
        long,
        conflicts_with_all = ["no_introspect_all_accounts", "no_introspect"]
    )]
    introspect_all_accounts: bool,
    /// Limit introspection to the application's own account again.
    #[arg(long)]
    no_introspect_all_accounts: bool,
    /// Grant the permission to verify the account's API keys.
    #[arg(long, conflicts_with = "no_verify_keys")]
    verify_keys: bool,
    /// Take the permission to verify API keys away.
    #[arg(long)]
    no_verify_keys: bool,
    /// Allow the implicit flow.
    #[arg(long, conflicts_with = "no_implicit")]
    implicit: bool,
    /// Forbid the implicit flow.
    #[arg(long)]
    no_implicit: bool,
    /// Link this service account (user id).
    #[arg(
        long = "service-account",
        value_name = "USER_ID",
        conflicts_with = "no_service_account"
    )]
    service_account: Option<i64>,
    /// Unlink the service account.
    #[arg(long)]
    no_service_account: bool,
}

/// `Some(true)` for `--x`, `Some(false)` for `--no-x`, `None` for neither.
fn switch(on: bool, off: bool) -> Option<bool> {
    match (on, off) {
        (true, _) => Some(true),
        (_, true) => Some(false),
        _ => None,
    }
}

impl UpdateArgs {
    /// The changes asked for, apart from `--[no-]introspect-all-accounts`.
    fn changes(&self, catalogue: &ScopeCatalogue) -> anyhow::Result<ApplicationChanges> {
        Ok(ApplicationChanges {
            name: self.name.clone(),
            redirect_uris: (!self.grants.redirect_uris.is_empty())
                .then(|| self.grants.redirect_uris.clone()),
            grant_types: self.grants.chosen()?,
            scopes: self
                .scope
                .as_deref()
                .map(|text| catalogue.parse_input(text))
                .transpose()?,
            implicit_allowed: switch(self.implicit, self.no_implicit),
            introspect: switch(
                self.introspect || self.introspect_all_accounts,
                self.no_introspect,
            ),
            verify_keys: switch(self.verify_keys, self.no_verify_keys),
            service_account_id: match (self.service_account, self.no_service_account) {
                (Some(id), _) => Some(Some(id)),
                (None, true) => Some(None),
                (None, false) => None,
            },
            id_token_signed_response_alg: self.tokens.id_token_alg()?,
            access_token_format: self.tokens.access_token_format()?,
            resources: self.tokens.resources(),
            post_logout_redirect_uris: self.tokens.post_logout_redirect_uris(),
        })
    }
}

pub async fn update_app(store: &SqlStore, out: Output, args: UpdateArgs) -> anyhow::Result<()> {
    let (mut app, slug) = find(store, &args.client_id).await?;
    let catalogue = ScopeCatalogue::new(store.scope_catalogue().await?);
    let changes = args.changes(&catalogue)?;
    let all_accounts = switch(
        args.introspect_all_accounts,
        args.no_introspect_all_accounts,
    );
    if changes == ApplicationChanges::default() && all_accounts.is_none() {
        bail!("nothing to change; see gatekey admin app update --help");
    }
    let actor = Actor::operator();
    if changes != ApplicationChanges::default() {
        app = update_application(store, now(), &app, changes, operator(&actor)).await?;
    }
    if let Some(all_accounts) = all_accounts {
        app = set_introspect_all_accounts(store, now(), &app, all_accounts, &actor).await?;
    }
    out.print(&ApplicationOutput::new(&app, &slug), || {
        format!("updated {}\n{}", app.client_id, text::app_text(&app, &slug))
    })
}
