//! API keys.

use gatekey_core::api_key::ApiKey;
use gatekey_core::audit::AuditEntry;
use gatekey_core::clock::to_millis;
use gatekey_core::page::{Page, PageRequest};
use gatekey_core::secret::TokenHash;
use gatekey_core::store::{
    ApiKeyFilter, ApiKeyStore, Invalidation, KeyCredential, NewApiKey, StoreError, StoreResult,
};
use sqlx::AnyConnection;
use time::OffsetDateTime;

use crate::audits::insert_audit;
use crate::error::{conflict_as, from_sqlx};
use crate::invalidations::insert_invalidation;
use crate::rows::{self, ACCOUNT_COLUMNS, API_KEY_COLUMNS, MEMBERSHIP_COLUMNS, USER_COLUMNS};
use crate::SqlStore;

async fn select_key(conn: &mut AnyConnection, id: i64) -> StoreResult<Option<ApiKey>> {
    let row = sqlx::query(&format!(
        "SELECT {API_KEY_COLUMNS} FROM api_keys k JOIN memberships m ON m.id = k.membership_id WHERE k.id = $1"
    ))
    .bind(id)
    .fetch_optional(conn)
    .await
    .map_err(from_sqlx)?;
    row.as_ref().map(rows::api_key).transpose()
}

impl ApiKeyStore for SqlStore {
    async fn create_api_key(&self, key: NewApiKey, audit: AuditEntry) -> StoreResult<ApiKey> {
        let mut tx = self.write.begin().await.map_err(from_sqlx)?;
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO api_keys (membership_id, name, display_prefix, secret_hash, scopes, created_at, expires_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
        )
        .bind(key.membership_id)
        .bind(&key.name)
        .bind(&key.display_prefix)
        .bind(key.hash.as_bytes().to_vec())
        .bind(key.scopes.to_string())
        .bind(to_millis(key.created_at))
        .bind(key.expires_at.map(to_millis))
        .fetch_one(&mut *tx)
        .await
        .map_err(conflict_as("api key"))?;
        let created = select_key(&mut tx, id).await?.ok_or(StoreError::NotFound)?;
        insert_audit(&mut tx, audit.in_account(created.account_id), Some(id)).await?;
        tx.commit().await.map_err(from_sqlx)?;
        Ok(created)
    }

    async fn api_key_credential(&self, hash: &TokenHash) -> StoreResult<Option<KeyCredential>> {
        let row = sqlx::query(&format!(
            "SELECT {API_KEY_COLUMNS}, {USER_COLUMNS}, {ACCOUNT_COLUMNS}, {MEMBERSHIP_COLUMNS} \
             FROM api_keys k JOIN memberships m ON m.id = k.membership_id \
             JOIN users u ON u.id = m.user_id JOIN accounts a ON a.id = m.account_id \
             WHERE k.secret_hash = $1"
        ))
        .bind(hash.as_bytes().to_vec())
        .fetch_optional(&self.read)
        .await
        .map_err(from_sqlx)?;
        row.map(|row| {
            Ok(KeyCredential {
                key: rows::api_key(&row)?,
                user: rows::user(&row)?,
                account: rows::account(&row)?,
                role: rows::membership(&row)?.role,
            })
        })
        .transpose()
    }

    async fn api_key_by_id(&self, id: i64) -> StoreResult<Option<ApiKey>> {
        let mut conn = self.read.acquire().await.map_err(from_sqlx)?;
        select_key(&mut conn, id).await
    }

    async fn list_api_keys(
        &self,
        filter: ApiKeyFilter,
        page: PageRequest,
    ) -> StoreResult<Page<ApiKey>> {
        let condition = "($1 IS NULL OR m.account_id = $1) AND ($2 IS NULL OR m.user_id = $2)";
        let found = sqlx::query(&format!(
            "SELECT {API_KEY_COLUMNS} FROM api_keys k JOIN memberships m ON m.id = k.membership_id \
             WHERE {condition} ORDER BY k.id DESC LIMIT $3 OFFSET $4"
        ))
        .bind(filter.account_id)
        .bind(filter.user_id)
        .bind(page.limit())
        .bind(page.offset())
        .fetch_all(&self.read)
        .await
        .map_err(from_sqlx)?;
        let count = sqlx::query(&format!(
            "SELECT COUNT(*) AS total FROM api_keys k JOIN memberships m ON m.id = k.membership_id WHERE {condition}"
        ))
        .bind(filter.account_id)
        .bind(filter.user_id)
        .fetch_one(&self.read)
        .await
        .map_err(from_sqlx)?;
        let items = found
            .iter()
            .map(rows::api_key)
            .collect::<StoreResult<_>>()?;
        Ok(Page {
            items,
            total: rows::total(&count)?,
            request: page,
        })
    }

    async fn revoke_api_key(
        &self,
        id: i64,
        now: OffsetDateTime,
        audit: AuditEntry,
    ) -> StoreResult<ApiKey> {
        let mut tx = self.write.begin().await.map_err(from_sqlx)?;
        let changed =
            sqlx::query("UPDATE api_keys SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL")
                .bind(to_millis(now))
                .bind(id)
                .execute(&mut *tx)
                .await
                .map_err(from_sqlx)?;
        let key = select_key(&mut tx, id).await?.ok_or(StoreError::NotFound)?;
        if changed.rows_affected() > 0 {
            insert_invalidation(&mut tx, self.backend, Invalidation::ApiKey(id)).await?;
            insert_audit(&mut tx, audit.in_account(key.account_id).target(id), None).await?;
        }
        tx.commit().await.map_err(from_sqlx)?;
        Ok(key)
    }

    async fn record_key_usage(&self, usage: &[(i64, OffsetDateTime)]) -> StoreResult<()> {
        if usage.is_empty() {
            return Ok(());
        }
        let mut tx = self.write.begin().await.map_err(from_sqlx)?;
        for (id, at) in usage {
            sqlx::query("UPDATE api_keys SET last_used_at = $1 WHERE id = $2 AND (last_used_at IS NULL OR last_used_at < $1)")
                .bind(to_millis(*at))
                .bind(*id)
                .execute(&mut *tx)
                .await
                .map_err(from_sqlx)?;
        }
        tx.commit().await.map_err(from_sqlx)
    }
}
