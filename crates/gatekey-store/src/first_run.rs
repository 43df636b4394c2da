//! First run: what the database holds of the first-run setup, and the first account and its
//! owner written in one transaction, so that a refused owner leaves nothing behind.

use gatekey_core::account::Account;
use gatekey_core::audit::AuditEntry;
use gatekey_core::role::Role;
use gatekey_core::store::{NewUser, StoreError, StoreResult};
use gatekey_core::user::Member;
use time::OffsetDateTime;

use crate::accounts::insert_account;
use crate::error::from_sqlx;
use crate::rows::{self, ACCOUNT_COLUMNS};
use crate::users::insert_user;
use crate::SqlStore;

/// What the database holds of first-run setup.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FirstRunFacts {
    /// Whether any account exists.
    pub any_account: bool,
    /// The account first run creates, if it exists.
    pub first_account: Option<Account>,
    /// How many members that account has.
    pub first_account_members: i64,
    /// Whether anyone is an owner of any account.
    pub any_owner: bool,
}

/// The account the first owner joins.
#[derive(Debug, Clone)]
pub enum OwnerAccount<'a> {
    /// Create it, in the same transaction.
    New {
        /// Its slug.
        slug: &'a str,
        /// Its name.
        name: &'a str,
        /// Its audit event.
        audit: AuditEntry,
    },
    /// It exists already (an earlier first run stopped before the owner was made).
    Existing(Account),
}

impl SqlStore {
    /// What the database holds of first-run setup, looking for the account `first_slug`.
    pub async fn first_run_facts(&self, first_slug: &str) -> StoreResult<FirstRunFacts> {
        let any_account: Option<i64> = sqlx::query_scalar("SELECT id FROM accounts LIMIT 1")
            .fetch_optional(&self.read)
            .await
            .map_err(from_sqlx)?;
        let row = sqlx::query(&format!(
            "SELECT {ACCOUNT_COLUMNS} FROM accounts a WHERE a.slug = $1"
        ))
        .bind(first_slug)
        .fetch_optional(&self.read)
        .await
        .map_err(from_sqlx)?;
        let first_account = row.as_ref().map(rows::account).transpose()?;
        let first_account_members = match &first_account {
            Some(account) => {
                sqlx::query_scalar("SELECT COUNT(*) FROM memberships WHERE account_id = $1")
                    .bind(account.id)
                    .fetch_one(&self.read)
                    .await
                    .map_err(from_sqlx)?
            }
            None => 0,
        };
        let owner: Option<i64> =
            sqlx::query_scalar("SELECT id FROM memberships WHERE role = 'owner' LIMIT 1")
                .fetch_optional(&self.read)
                .await
                .map_err(from_sqlx)?;
        Ok(FirstRunFacts {
            any_account: any_account.is_some(),
            first_account,
            first_account_members,
            any_owner: owner.is_some(),
        })
    }

    /// Creates the first owner, with `role` in `account` (created here when new), in one
    /// transaction: either both exist afterwards or neither does. `Ok(None)` when a new account's
    /// slug is taken, which means another server did the first run at the same moment.
    /// `must_change_password` marks a generated password, which the owner replaces at first
    /// sign-in; it is written in the same transaction, so no owner exists without it.
    pub async fn create_first_owner(
        &self,
        account: OwnerAccount<'_>,
        owner: NewUser,
        role: Role,
        must_change_password: bool,
        now: OffsetDateTime,
        owner_audit: AuditEntry,
    ) -> StoreResult<Option<(Account, Member)>> {
        let mut tx = self.write.begin().await.map_err(from_sqlx)?;
        let account = match account {
            OwnerAccount::Existing(account) => account,
            OwnerAccount::New { slug, name, audit } => {
                match insert_account(&mut tx, slug, name, now, audit).await {
                    Ok(account) => account,
                    Err(StoreError::Conflict(_)) => return Ok(None),
                    Err(error) => return Err(error),
                }
            }
        };
        let mut member = insert_user(&mut tx, owner, account.id, role, owner_audit).await?;
        if must_change_password {
            sqlx::query("UPDATE users SET must_change_password = 1 WHERE id = $1")
                .bind(member.user.id)
                .execute(&mut *tx)
                .await
                .map_err(from_sqlx)?;
            member.user.must_change_password = true;
        }
        tx.commit().await.map_err(from_sqlx)?;
        Ok(Some((account, member)))
    }
}
