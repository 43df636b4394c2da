//! Accounts.

use gatekey_core::account::Account;
use gatekey_core::audit::AuditEntry;
use gatekey_core::clock::to_millis;
use gatekey_core::store::{AccountStore, StoreResult};
use sqlx::AnyConnection;
use time::OffsetDateTime;

use crate::audits::insert_audit;
use crate::error::{conflict_as, from_sqlx};
use crate::rows::{self, ACCOUNT_COLUMNS};
use crate::SqlStore;

/// Inserts an account and its audit event in the caller's transaction.
pub(crate) async fn insert_account(
    conn: &mut AnyConnection,
    slug: &str,
    name: &str,
    now: OffsetDateTime,
    audit: AuditEntry,
) -> StoreResult<Account> {
    let row = sqlx::query(&format!(
        "INSERT INTO accounts (slug, name, created_at) VALUES ($1, $2, $3) RETURNING {}",
        rows::returning(ACCOUNT_COLUMNS)
    ))
    .bind(slug)
    .bind(name)
    .bind(to_millis(now))
    .fetch_one(&mut *conn)
    .await
    .map_err(conflict_as("account slug"))?;
    let account = rows::account(&row)?;
    insert_audit(conn, audit.in_account(account.id), Some(account.id)).await?;
    Ok(account)
}

impl AccountStore for SqlStore {
    async fn create_account(
        &self,
        slug: &str,
        name: &str,
        now: OffsetDateTime,
        audit: AuditEntry,
    ) -> StoreResult<Account> {
        let mut tx = self.write.begin().await.map_err(from_sqlx)?;
        let account = insert_account(&mut tx, slug, name, now, audit).await?;
        tx.commit().await.map_err(from_sqlx)?;
        Ok(account)
    }

    async fn account_by_slug(&self, slug: &str) -> StoreResult<Option<Account>> {
        let row = sqlx::query(&format!(
            "SELECT {ACCOUNT_COLUMNS} FROM accounts a WHERE a.slug = $1"
        ))
        .bind(slug)
        .fetch_optional(&self.read)
        .await
        .map_err(from_sqlx)?;
        row.as_ref().map(rows::account).transpose()
    }

    async fn account_by_id(&self, id: i64) -> StoreResult<Option<Account>> {
        let row = sqlx::query(&format!(
            "SELECT {ACCOUNT_COLUMNS} FROM accounts a WHERE a.id = $1"
        ))
        .bind(id)
        .fetch_optional(&self.read)
        .await
        .map_err(from_sqlx)?;
        row.as_ref().map(rows::account).transpose()
    }

    async fn list_accounts(&self) -> StoreResult<Vec<Account>> {
        let found = sqlx::query(&format!(
            "SELECT {ACCOUNT_COLUMNS} FROM accounts a ORDER BY a.id"
        ))
        .fetch_all(&self.read)
        .await
        .map_err(from_sqlx)?;
        found.iter().map(rows::account).collect()
    }
}
