//! Web sessions.

use gatekey_core::audit::AuditEntry;
use gatekey_core::clock::to_millis;
use gatekey_core::secret::TokenHash;
use gatekey_core::session::Session;
use gatekey_core::store::{Invalidation, SessionStore, StoreError, StoreResult};
use sqlx::any::AnyRow;
use time::OffsetDateTime;

use crate::audits::insert_audit;
use crate::error::{conflict_as, from_sqlx};
use crate::query::{change_one, rows_changed};
use crate::rows::{column, time_column};
use crate::users::insert_audit_in_user_accounts;
use crate::SqlStore;

fn session(row: &AnyRow) -> StoreResult<Session> {
    let hash: Vec<u8> = column(row, "secret_hash")?;
    let hash: [u8; 32] = hash
        .try_into()
        .map_err(|_| StoreError::Unavailable("bad session hash".into()))?;
    Ok(Session {
        id: column(row, "id")?,
        hash: TokenHash::from_bytes(hash),
        user_id: column(row, "user_id")?,
        account_id: column(row, "account_id")?,
        csrf_token: column(row, "csrf_token")?,
        created_at: time_column(row, "created_at")?,
        expires_at: time_column(row, "expires_at")?,
        last_seen_at: time_column(row, "last_seen_at")?,
    })
}

impl SessionStore for SqlStore {
    async fn create_session(&self, new: Session, audit: AuditEntry) -> StoreResult<Session> {
        let mut tx = self.write.begin().await.map_err(from_sqlx)?;
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO sessions (secret_hash, user_id, account_id, csrf_token, created_at, expires_at, last_seen_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $5) RETURNING id",
        )
        .bind(new.hash.as_bytes().to_vec())
        .bind(new.user_id)
        .bind(new.account_id)
        .bind(&new.csrf_token)
        .bind(to_millis(new.created_at))
        .bind(to_millis(new.expires_at))
        .fetch_one(&mut *tx)
        .await
        .map_err(conflict_as("session"))?;
        insert_audit(&mut tx, audit.in_account(new.account_id), Some(id)).await?;
        tx.commit().await.map_err(from_sqlx)?;
        Ok(Session {
            id,
            last_seen_at: new.created_at,
            ..new
        })
    }

    async fn session_by_hash(&self, hash: &TokenHash) -> StoreResult<Option<Session>> {
        let row = sqlx::query("SELECT * FROM sessions WHERE secret_hash = $1")
            .bind(hash.as_bytes().to_vec())
            .fetch_optional(&self.read)
            .await
            .map_err(from_sqlx)?;
        row.as_ref().map(session).transpose()
    }

    async fn switch_session_account(&self, id: i64, account_id: i64) -> StoreResult<()> {
        change_one(
            sqlx::query("UPDATE sessions SET account_id = $1 WHERE id = $2")
                .bind(account_id)
                .bind(id),
            &self.write,
        )
        .await?;
        Ok(())
    }

    async fn delete_session(&self, id: i64, audit: AuditEntry) -> StoreResult<()> {
        let mut tx = self.begin_invalidating().await.map_err(from_sqlx)?;
        let deleted = rows_changed(
            sqlx::query("DELETE FROM sessions WHERE id = $1").bind(id),
            &mut *tx,
        )
        .await?;
        if deleted > 0 {
            tx.record(Invalidation::Session(id)).await?;
            insert_audit(&mut tx, audit, None).await?;
        }
        tx.commit().await.map_err(from_sqlx)
    }

    async fn touch_session(&self, id: i64, now: OffsetDateTime) -> StoreResult<()> {
        sqlx::query("UPDATE sessions SET last_seen_at = $1 WHERE id = $2 AND last_seen_at < $1")
            .bind(to_millis(now))
            .bind(id)
            .execute(&self.write)
            .await
            .map_err(from_sqlx)?;
        Ok(())
    }

    async fn delete_user_sessions(&self, user_id: i64, audit: AuditEntry) -> StoreResult<u64> {
        let mut tx = self.begin_invalidating().await.map_err(from_sqlx)?;
        let ended: Vec<i64> =
            sqlx::query_scalar("DELETE FROM sessions WHERE user_id = $1 RETURNING id")
                .bind(user_id)
                .fetch_all(&mut *tx)
                .await
                .map_err(from_sqlx)?;
        for session in &ended {
            tx.record(Invalidation::Session(*session)).await?;
        }
        let count = u64::try_from(ended.len()).unwrap_or(u64::MAX);
        insert_audit_in_user_accounts(
            &mut tx,
            user_id,
            audit.detail(format!("{count} session(s) ended")),
        )
        .await?;
        tx.commit().await.map_err(from_sqlx)?;
        Ok(count)
    }

    async fn delete_idle_sessions(&self, last_seen_before: OffsetDateTime) -> StoreResult<u64> {
        let deleted = rows_changed(
            sqlx::query("DELETE FROM sessions WHERE last_seen_at < $1")
                .bind(to_millis(last_seen_before)),
            &self.write,
        )
        .await?;
        Ok(deleted)
    }
}
