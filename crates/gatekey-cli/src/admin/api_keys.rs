//! `gatekey admin api-key create|list|revoke|roll`.

use anyhow::{anyhow, bail};
use clap::{Args, Subcommand};
use gatekey_core::api_key::{ApiKey, ApiKeyRequest, KeyOwner};
use gatekey_core::api_key_creation::create_api_key;
use gatekey_core::audit::{Actor, AuditAction, AuditEntry};
use gatekey_core::role_scopes::load_account_scopes;
use gatekey_core::store::{ApiKeyFilter, ApiKeyStore, StoreError, UserStore};
use gatekey_store::SqlStore;
use time::OffsetDateTime;

use super::api_key_roll::RollArgs;
use super::views::{ApiKeyList, ApiKeyOutput, CreatedApiKeyOutput, ListedApiKey};
use super::{account, every_page, now, user};
use crate::output::Output;

#[derive(Debug, Subcommand)]
pub enum ApiKeyCommand {
    /// Create an API key for a user in an account; prints the secret once.
    Create(CreateArgs),
    /// List keys, newest first.
    List(ListArgs),
    /// Revoke a key by id.
    Revoke(RevokeArgs),
    /// Give a key a new secret (printed once); the old one works for the grace period.
    Roll(RollArgs),
}

/// `api-key create`.
#[derive(Debug, Args)]
pub struct CreateArgs {
    /// The user's email (a service account's too).
    #[arg(long, required_unless_present = "user_id", conflicts_with = "user_id")]
    email: Option<String>,
    /// The user's id, as `service-account create` prints it.
    #[arg(long)]
    user_id: Option<i64>,
    /// The account's slug.
    #[arg(long)]
    account: String,
    /// A name to tell the key apart.
    #[arg(long)]
    name: String,
    /// Space-separated scopes (read, write, admin); default: everything the user's role allows.
    #[arg(long)]
    scope: Option<String>,
    /// Lifetime, such as 30d or 12h; default: no expiry.
    #[arg(long)]
    expires_in: Option<humantime::Duration>,
}

/// `api-key list`.
#[derive(Debug, Args)]
pub struct ListArgs {
    /// Only keys in this account.
    #[arg(long)]
    account: Option<String>,
    /// Only keys of this user.
    #[arg(long)]
    email: Option<String>,
    /// Only keys that work now and expire within this long, such as 7d or 12h.
    #[arg(long)]
    expiring_within: Option<humantime::Duration>,
}

/// `api-key revoke`.
#[derive(Debug, Args)]
pub struct RevokeArgs {
    /// The key's id.
    id: i64,
}

pub async fn run(store: &SqlStore, out: Output, command: ApiKeyCommand) -> anyhow::Result<()> {
    match command {
        ApiKeyCommand::Create(args) => create(store, out, args).await,
        ApiKeyCommand::List(args) => list(store, out, args).await,
        ApiKeyCommand::Revoke(args) => revoke(store, out, args).await,
        ApiKeyCommand::Roll(args) => super::api_key_roll::roll(store, out, args).await,
    }
}

/// `active`, `expired` or `revoked`.
fn key_state(key: &ApiKey, at: OffsetDateTime) -> &'static str {
    if key.revoked_at.is_some() {
        "revoked"
    } else if key.is_usable_at(at) {
        "active"
    } else {
        "expired"
    }
}

/// The time `--expires-in` ends, counted from `at`.
fn expiry(
    at: OffsetDateTime,
    expires_in: Option<humantime::Duration>,
) -> anyhow::Result<Option<OffsetDateTime>> {
    expires_in
        .map(|duration| {
            time::Duration::try_from(*duration)
                .map(|duration| at + duration)
                .map_err(|_| anyhow!("--expires-in is too large"))
        })
        .transpose()
}

async fn create(store: &SqlStore, out: Output, args: CreateArgs) -> anyhow::Result<()> {
    let account = account(store, &args.account).await?;
    let owner_id = match (&args.email, args.user_id) {
        (Some(email), _) => user(store, email).await?.id,
        (None, Some(id)) => id,
        (None, None) => bail!("give --email or --user-id"),
    };
    let member = store
        .member(account.id, owner_id)
        .await?
        .ok_or_else(|| anyhow!("user {owner_id} is not a member of {}", account.slug))?;
    let at = now();
    let held = load_account_scopes(store, account.id).await?;
    let role_scopes = held.held_by(member.membership.role);
    let scopes = match args.scope.as_deref() {
        Some(text) => Some(held.catalogue().parse_input(text)?),
        None => None,
    };
    let request = ApiKeyRequest {
        name: args.name,
        scopes,
        expires_at: expiry(at, args.expires_in)?,
    };
    let (key, secret) = create_api_key(
        store,
        at,
        KeyOwner::new(&member, role_scopes),
        role_scopes.clone(),
        request,
        &Actor::operator(),
    )
    .await?;
    let created = CreatedApiKeyOutput {
        key: ApiKeyOutput::new(&key),
        secret: secret.expose().to_owned(),
    };
    out.print(&created, || {
        format!(
            "created API key {} ({}) for {} in {}\n{}\nThis secret is shown only once.",
            key.id,
            key.scopes,
            member.user.email,
            account.slug,
            secret.expose()
        )
    })
}

async fn list(store: &SqlStore, out: Output, args: ListArgs) -> anyhow::Result<()> {
    let account_id = match args.account {
        Some(slug) => Some(account(store, &slug).await?.id),
        None => None,
    };
    let user_id = match args.email {
        Some(email) => Some(user(store, &email).await?.id),
        None => None,
    };
    let at = now();
    let expiring_between = args
        .expiring_within
        .map(|window| {
            time::Duration::try_from(*window)
                .ok()
                .and_then(|window| at.checked_add(window))
                .map(|until| (at, until))
                .ok_or_else(|| anyhow!("--expiring-within is too large"))
        })
        .transpose()?;
    let filter = ApiKeyFilter {
        account_id,
        user_id,
        expiring_between,
    };
    let keys = every_page(|page| store.list_api_keys(filter, page)).await?;
    let list = ApiKeyList {
        api_keys: keys
            .iter()
            .map(|k| ListedApiKey {
                key: ApiKeyOutput::new(k),
                state: key_state(k, at),
            })
            .collect(),
        total: keys.len(),
    };
    out.print(&list, || {
        keys.iter()
            .map(|k| {
                format!(
                    "{:>5}  {:<20} {}…  user {:<5} {:<18} {}",
                    k.id,
                    k.name,
                    k.display_prefix,
                    k.user_id,
                    k.scopes,
                    key_state(k, at)
                )
            })
            .collect::<Vec<_>>()
            .join("\n")
    })
}

async fn revoke(store: &SqlStore, out: Output, args: RevokeArgs) -> anyhow::Result<()> {
    let id = args.id;
    let at = now();
    let audit = AuditEntry::new(
        at,
        &Actor::operator(),
        AuditAction::ApiKeyRevoked,
        "api_key",
    );
    let key = match store.revoke_api_key(id, at, audit).await {
        Err(StoreError::NotFound) => bail!("no API key with id {id}"),
        other => other?.key,
    };
    out.print(&ApiKeyOutput::new(&key), || {
        format!("revoked API key {} ({})", key.id, key.name)
    })
}
