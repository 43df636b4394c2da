//! `gatekey admin api-key create|list|revoke`.

use anyhow::{anyhow, bail};
use clap::Subcommand;
use gatekey_core::api_key::{ApiKey, ApiKeyRequest};
use gatekey_core::api_key_creation::create_api_key;
use gatekey_core::audit::{Actor, AuditAction, AuditEntry};
use gatekey_core::page::{PageRequest, MAX_PER_PAGE};
use gatekey_core::scope::ScopeSet;
use gatekey_core::store::{ApiKeyFilter, ApiKeyStore, StoreError, UserStore};
use gatekey_store::SqlStore;
use serde_json::{json, Value};
use time::format_description::well_known::Rfc3339;

use super::{account, now, user};
use crate::output::Output;

#[derive(Debug, Subcommand)]
pub enum ApiKeyCommand {
    /// Create an API key for a user in an account; prints the secret once.
    Create {
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
    },
    /// List keys, newest first.
    List {
        /// Only keys in this account.
        #[arg(long)]
        account: Option<String>,
        /// Only keys of this user.
        #[arg(long)]
        email: Option<String>,
    },
    /// Revoke a key by id.
    Revoke {
        /// The key's id.
        id: i64,
    },
}

fn rfc3339(at: Option<time::OffsetDateTime>) -> Value {
    at.and_then(|at| at.format(&Rfc3339).ok())
        .map_or(Value::Null, Value::String)
}

/// `active`, `expired` or `revoked`.
fn key_state(key: &ApiKey, at: time::OffsetDateTime) -> &'static str {
    if key.revoked_at.is_some() {
        "revoked"
    } else if key.is_usable_at(at) {
        "active"
    } else {
        "expired"
    }
}

fn key_json(key: &ApiKey) -> Value {
    json!({
        "id": key.id,
        "name": key.name,
        "prefix": key.display_prefix,
        "user_id": key.user_id,
        "account_id": key.account_id,
        "scopes": key.scopes.names(),
        "created_at": rfc3339(Some(key.created_at)),
        "last_used_at": rfc3339(key.last_used_at),
        "expires_at": rfc3339(key.expires_at),
        "revoked_at": rfc3339(key.revoked_at),
    })
}

pub async fn run(store: &SqlStore, out: Output, command: ApiKeyCommand) -> anyhow::Result<()> {
    match command {
        ApiKeyCommand::Create {
            email,
            user_id,
            account: slug,
            name,
            scope,
            expires_in,
        } => {
            let account = account(store, &slug).await?;
            let owner_id = match (&email, user_id) {
                (Some(email), _) => user(store, email).await?.id,
                (None, Some(id)) => id,
                (None, None) => bail!("give --email or --user-id"),
            };
            let member = store
                .member(account.id, owner_id)
                .await?
                .ok_or_else(|| anyhow!("user {owner_id} is not a member of {slug}"))?;
            let email = member.user.email.clone();
            let scopes = scope.as_deref().map(ScopeSet::parse).transpose()?;
            let at = now();
            let expires_at = match expires_in {
                Some(duration) => Some(
                    at + time::Duration::try_from(*duration)
                        .map_err(|_| anyhow!("--expires-in is too large"))?,
                ),
                None => None,
            };
            let request = ApiKeyRequest {
                name,
                scopes,
                expires_at,
            };
            let (key, secret) = create_api_key(
                store,
                at,
                (&member).into(),
                ScopeSet::ALL,
                request,
                &Actor::operator(),
            )
            .await?;
            let mut body = key_json(&key);
            body["secret"] = Value::String(secret.expose().to_owned());
            out.print(&body, || {
                format!("created API key {} ({}) for {email} in {slug}\n{}\nThis secret is shown only once.", key.id, key.scopes, secret.expose())
            })
        }
        ApiKeyCommand::List {
            account: slug,
            email,
        } => {
            let account_id = match slug {
                Some(slug) => Some(account(store, &slug).await?.id),
                None => None,
            };
            let user_id = match email {
                Some(email) => Some(user(store, &email).await?.id),
                None => None,
            };
            let filter = ApiKeyFilter {
                account_id,
                user_id,
            };
            let mut keys = Vec::new();
            for page in 1.. {
                let request = PageRequest::new(Some(page), Some(MAX_PER_PAGE))?;
                let found = store.list_api_keys(filter, request).await?;
                let done = found.items.len() < MAX_PER_PAGE as usize;
                keys.extend(found.items);
                if done {
                    break;
                }
            }
            let at = now();
            let rows: Vec<_> = keys
                .iter()
                .map(|k| {
                    let mut row = key_json(k);
                    row["state"] = Value::String(key_state(k, at).to_owned());
                    row
                })
                .collect();
            out.print(&json!({ "api_keys": rows, "total": keys.len() }), || {
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
        ApiKeyCommand::Revoke { id } => {
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
            out.print(&key_json(&key), || {
                format!("revoked API key {} ({})", key.id, key.name)
            })
        }
    }
}
