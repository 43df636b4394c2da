//! `gatekey admin user create|add-membership|list|set-password|enable|disable`.

use std::collections::HashMap;
use std::io::Read;

use anyhow::{bail, Context};
use clap::{Args, Subcommand};
use gatekey_core::audit::{Actor, AuditAction, AuditEntry};
use gatekey_core::password::hash_password;
use gatekey_core::role::Role;
use gatekey_core::store::{AccountStore, StoreError, UserStore};
use gatekey_core::user::{Member, UserKind};
use gatekey_core::user_admin::{
    create_person, disable_user, enable_user, set_password, CreateUserError, PersonRequest,
};
use gatekey_store::SqlStore;

use super::views::{MemberOutput, PasswordChanged, UserList, UserState};
use super::{account, every_page, now, user};
use crate::output::Output;

#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Create a person with a role in an account.
    Create(CreateArgs),
    /// Give an existing person a role in another account.
    AddMembership(AddMembershipArgs),
    /// List users with their memberships.
    List(ListArgs),
    /// Set a person's password, read from standard input; ends their web sessions.
    SetPassword(SetPasswordArgs),
    /// Enable a disabled user again.
    Enable(EmailArgs),
    /// Disable a user: every credential of theirs stops working.
    Disable(EmailArgs),
}

/// `user create`.
#[derive(Debug, Args)]
pub struct CreateArgs {
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
}

/// `user add-membership`.
#[derive(Debug, Args)]
pub struct AddMembershipArgs {
    /// The user's email.
    #[arg(long)]
    email: String,
    /// The account's slug.
    #[arg(long)]
    account: String,
    /// Role in the account.
    #[arg(long, value_parser = ["owner", "admin", "member", "viewer"])]
    role: String,
}

/// `user list`.
#[derive(Debug, Args)]
pub struct ListArgs {
    /// Only members of this account.
    #[arg(long)]
    account: Option<String>,
}

/// `user set-password`.
#[derive(Debug, Args)]
pub struct SetPasswordArgs {
    /// The user's email.
    #[arg(long)]
    email: String,
    /// Read the password from standard input (required: passwords never go on the command line).
    #[arg(long, required = true)]
    password_stdin: bool,
}

/// `user enable` and `user disable`.
#[derive(Debug, Args)]
pub struct EmailArgs {
    /// The user's email.
    #[arg(long)]
    email: String,
}

pub async fn run(store: &SqlStore, out: Output, command: UserCommand) -> anyhow::Result<()> {
    match command {
        UserCommand::Create(args) => create_user(store, out, args).await,
        UserCommand::AddMembership(args) => add_membership(store, out, args).await,
        UserCommand::List(args) => list_users(store, out, args).await,
        UserCommand::SetPassword(args) => set_user_password(store, out, args).await,
        UserCommand::Enable(args) => enable(store, out, args).await,
        UserCommand::Disable(args) => disable(store, out, args).await,
    }
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

async fn create_user(store: &SqlStore, out: Output, args: CreateArgs) -> anyhow::Result<()> {
    let account = account(store, &args.account).await?;
    let role: Role = args.role.parse()?;
    let password_hash = if args.password_stdin {
        Some(password_from_stdin().await?)
    } else {
        None
    };
    let person = PersonRequest {
        email: &args.email,
        name: &args.name,
        role,
        password_hash,
    };
    let member = match create_person(store, now(), &account, person, &Actor::operator()).await {
        Err(CreateUserError::Store(StoreError::Conflict(_))) => bail!(
            "a user with email {:?} already exists; use `user add-membership`",
            args.email
        ),
        other => other?,
    };
    out.print(&MemberOutput::new(&member, Some(&account.slug)), || {
        format!(
            "created user {} (id {}) as {} of {}",
            member.user.email, member.user.id, role, account.slug
        )
    })
}

async fn add_membership(
    store: &SqlStore,
    out: Output,
    args: AddMembershipArgs,
) -> anyhow::Result<()> {
    let account = account(store, &args.account).await?;
    let found = user(store, &args.email).await?;
    let role: Role = args.role.parse()?;
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
            "{} cannot be added to {}: already a member, or a service account",
            found.email,
            account.slug
        ),
        other => other?,
    };
    let member = Member {
        user: found,
        membership,
    };
    out.print(&MemberOutput::new(&member, Some(&account.slug)), || {
        format!("{} is now {} of {}", member.user.email, role, account.slug)
    })
}

async fn list_users(store: &SqlStore, out: Output, args: ListArgs) -> anyhow::Result<()> {
    let account_id = match args.account {
        Some(slug) => Some(account(store, &slug).await?.id),
        None => None,
    };
    let members = every_page(|page| store.list_members(account_id, None, page)).await?;
    let slugs: HashMap<i64, String> = store
        .list_accounts()
        .await?
        .into_iter()
        .map(|a| (a.id, a.slug))
        .collect();
    let slug_of = |m: &Member| slugs.get(&m.membership.account_id).map(String::as_str);
    let list = UserList {
        users: members
            .iter()
            .map(|m| MemberOutput::new(m, slug_of(m)))
            .collect(),
    };
    out.print(&list, || {
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

async fn set_user_password(
    store: &SqlStore,
    out: Output,
    args: SetPasswordArgs,
) -> anyhow::Result<()> {
    let found = user(store, &args.email).await?;
    if found.kind != UserKind::Person {
        bail!(
            "{} is a service account; service accounts never have a password",
            args.email
        );
    }
    let hash = password_from_stdin().await?;
    set_password(store, now(), found.id, &hash, None, &Actor::operator()).await?;
    let changed = PasswordChanged {
        id: found.id,
        email: found.email,
        password_changed: true,
    };
    out.print(&changed, || {
        format!(
            "set the password of {}; their web sessions have ended",
            changed.email
        )
    })
}

async fn enable(store: &SqlStore, out: Output, args: EmailArgs) -> anyhow::Result<()> {
    let found = user(store, &args.email).await?;
    let enabled = enable_user(store, now(), found.id, &Actor::operator()).await?;
    let state = UserState {
        id: enabled.id,
        email: enabled.email,
        disabled: false,
    };
    out.print(&state, || format!("enabled {}", state.email))
}

async fn disable(store: &SqlStore, out: Output, args: EmailArgs) -> anyhow::Result<()> {
    let found = user(store, &args.email).await?;
    let disabled = disable_user(store, now(), found.id, &Actor::operator()).await?;
    let state = UserState {
        id: disabled.id,
        email: disabled.email,
        disabled: true,
    };
    out.print(&state, || {
        format!(
            "disabled {}; every credential of theirs stops working",
            state.email
        )
    })
}
