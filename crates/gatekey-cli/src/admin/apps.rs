//! `gatekey admin app create|list|show|update|rotate-secret|delete`: OAuth applications.
//!
//! The operator acts with an owner's authority: any service account of the application's
//! account may be linked.

use anyhow::{anyhow, bail};
use clap::Subcommand;
use gatekey_core::audit::Actor;
use gatekey_core::oauth::admin::{
    delete_application, parse_grant_types, register_application, rotate_secret,
    set_introspect_all_accounts, update_application, ApplicationChanges, Registrar,
    SECRET_ROTATION_GRACE,
};
use gatekey_core::oauth::application::{Application, ApplicationSettings, ClientType, GrantType};
use gatekey_core::oauth::store::ApplicationStore;
use gatekey_core::page::{PageRequest, MAX_PER_PAGE};
use gatekey_core::role::Role;
use gatekey_core::scope::ScopeSet;
use gatekey_core::store::AccountStore;
use gatekey_store::SqlStore;
use serde_json::{json, Value};
use time::format_description::well_known::Rfc3339;

use super::{account, now};
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
    Create {
        /// The account's slug.
        #[arg(long)]
        account: String,
        /// Display name, shown on the consent page.
        #[arg(long)]
        name: String,
        /// confidential (a server that keeps a secret) or public (a native or browser app).
        #[arg(long = "type", value_parser = ["confidential", "public"])]
        client_type: String,
        /// An exact redirect URI (repeat for several): https, http on 127.0.0.1 or [::1], or a
        /// reverse-domain scheme such as com.example.app:/cb.
        #[arg(long = "redirect-uri", value_name = "URI")]
        redirect_uris: Vec<String>,
        /// An allowed grant type (repeat for several); default: authorization_code and
        /// refresh_token.
        #[arg(long = "grant-type", value_name = "GRANT_TYPE", value_parser = GRANT_TYPES)]
        grant_types: Vec<String>,
        /// Space-separated scopes it may ask for (read, write, admin); default: all.
        #[arg(long)]
        scope: Option<String>,
        /// May introspect the tokens of its own account, not only its own (a resource server).
        #[arg(long)]
        introspect: bool,
        /// The service account (user id) client_credentials tokens act as.
        #[arg(long = "service-account", value_name = "USER_ID")]
        service_account: Option<i64>,
        /// Allow the implicit flow (response_type=token); discouraged by RFC 9700.
        #[arg(long)]
        implicit: bool,
    },
    /// List an account's applications.
    List {
        /// The account's slug.
        #[arg(long)]
        account: String,
    },
    /// Show one application.
    Show {
        /// The application's client id.
        client_id: String,
    },
    /// Change an application; options not given stay as they are.
    Update {
        /// The application's client id.
        client_id: String,
        /// New display name.
        #[arg(long)]
        name: Option<String>,
        /// Replaces the redirect URIs (repeat for several).
        #[arg(long = "redirect-uri", value_name = "URI")]
        redirect_uris: Vec<String>,
        /// Replaces the grant types (repeat for several).
        #[arg(long = "grant-type", value_name = "GRANT_TYPE", value_parser = GRANT_TYPES)]
        grant_types: Vec<String>,
        /// Replaces the scopes (space-separated).
        #[arg(long)]
        scope: Option<String>,
        /// Grant the introspection permission.
        #[arg(long, conflicts_with = "no_introspect")]
        introspect: bool,
        /// Take the introspection permission away.
        #[arg(long)]
        no_introspect: bool,
        /// Let the introspection permission reach every account's tokens, not only the
        /// application's own account's (operator-only; implies --introspect).
        #[arg(
            long,
            conflicts_with_all = ["no_introspect_all_accounts", "no_introspect"]
        )]
        introspect_all_accounts: bool,
        /// Limit introspection to the application's own account again.
        #[arg(long)]
        no_introspect_all_accounts: bool,
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
    },
    /// Give a confidential application a new secret; the old one works for 24 more hours.
    RotateSecret {
        /// The application's client id.
        client_id: String,
    },
    /// Delete an application: every grant and token of it is revoked.
    Delete {
        /// The application's client id.
        client_id: String,
    },
}

fn rfc3339(at: Option<time::OffsetDateTime>) -> Value {
    at.and_then(|at| at.format(&Rfc3339).ok())
        .map_or(Value::Null, Value::String)
}

fn grant_names(app: &Application) -> Vec<&'static str> {
    app.grant_types.iter().map(|g| g.as_str()).collect()
}

/// An application as `--json` prints it: the API's view, plus the account's slug.
fn app_json(app: &Application, account_slug: &str) -> Value {
    json!({
        "id": app.id,
        "client_id": app.client_id,
        "account": account_slug,
        "name": app.name,
        "client_type": app.client_type.as_str(),
        "redirect_uris": app.redirect_uris,
        "grant_types": grant_names(app),
        "scopes": app.scopes.names(),
        "implicit_allowed": app.implicit_allowed,
        "introspect": app.introspect,
        "introspect_all_accounts": app.introspect_all_accounts,
        "service_account_id": app.service_account_id,
        "previous_secret_expires_at": rfc3339(app.previous_secret_expires_at),
        "created_at": rfc3339(Some(app.created_at)),
        "updated_at": rfc3339(Some(app.updated_at)),
    })
}

/// An application as a human reads it, one setting a line.
fn app_text(app: &Application, account_slug: &str) -> String {
    let none = || "none".to_owned();
    let list = |items: Vec<String>| {
        if items.is_empty() {
            none()
        } else {
            items.join(" ")
        }
    };
    let mut lines = vec![
        format!("client_id:       {}", app.client_id),
        format!("name:            {}", app.name),
        format!("account:         {account_slug}"),
        format!("type:            {}", app.client_type.as_str()),
        format!("redirect URIs:   {}", list(app.redirect_uris.clone())),
        format!(
            "grant types:     {}",
            list(grant_names(app).into_iter().map(str::to_owned).collect())
        ),
        format!("scopes:          {}", app.scopes),
        format!("implicit flow:   {}", yes_no(app.implicit_allowed)),
        format!(
            "introspect:      {}",
            match (app.introspect, app.introspect_all_accounts) {
                (false, _) => "no",
                (true, false) => "own account",
                (true, true) => "all accounts",
            }
        ),
        format!(
            "service account: {}",
            app.service_account_id
                .map_or_else(none, |id| id.to_string())
        ),
    ];
    if let Some(at) = app.previous_secret_expires_at.filter(|at| *at > now()) {
        lines.push(format!(
            "previous secret: valid until {}",
            rfc3339(Some(at)).as_str().unwrap_or_default()
        ));
    }
    lines.join("\n")
}

fn yes_no(value: bool) -> &'static str {
    if value {
        "yes"
    } else {
        "no"
    }
}

/// `Some(true)` for `--x`, `Some(false)` for `--no-x`, `None` for neither.
fn switch(on: bool, off: bool) -> Option<bool> {
    match (on, off) {
        (true, _) => Some(true),
        (_, true) => Some(false),
        _ => None,
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

pub async fn run(store: &SqlStore, out: Output, command: AppCommand) -> anyhow::Result<()> {
    let actor = Actor::operator();
    let operator = Registrar {
        role: Role::Owner,
        actor: &actor,
    };
    match command {
        AppCommand::Create {
            account: slug,
            name,
            client_type,
            redirect_uris,
            grant_types,
            scope,
            introspect,
            service_account,
            implicit,
        } => {
            let account = account(store, &slug).await?;
            let client_type: ClientType = client_type.parse()?;
            let grant_types = if grant_types.is_empty() {
                vec![GrantType::AuthorizationCode, GrantType::RefreshToken]
            } else {
                parse_grant_types(&grant_types)?
            };
            let scopes = match scope {
                Some(scope) => ScopeSet::parse(&scope)?,
                None => ScopeSet::ALL,
            };
            let settings = ApplicationSettings {
                name,
                redirect_uris,
                grant_types,
                scopes,
                implicit_allowed: implicit,
                introspect,
                service_account_id: service_account,
            };
            let registered =
                register_application(store, now(), account.id, client_type, settings, operator)
                    .await?;
            let app = &registered.application;
            let secret = registered.client_secret.as_ref().map(|s| s.expose());
            let mut body = app_json(app, &slug);
            body["client_secret"] = secret.map_or(Value::Null, |s| Value::String(s.to_owned()));
            out.print(&body, || {
                let mut text = format!(
                    "registered {} application {:?} in {slug}\nclient_id:     {}",
                    app.client_type.as_str(),
                    app.name,
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
        AppCommand::List { account: slug } => {
            let account = account(store, &slug).await?;
            let mut apps = Vec::new();
            for page in 1.. {
                let request = PageRequest::new(Some(page), Some(MAX_PER_PAGE))?;
                let found = store.list_applications(account.id, request).await?;
                let done = found.items.len() < MAX_PER_PAGE as usize;
                apps.extend(found.items);
                if done {
                    break;
                }
            }
            let rows: Vec<_> = apps.iter().map(|a| app_json(a, &slug)).collect();
            out.print(
                &json!({ "applications": rows, "total": apps.len() }),
                || {
                    if apps.is_empty() {
                        return format!("{slug} has no applications");
                    }
                    apps.iter()
                        .map(|a| {
                            format!(
                                "{:<28}  {:<12}  {:<24}  {}",
                                a.client_id,
                                a.client_type.as_str(),
                                a.name,
                                grant_names(a).join(" ")
                            )
                        })
                        .collect::<Vec<_>>()
                        .join("\n")
                },
            )
        }
        AppCommand::Show { client_id } => {
            let (app, slug) = find(store, &client_id).await?;
            out.print(&app_json(&app, &slug), || app_text(&app, &slug))
        }
        AppCommand::Update {
            client_id,
            name,
            redirect_uris,
            grant_types,
            scope,
            introspect,
            no_introspect,
            introspect_all_accounts,
            no_introspect_all_accounts,
            implicit,
            no_implicit,
            service_account,
            no_service_account,
        } => {
            let (mut app, slug) = find(store, &client_id).await?;
            let all_accounts = switch(introspect_all_accounts, no_introspect_all_accounts);
            let changes = ApplicationChanges {
                name,
                redirect_uris: (!redirect_uris.is_empty()).then_some(redirect_uris),
                grant_types: if grant_types.is_empty() {
                    None
                } else {
                    Some(parse_grant_types(&grant_types)?)
                },
                scopes: scope.as_deref().map(ScopeSet::parse).transpose()?,
                implicit_allowed: switch(implicit, no_implicit),
                introspect: switch(introspect || introspect_all_accounts, no_introspect),
                service_account_id: match (service_account, no_service_account) {
                    (Some(id), _) => Some(Some(id)),
                    (None, true) => Some(None),
                    (None, false) => None,
                },
            };
            if changes == ApplicationChanges::default() && all_accounts.is_none() {
                bail!("nothing to change; see gatekey admin app update --help");
            }
            if changes != ApplicationChanges::default() {
                app = update_application(store, now(), &app, changes, operator).await?;
            }
            if let Some(all_accounts) = all_accounts {
                app = set_introspect_all_accounts(store, now(), &app, all_accounts, &actor).await?;
            }
            let updated = app;
            out.print(&app_json(&updated, &slug), || {
                format!(
                    "updated {}\n{}",
                    updated.client_id,
                    app_text(&updated, &slug)
                )
            })
        }
        AppCommand::RotateSecret { client_id } => {
            let (app, slug) = find(store, &client_id).await?;
            let (rotated, secret) = rotate_secret(store, now(), &app, operator).await?;
            let mut body = app_json(&rotated, &slug);
            body["client_secret"] = Value::String(secret.expose().to_owned());
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
        AppCommand::Delete { client_id } => {
            let (app, slug) = find(store, &client_id).await?;
            delete_application(store, now(), &app, &actor).await?;
            out.print(
                &json!({"client_id": app.client_id, "account": slug, "deleted": true}),
                || {
                    format!(
                        "deleted application {} ({}); its grants and tokens are revoked",
                        app.client_id, app.name
                    )
                },
            )
        }
    }
}
