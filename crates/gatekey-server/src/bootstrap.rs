//! First run: on an empty database, create the first account and its owner, so a new user can
//! sign in without any setup.

use gatekey_core::audit::{Actor, AuditAction, AuditEntry};
use gatekey_core::password::hash_password;
use gatekey_core::role::Role;
use gatekey_core::store::{AccountStore, StoreError, UserStore};
use gatekey_core::user_admin::{create_person, CreateUserError, PersonRequest};
use gatekey_core::Clock;
use gatekey_store::SqlStore;
use rand::distributions::Alphanumeric;
use rand::Rng;

/// The owner made on first run, when `GATEKEY_BOOTSTRAP_EMAIL` is not set.
pub const DEFAULT_OWNER_EMAIL: &str = "owner@example.com";
/// The slug of the first account.
pub const FIRST_ACCOUNT_SLUG: &str = "default";

/// What the first run created.
pub struct Bootstrapped {
    /// The owner's email.
    pub email: String,
    /// The generated password, to print once; `None` when it came from the environment.
    pub generated_password: Option<String>,
}

impl std::fmt::Debug for Bootstrapped {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Bootstrapped")
            .field("email", &self.email)
            .finish_non_exhaustive()
    }
}

/// Why the first run failed.
#[derive(Debug, thiserror::Error)]
pub enum BootstrapError {
    /// The given email or password was refused.
    #[error("bootstrap owner: {0}")]
    Owner(#[from] CreateUserError),
    /// The password was refused.
    #[error("GATEKEY_BOOTSTRAP_PASSWORD: {0}")]
    Password(#[from] gatekey_core::password::PasswordError),
    /// Storage failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Creates the first account and owner if the database has no account; otherwise does nothing.
pub async fn bootstrap_if_empty(
    store: &SqlStore,
    clock: &dyn Clock,
    email: Option<String>,
    password: Option<String>,
) -> Result<Option<Bootstrapped>, BootstrapError> {
    if !store.list_accounts().await?.is_empty() {
        return Ok(None);
    }
    let email = email.unwrap_or_else(|| DEFAULT_OWNER_EMAIL.to_owned());
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
    .map_err(|_| StoreError::Unavailable("password hashing task failed".into()))??;
    let now = clock.now();
    let operator = Actor::operator();
    let account = match store
        .create_account(
            FIRST_ACCOUNT_SLUG,
            "Default",
            now,
            AuditEntry::new(now, &operator, AuditAction::AccountCreated, "account"),
        )
        .await
    {
        Ok(account) => account,
        // Another replica bootstrapped at the same moment.
        Err(StoreError::Conflict(_)) => return Ok(None),
        Err(error) => return Err(error.into()),
    };
    let person = PersonRequest {
        email: &email,
        name: "Owner",
        role: Role::Owner,
        password_hash: Some(hash),
    };
    let owner = create_person(store, now, &account, person, &operator).await?;
    if generated {
        // The printed password has passed through a terminal or a log: its first use replaces it.
        store.require_password_change(owner.user.id).await?;
    }
    Ok(Some(Bootstrapped {
        email: owner.user.email,
        generated_password: generated.then_some(password),
    }))
}
