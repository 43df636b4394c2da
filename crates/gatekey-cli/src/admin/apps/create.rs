//! `gatekey admin app create`.

use clap::Args;
use gatekey_core::audit::Actor;
use gatekey_core::oauth::admin::register_application;
use gatekey_core::oauth::application::{ApplicationSettings, ClientType, GrantType};
use gatekey_core::oauth::application_tokens::DEFAULT_ID_TOKEN_ALG;
use gatekey_core::scope_catalogue::{ScopeCatalogue, ScopeStore};
use gatekey_store::SqlStore;

use super::grants::GrantArgs;
use super::operator;
use super::token_settings::TokenSettingsArgs;
use crate::admin::views::{ApplicationOutput, ApplicationWithSecret};
use crate::admin::{account, now};
use crate::output::Output;

/// `app create`.
#[derive(Debug, Args)]
pub struct CreateArgs {
    /// The account's slug.
    #[arg(long)]
    account: String,
    /// Display name, shown on the consent page.
    #[arg(long)]
    name: String,
    /// confidential (a server that keeps a secret) or public (a native or browser app).
    #[arg(long = "type", value_parser = ["confidential", "public"])]
    client_type: String,
    #[command(flatten)]
    grants: GrantArgs,
    #[command(flatten)]
    tokens: TokenSettingsArgs,
    /// Space-separated scopes it may ask for (read, write, admin); default: all.
    #[arg(long)]
    scope: Option<String>,
    /// May introspect the tokens and API keys of its own account, not only its own tokens (a
    /// resource server).
    #[arg(long)]
    introspect: bool,
    /// May verify its own account's API keys at POST /api/v1/keys/verify.
    #[arg(long)]
    verify_keys: bool,
    /// The service account (user id) client_credentials tokens act as.
    #[arg(long = "service-account", value_name = "USER_ID")]
    service_account: Option<i64>,
    /// Allow the implicit flow (response_type=token); discouraged by RFC 9700.
    #[arg(long)]
    implicit: bool,
}

impl CreateArgs {
    /// The settings asked for, with the defaults filled in.
    fn settings(self, catalogue: &ScopeCatalogue) -> anyhow::Result<ApplicationSettings> {
        let grant_types = self
            .grants
            .chosen()?
            .unwrap_or_else(|| vec![GrantType::AuthorizationCode, GrantType::RefreshToken]);
        let scopes = match self.scope {
            Some(scope) => catalogue.parse_input(&scope)?,
            None => catalogue.every_scope(),
        };
        let id_token_signed_response_alg =
            self.tokens.id_token_alg()?.unwrap_or(DEFAULT_ID_TOKEN_ALG);
        let access_token_format = self.tokens.access_token_format()?.unwrap_or_default();
        Ok(ApplicationSettings {
            name: self.name,
            redirect_uris: self.grants.redirect_uris,
            grant_types,
            scopes,
            implicit_allowed: self.implicit,
            introspect: self.introspect,
            verify_keys: self.verify_keys,
            service_account_id: self.service_account,
            id_token_signed_response_alg,
            access_token_format,
            resources: self.tokens.resources().unwrap_or_default(),
            post_logout_redirect_uris: self.tokens.post_logout_redirect_uris().unwrap_or_default(),
        })
    }
}

pub async fn create_app(store: &SqlStore, out: Output, args: CreateArgs) -> anyhow::Result<()> {
    let account = account(store, &args.account).await?;
    let client_type: ClientType = args.client_type.parse()?;
    let catalogue = ScopeCatalogue::new(store.scope_catalogue().await?);
    let settings = args.settings(&catalogue)?;
    let actor = Actor::operator();
    let registered = register_application(
        store,
        now(),
        account.id,
        client_type,
        settings,
        operator(&actor),
    )
    .await?;
    let app = &registered.application;
    let secret = registered.client_secret.as_ref().map(|s| s.expose());
    let body = ApplicationWithSecret {
        application: ApplicationOutput::new(app, &account.slug),
        client_secret: secret.map(str::to_owned),
    };
    out.print(&body, || {
        let mut text = format!(
            "registered {} application {:?} in {}\nclient_id:     {}",
            app.client_type.as_str(),
            app.name,
            account.slug,
            app.client_id
        );
        if let Some(secret) = secret {
            text.push_str(&format!(
                "\nclient_secret: {secret}\nThis secret is shown only once."
            ));
        }
        text
    })
}
