//! `gatekey admin user create|add-membership|list|disable`.

use std::io::Read;

use anyhow::{bail, Context};
use clap::Subcommand;
use gatekey_core::audit::{Actor, AuditAction, AuditEntry};
use gatekey_core::page::{PageRequest, MAX_PER_PAGE};
use gatekey_core::password::hash_password;
use gatekey_core::role::Role;
use gatekey_core::store::{AccountStore, StoreError, UserStore};
use gatekey_core::user::Member;
use gatekey_core::user_admin::{
    create_person, disable_user, enable_user, set_password, CreateUserError, PersonRequest,
};
use gatekey_store::SqlStore;
use serde_json::{json, Value};

use super::{account, now, user};
use crate::output::Output;

#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Create a person with a role in an account.
    Create {
        /// Email (unique).
        #[arg(long)]
        email: String,
        /// Display name.
        #[arg(long)]
        name: String,
        /// The account's slug.
        #[arg(long)]
        account: String,
        /// Role in the account.
        #[arg(long, value_parser = ["owner", "admin", "member", "viewer"])]
        role: String,
        /// Read the password from standard input (passwords never go on the command line).
        #[arg(long)]
        password_stdin: bool,
    },
    /// Give an existing person a role in another account.
    AddMembership {
        /// The user's email.
        #[arg(long)]
        email: String,
        /// The account's slug.
        #[arg(long)]
        account: String,
        /// Role in the account.
        #[arg(long, value_parser = ["owner", "admin", "member", "viewer"])]
        role: String,
    },
    /// List users with their memberships.
    List {
        /// Only members of this account.
        #[arg(long)]
        account: Option<String>,
    },
    /// Set a person's password, read from standard input; ends their web sessions.
    SetPassword {
        /// The user's email.
        #[arg(long)]
        email: String,
        /// Read the password from standard input (required: passwords never go on the command line).
        #[arg(long, required = true)]
        password_stdin: bool,
    },
    /// Enable a disabled user again.
    Enable {
        /// The user's email.
        #[arg(long)]
        email: String,
    },
    /// Disable a user: every credential of theirs stops working.
    Disable {
        /// The user's email.
        #[arg(long)]
        email: String,
    },
}

/// A member as printed.
pub fn member_json(member: &Member, account_slug: Option<&str>) -> Value {
    json!({
        "id": member.user.id,
        "email": member.user.email,
        "name": member.user.name,
        "kind": member.user.kind.as_str(),
        "disabled": member.user.is_disabled(),
        "account_id": member.membership.account_id,
        "account": account_slug,
        "role": member.membership.role.as_str(),
    })
}

/// Reads a password from standard input and hashes it (argon2id).
async fn password_from_stdin() -> anyhow::Result<String> {
    let mut password = String::new();
    std::io::stdin()
        .read_to_string(&mut password)
        .context("reading the password from standard input")?;
    let password = password.trim_end_matches(['\r', '\n']).to_owned();
    Ok(tokio::task::spawn_blocking(move || hash_password(&password)).await??)
}

pub async fn run(store: &SqlStore, out: Output, command: UserCommand) -> anyhow::Result<()> {
    match command {
        UserCommand::Create {
            email,
            name,
            account: slug,
            role,
            password_stdin,
        } => {
            let account = account(store, &slug).await?;
            let role: Role = role.parse()?;
            let password_hash = if password_stdin {
                Some(password_from_stdin().await?)
            } else {
                None
            };
            let person = PersonRequest {
                email: &email,
                name: &name,
                role,
                password_hash,
            };
            let member = match create_person(store, now(), &account, person, &Actor::operator())
                .await
            {
                Err(CreateUserError::Store(StoreError::Conflict(_))) => {
                    bail!("a user with email {email:?} already exists; use `user add-membership`")
                }
                other => other?,
            };
            out.print(&member_json(&member, Some(&account.slug)), || {
                format!(
                    "created user {} (id {}) as {} of {}",
                    member.user.email, member.user.id, role, account.slug
                )
            })
        }
        UserCommand::AddMembership {
            email,
            account: slug,
            role,
        } => {
            let account = account(store, &slug).await?;
            let found = user(store, &email).await?;
            let role: Role = role.parse()?;
            let at = now();
            let audit = AuditEntry::new(
                at,
                &Actor::operator(),
                AuditAction::MembershipCreated,
                "membership",
            )
            .detail(format!("user {} as {role}", found.id));
            let membership = match store
                .add_membership(found.id, account.id, role, at, audit)
                .await
            {
                Err(StoreError::Conflict(_)) => bail!(
                    "{} cannot be added to {slug}: already a member, or a service account",
                    found.email
                ),
                other => other?,
            };
            let member = Member {
                user: found,
                membership,
            };
            out.print(&member_json(&member, Some(&account.slug)), || {
                format!("{} is now {} of {}", member.user.email, role, account.slug)
            })
        }
        UserCommand::List { account: slug } => {
            let account = match slug {
                Some(slug) => Some(account(store, &slug).await?),
                None => None,
            };
            let mut members = Vec::new();
            let mut page = 1;
            loop {
                let request = PageRequest::new(Some(page), Some(MAX_PER_PAGE))?;
                let found = store
                    .list_members(account.as_ref().map(|a| a.id), None, request)
                    .await?;
                let done = found.items.len() < MAX_PER_PAGE as usize;
                members.extend(found.items);
                if done {
                    break;
                }
                page += 1;
            }
            let slugs: std::collections::HashMap<i64, String> = store
                .list_accounts()
                .await?
                .into_iter()
                .map(|a| (a.id, a.slug))
                .collect();
            let slug_of = |m: &Member| slugs.get(&m.membership.account_id).map(String::as_str);
            let rows: Vec<_> = members.iter().map(|m| member_json(m, slug_of(m))).collect();
            out.print(&json!({ "users": rows }), || {
                members
                    .iter()
                    .map(|m| {
                        let status = if m.user.is_disabled() {
                            " (disabled)"
                        } else {
                            ""
                        };
                        format!(
                            "{:>5}  {:<40} {:<8} {:<20} {}{}",
                            m.user.id,
                            m.user.email,
                            m.user.kind.as_str(),
                            slug_of(m).unwrap_or("?"),
                            m.membership.role,
                            status
                        )
                    })
                    .collect::<Vec<_>>()
                    .join("\n")
            })
        }
        UserCommand::SetPassword { email, .. } => {
            let found = user(store, &email).await?;
            if found.kind != gatekey_core::user::UserKind::Person {
                anyhow::bail!(
                    "{email} is a service account; service accounts never have a password"
                );
            }
            let hash = password_from_stdin().await?;
            set_password(store, now(), found.id, &hash, None, &Actor::operator()).await?;
            out.print(
                &json!({"id": found.id, "email": found.email, "password_changed": true}),
                || {
                    format!(
                        "set the password of {}; their web sessions have ended",
                        found.email
                    )
                },
            )
        }
        UserCommand::Enable { email } => {
            let found = user(store, &email).await?;
            let enabled = enable_user(store, now(), found.id, &Actor::operator()).await?;
            out.print(
                &json!({"id": enabled.id, "email": enabled.email, "disabled": false}),
                || format!("enabled {}", enabled.email),
            )
        }
        UserCommand::Disable { email } => {
            let found = user(store, &email).await?;
            let disabled = disable_user(store, now(), found.id, &Actor::operator()).await?;
            out.print(
                &json!({"id": disabled.id, "email": disabled.email, "disabled": true}),
                || {
                    format!(
                        "disabled {}; every credential of theirs stops working",
                        disabled.email
                    )
                },
            )
        }
    }
}
