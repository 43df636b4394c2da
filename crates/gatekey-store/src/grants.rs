//! Grants, and revoking everything under them.

use gatekey_core::audit::AuditEntry;
use gatekey_core::clock::to_millis;
use gatekey_core::oauth::application::Application;
use gatekey_core::oauth::grant::{Grant, NewGrant};
use gatekey_core::oauth::store::GrantStore;
use gatekey_core::scope::ScopeSet;
use gatekey_core::store::{Invalidation, StoreError, StoreResult};
use sqlx::any::AnyRow;
use sqlx::AnyConnection;
use time::OffsetDateTime;

use crate::application_rows::{application, APPLICATION_COLUMNS};
use crate::audits::insert_audit;
use crate::error::from_sqlx;
use crate::invalidations::InvalidatingTx;
use crate::rows::{column, optional_time_column, time_column};
use crate::SqlStore;

/// `grants` columns, prefixed `g_`.
pub(crate) const GRANT_COLUMNS: &str =
    "g.id AS g_id, g.user_id AS g_user_id, g.account_id AS g_account_id, \
     g.application_id AS g_application_id, g.scopes AS g_scopes, g.created_at AS g_created_at, \
     g.revoked_at AS g_revoked_at";

pub(crate) fn grant(row: &AnyRow) -> StoreResult<Grant> {
    let scopes: String = column(row, "g_scopes")?;
    Ok(Grant {
        id: column(row, "g_id")?,
        user_id: column(row, "g_user_id")?,
        account_id: column(row, "g_account_id")?,
        application_id: column(row, "g_application_id")?,
        scopes: ScopeSet::parse(&scopes)
            .map_err(|_| StoreError::Unavailable("bad grant scopes".into()))?,
        created_at: time_column(row, "g_created_at")?,
        revoked_at: optional_time_column(row, "g_revoked_at")?,
    })
}

/// Records a grant and its audit entry (in the grant's account, naming the grant).
pub(crate) async fn insert_grant(
    conn: &mut AnyConnection,
    new: NewGrant,
    audit: AuditEntry,
) -> StoreResult<Grant> {
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO grants (user_id, account_id, application_id, scopes, created_at) \
         VALUES ($1, $2, $3, $4, $5) RETURNING id",
    )
    .bind(new.user_id)
    .bind(new.account_id)
    .bind(new.application_id)
    .bind(new.scopes.to_string())
    .bind(to_millis(new.created_at))
    .fetch_one(&mut *conn)
    .await
    .map_err(from_sqlx)?;
    insert_audit(conn, audit.in_account(new.account_id), Some(id)).await?;
    Ok(Grant {
        id,
        user_id: new.user_id,
        account_id: new.account_id,
        application_id: new.application_id,
        scopes: new.scopes,
        created_at: new.created_at,
        revoked_at: None,
    })
}

/// Revokes grants and every access and refresh token under them; codes of a revoked grant are
/// refused at redemption. Announces each grant's invalidation.
pub(crate) async fn revoke_grant_ids(
    tx: &mut InvalidatingTx,
    ids: &[i64],
    at: i64,
) -> StoreResult<()> {
    for id in ids {
        for statement in [
            "UPDATE access_tokens SET revoked_at = $1 WHERE grant_id = $2 AND revoked_at IS NULL",
            "UPDATE refresh_tokens SET revoked_at = $1 WHERE grant_id = $2 AND revoked_at IS NULL",
            "UPDATE grants SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL",
        ] {
            sqlx::query(statement)
                .bind(at)
                .bind(*id)
                .execute(tx.conn())
                .await
                .map_err(from_sqlx)?;
        }
        tx.record(Invalidation::Grant(*id)).await?;
    }
    Ok(())
}

impl GrantStore for SqlStore {
    async fn create_grant(
        &self,
        user_id: i64,
        account_id: i64,
        application_id: i64,
        scopes: ScopeSet,
        now: OffsetDateTime,
        audit: AuditEntry,
    ) -> StoreResult<Grant> {
        let new = NewGrant {
            user_id,
            account_id,
            application_id,
            scopes,
            created_at: now,
        };
        let mut tx = self.write.begin().await.map_err(from_sqlx)?;
        let grant = insert_grant(&mut tx, new, audit).await?;
        tx.commit().await.map_err(from_sqlx)?;
        Ok(grant)
    }

    async fn active_grant(
        &self,
        user_id: i64,
        account_id: i64,
        application_id: i64,
    ) -> StoreResult<Option<Grant>> {
        let row = sqlx::query(&format!(
            "SELECT {GRANT_COLUMNS} FROM grants g WHERE g.user_id = $1 AND g.account_id = $2 \
             AND g.application_id = $3 AND g.revoked_at IS NULL ORDER BY g.id DESC LIMIT 1"
        ))
        .bind(user_id)
        .bind(account_id)
        .bind(application_id)
        .fetch_optional(&self.read)
        .await
        .map_err(from_sqlx)?;
        row.as_ref().map(grant).transpose()
    }

    async fn grants_of_user(
        &self,
        user_id: i64,
        account_id: i64,
    ) -> StoreResult<Vec<(Grant, Application)>> {
        let rows = sqlx::query(&format!(
            "SELECT {GRANT_COLUMNS}, {APPLICATION_COLUMNS} FROM grants g JOIN applications p ON p.id = g.application_id \
             WHERE g.user_id = $1 AND g.account_id = $2 AND g.revoked_at IS NULL AND p.deleted_at IS NULL \
             ORDER BY g.id DESC"
        ))
        .bind(user_id)
        .bind(account_id)
        .fetch_all(&self.read)
        .await
        .map_err(from_sqlx)?;
        rows.iter()
            .map(|row| Ok((grant(row)?, application(row)?)))
            .collect()
    }

    async fn revoke_grants(
        &self,
        user_id: i64,
        account_id: i64,
        application_id: i64,
        now: OffsetDateTime,
        audit: AuditEntry,
    ) -> StoreResult<u64> {
        let mut tx = self.begin_invalidating().await.map_err(from_sqlx)?;
        let ids: Vec<i64> = sqlx::query_scalar(
            "SELECT id FROM grants WHERE user_id = $1 AND account_id = $2 AND application_id = $3 AND revoked_at IS NULL",
        )
        .bind(user_id)
        .bind(account_id)
        .bind(application_id)
        .fetch_all(&mut *tx)
        .await
        .map_err(from_sqlx)?;
        revoke_grant_ids(&mut tx, &ids, to_millis(now)).await?;
        if !ids.is_empty() {
            insert_audit(&mut tx, audit.in_account(account_id), None).await?;
        }
        tx.commit().await.map_err(from_sqlx)?;
        Ok(ids.len() as u64)
    }
}
