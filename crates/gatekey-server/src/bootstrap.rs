//! First run: on an empty database, create the first account and its owner, so a new user can
//! sign in without any setup.
//!
//! The account and its owner are written in one transaction, after the email and password have
//! been checked: a refused `GATEKEY_BOOTSTRAP_EMAIL` stops the start with a message and writes
//! nothing, so the next start runs the first run again.
//!
//! A database left by an older version that wrote the account first and then failed on the
//! owner (the account `default` exists, has no member, and nobody owns any account) has its
//! first run finished: the owner is created in that account, as the first run would have done.
//! Anything else with at least one account is left alone.

use gatekey_core::account::Account;
use gatekey_core::audit::{Actor, AuditAction, AuditEntry};
use gatekey_core::password::hash_password;
use gatekey_core::role::Role;
use gatekey_core::store::{NewUser, StoreError};
use gatekey_core::user::{normalize_email, UserInputError, UserKind};
use gatekey_core::Clock;
use gatekey_store::{FirstRunFacts, OwnerAccount, SqlStore};
use rand::distributions::Alphanumeric;
use rand::Rng;

/// The owner made on first run, when `GATEKEY_BOOTSTRAP_EMAIL` is not set.
pub const DEFAULT_OWNER_EMAIL: &str = "owner@example.com";
/// The slug of the first account.
pub const FIRST_ACCOUNT_SLUG: &str = "default";
/// The name of the first account.
const FIRST_ACCOUNT_NAME: &str = "Default";
/// The first owner's display name.
const OWNER_NAME: &str = "Owner";

/// What the first run created.
pub struct Bootstrapped {
    /// The owner's email.
    pub email: String,
    /// The generated password, to print once; `None` when it came from the environment.
    pub generated_password: Option<String>,
    /// Whether this finished a first run an older version had left without an owner.
    pub finished_interrupted: bool,
}

impl std::fmt::Debug for Bootstrapped {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Bootstrapped")
            .field("email", &self.email)
            .field("finished_interrupted", &self.finished_interrupted)
            .finish_non_exhaustive()
    }
}

/// Why the first run failed.
#[derive(Debug, thiserror::Error)]
pub enum BootstrapError {
    /// The email was refused; nothing was written.
    #[error("GATEKEY_BOOTSTRAP_EMAIL: {0}; nothing was created")]
    Email(UserInputError),
    /// The password was refused; nothing was written.
    #[error("GATEKEY_BOOTSTRAP_PASSWORD: {0}; nothing was created")]
    Password(gatekey_core::password::PasswordError),
    /// The email belongs to an existing user (only possible when finishing an interrupted run).
    #[error("GATEKEY_BOOTSTRAP_EMAIL: {0} is already a user; choose another email for the owner")]
    EmailTaken(String),
    /// Storage failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// What first run has to do, given what the database holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FirstRunStep {
    /// No account: create the first account and its owner.
    CreateAccountAndOwner,
    /// An earlier first run created the account and stopped: create its owner.
    FinishInterrupted(Account),
    /// Set up already (or by an operator): nothing to do.
    Nothing,
}

/// Decides the first-run step (see the module documentation).
pub fn first_run_step(facts: FirstRunFacts) -> FirstRunStep {
    if !facts.any_account {
        return FirstRunStep::CreateAccountAndOwner;
    }
    match facts.first_account {
        Some(account) if facts.first_account_members == 0 && !facts.any_owner => {
            FirstRunStep::FinishInterrupted(account)
        }
        _ => FirstRunStep::Nothing,
    }
}

/// Creates the first account and owner if the database has no account, or the owner of an
/// interrupted first run; otherwise does nothing.
pub async fn bootstrap_if_empty(
    store: &SqlStore,
    clock: &dyn Clock,
    email: Option<String>,
    password: Option<String>,
) -> Result<Option<Bootstrapped>, BootstrapError> {
    let step = first_run_step(store.first_run_facts(FIRST_ACCOUNT_SLUG).await?);
    if step == FirstRunStep::Nothing {
        return Ok(None);
    }
    // Everything is checked before anything is written.
    let email = normalize_email(email.as_deref().unwrap_or(DEFAULT_OWNER_EMAIL))
        .map_err(BootstrapError::Email)?;
    let (password, generated) = match password {
        Some(password) => (password, false),
        None => (
            rand::rngs::OsRng
                .sample_iter(&Alphanumeric)
                .take(24)
                .map(char::from)
                .collect(),
            true,
        ),
    };
    let hash = tokio::task::spawn_blocking({
        let password = password.clone();
        move || hash_password(&password)
    })
    .await
    .map_err(|_| StoreError::Unavailable("password hashing task failed".into()))?
    .map_err(BootstrapError::Password)?;

    let now = clock.now();
    let operator = Actor::operator();
    let finished_interrupted = matches!(step, FirstRunStep::FinishInterrupted(_));
    let account = match step {
        FirstRunStep::FinishInterrupted(account) => OwnerAccount::Existing(account),
        _ => OwnerAccount::New {
            slug: FIRST_ACCOUNT_SLUG,
            name: FIRST_ACCOUNT_NAME,
            audit: AuditEntry::new(now, &operator, AuditAction::AccountCreated, "account"),
        },
    };
    let owner = NewUser {
        email: email.clone(),
        name: OWNER_NAME.to_owned(),
        kind: UserKind::Person,
        password_hash: Some(hash),
        created_at: now,
    };
    let audit = AuditEntry::new(now, &operator, AuditAction::UserCreated, "user")
        .detail(format!("role {}", Role::Owner));
    let created = match store
        .create_first_owner(account, owner, Role::Owner, generated, now, audit)
        .await
    {
        Ok(created) => created,
        Err(StoreError::Conflict(_)) => return Err(BootstrapError::EmailTaken(email)),
        Err(error) => return Err(error.into()),
    };
    // `None`: another replica ran the first run at the same moment.
    Ok(created.map(|(_, owner)| Bootstrapped {
        email: owner.user.email,
        generated_password: generated.then_some(password),
        finished_interrupted,
    }))
}

#[cfg(test)]
mod tests {
    use time::OffsetDateTime;

    use super::*;

    fn account(slug: &str) -> Account {
        Account {
            id: 1,
            slug: slug.into(),
            name: "A".into(),
            created_at: OffsetDateTime::UNIX_EPOCH,
        }
    }

    fn facts(first: Option<Account>, members: i64, any_owner: bool) -> FirstRunFacts {
        FirstRunFacts {
            any_account: true,
            first_account: first,
            first_account_members: members,
            any_owner,
        }
    }

    #[test]
    fn the_first_run_is_finished_only_when_it_was_interrupted() {
        let empty = FirstRunFacts {
            any_account: false,
            first_account: None,
            first_account_members: 0,
            any_owner: false,
        };
        assert_eq!(first_run_step(empty), FirstRunStep::CreateAccountAndOwner);
        let default = account(FIRST_ACCOUNT_SLUG);
        assert_eq!(
            first_run_step(facts(Some(default.clone()), 0, false)),
            FirstRunStep::FinishInterrupted(default.clone())
        );
        // Someone owns an account, or the first account has members: set up by an operator.
        assert_eq!(
            first_run_step(facts(Some(default.clone()), 0, true)),
            FirstRunStep::Nothing
        );
        assert_eq!(
            first_run_step(facts(Some(default), 1, false)),
            FirstRunStep::Nothing
        );
        // Accounts made by an operator under other names are never touched.
        assert_eq!(first_run_step(facts(None, 0, false)), FirstRunStep::Nothing);
    }
}
