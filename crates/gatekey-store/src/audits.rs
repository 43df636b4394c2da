//! The audit log, and the helper every state change uses to write its event in its transaction.

use gatekey_core::audit::{
    truncate_for_storage, Actor, AuditAction, AuditEntry, AuditRecord, CredentialRef, MAX_ID_BYTES,
};
use gatekey_core::clock::to_millis;
use gatekey_core::page::{Page, PageRequest};
use gatekey_core::store::{AuditStore, StoreResult};
use sqlx::any::AnyRow;
use sqlx::AnyConnection;

use crate::error::from_sqlx;
use crate::query::{fetch_page, Listing};
use crate::rows::{column, time_column};
use crate::SqlStore;

/// Writes `entry`; a creation passes the new row's id as `created_id`. Fields that can carry
/// request input are cut to their bounds first ([`AuditEntry::bounded`]), whoever built the entry.
pub(crate) async fn insert_audit(
    conn: &mut AnyConnection,
    entry: AuditEntry,
    created_id: Option<i64>,
) -> StoreResult<()> {
    let mut entry = entry.bounded();
    if entry.target_id.is_none() {
        entry.target_id = created_id.map(|id| id.to_string());
    }
    sqlx::query(
        "INSERT INTO audit_events (at, account_id, actor_user_id, credential_type, credential_id, action, \
         target_type, target_id, success, ip, user_agent, detail) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
    )
    .bind(to_millis(entry.at))
    .bind(entry.account_id)
    .bind(entry.actor.user_id)
    .bind(entry.actor.credential.type_name())
    .bind(
        entry
            .actor
            .credential
            .id()
            .map(|id| truncate_for_storage(&id, MAX_ID_BYTES)),
    )
    .bind(entry.action.as_str())
    .bind(entry.target_type)
    .bind(entry.target_id)
    .bind(i64::from(entry.success))
    .bind(entry.actor.ip)
    .bind(entry.actor.user_agent)
    .bind(entry.detail)
    .execute(conn)
    .await
    .map(|_| ())
    .map_err(from_sqlx)
}

fn audit_record(row: &AnyRow) -> StoreResult<AuditRecord> {
    let credential_type: String = column(row, "credential_type")?;
    let credential_id: Option<String> = column(row, "credential_id")?;
    Ok(AuditRecord {
        id: column(row, "id")?,
        at: time_column(row, "at")?,
        account_id: column(row, "account_id")?,
        actor: Actor {
            user_id: column(row, "actor_user_id")?,
            credential: CredentialRef::from_parts(&credential_type, credential_id.as_deref()),
            ip: column(row, "ip")?,
            user_agent: column(row, "user_agent")?,
        },
        actor_email: column(row, "actor_email")?,
        action: column(row, "action")?,
        target_type: column(row, "target_type")?,
        target_id: column(row, "target_id")?,
        success: column::<i64>(row, "success")? != 0,
        detail: column(row, "detail")?,
    })
}

impl AuditStore for SqlStore {
    async fn record_audit(&self, entry: AuditEntry) -> StoreResult<()> {
        let mut conn = self.write.acquire().await.map_err(from_sqlx)?;
        insert_audit(&mut conn, entry, None).await
    }

    async fn list_audits(
        &self,
        account_id: i64,
        page: PageRequest,
    ) -> StoreResult<Page<AuditRecord>> {
        let listing = Listing {
            select: "SELECT e.*, u.email AS actor_email FROM audit_events e LEFT JOIN users u ON u.id = e.actor_user_id \
                     WHERE e.account_id = $1 ORDER BY e.id DESC LIMIT $2 OFFSET $3",
            count: "SELECT COUNT(*) AS total FROM audit_events WHERE account_id = $1",
        };
        fetch_page(
            &self.read,
            listing,
            |query| query.bind(account_id),
            page,
            audit_record,
        )
        .await
    }

    async fn leak_revocations_of_keys(
        &self,
        account_id: i64,
        key_ids: &[i64],
    ) -> StoreResult<Vec<(i64, String)>> {
        if key_ids.is_empty() {
            return Ok(Vec::new());
        }
        // Target ids are stored as text; the placeholders follow the two fixed parameters.
        let placeholders: Vec<String> = (3..3 + key_ids.len()).map(|n| format!("${n}")).collect();
        let sql = format!(
            "SELECT target_id, detail FROM audit_events WHERE account_id = $1 AND action = $2 \
             AND target_type = 'api_key' AND target_id IN ({}) ORDER BY id",
            placeholders.join(", ")
        );
        let mut query = sqlx::query(&sql)
            .bind(account_id)
            .bind(AuditAction::LeakedSecretRevoked.as_str());
        for id in key_ids {
            query = query.bind(id.to_string());
        }
        let rows = query.fetch_all(&self.read).await.map_err(from_sqlx)?;
        let mut found = Vec::with_capacity(rows.len());
        for row in &rows {
            let target: Option<String> = column(row, "target_id")?;
            let detail: Option<String> = column(row, "detail")?;
            if let (Some(id), Some(detail)) = (target.and_then(|t| t.parse().ok()), detail) {
                found.push((id, detail));
            }
        }
        Ok(found)
    }
}
