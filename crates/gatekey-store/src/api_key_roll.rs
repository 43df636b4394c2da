//! Rolling an API key's secret, and ending the grace of the secret a roll replaced (see
//! `gatekey_core::api_key_roll` for the rules). Both writes carry the key's invalidation, so
//! every server drops what it cached under either secret.

use gatekey_core::audit::AuditEntry;
use gatekey_core::clock::to_millis;
use gatekey_core::secret::TokenHash;
use gatekey_core::store::{
    Invalidation, KeyRoll, KeyRollOutcome, RollingKey, StoreError, StoreResult,
};
use sqlx::AnyConnection;

use crate::api_keys::select_key;
use crate::audits::insert_audit;
use crate::error::{conflict_as, from_sqlx};
use crate::query::rows_changed;
use crate::rows::total;
use crate::SqlStore;

/// The roll: the current secret becomes the previous one until `$1` (none is kept when `$1` is
/// NULL, and the one an earlier roll kept ends either way), `$2` and `$3` the new secret's hash
/// and display prefix. Only a key that works at `$5` is rolled. The right-hand sides read the
/// row as it was before the update, so the previous secret's hash and prefix are the current
/// ones being replaced.
const ROLL: &str = "UPDATE api_keys SET \
     previous_secret_hash = CASE WHEN $1 IS NULL THEN NULL ELSE secret_hash END, \
     previous_display_prefix = CASE WHEN $1 IS NULL THEN NULL ELSE display_prefix END, \
     previous_secret_expires_at = $1, secret_hash = $2, display_prefix = $3 \
     WHERE id = $4 AND revoked_at IS NULL AND (expires_at IS NULL OR expires_at > $5)";

/// Whether `rolling` may roll key `key_id`: it is that key or one the key descends from, and
/// its secret presented is its current one (not one a roll of its own replaced).
async fn may_roll_with(
    conn: &mut AnyConnection,
    rolling: &RollingKey,
    key_id: i64,
) -> StoreResult<bool> {
    let row = sqlx::query(
        "WITH RECURSIVE ancestry (id, parent_key_id) AS ( \
             SELECT id, parent_key_id FROM api_keys WHERE id = $1 \
             UNION SELECT p.id, p.parent_key_id FROM api_keys p \
             JOIN ancestry a ON p.id = a.parent_key_id) \
         SELECT COUNT(*) AS total FROM api_keys k \
         WHERE k.id = $2 AND k.secret_hash = $3 AND k.id IN (SELECT id FROM ancestry)",
    )
    .bind(key_id)
    .bind(rolling.id)
    .bind(rolling.hash.as_bytes().to_vec())
    .fetch_one(conn)
    .await
    .map_err(from_sqlx)?;
    Ok(total(&row)? > 0)
}

impl SqlStore {
    /// [`gatekey_core::store::ApiKeyStore::roll_api_key`].
    pub(crate) async fn roll_key_secret(
        &self,
        roll: KeyRoll,
        audit: AuditEntry,
    ) -> StoreResult<KeyRollOutcome> {
        let mut tx = self.begin_invalidating().await.map_err(from_sqlx)?;
        if let Some(rolling) = &roll.rolled_with {
            if !may_roll_with(tx.conn(), rolling, roll.key_id).await? {
                return Ok(KeyRollOutcome::NotRollableWith);
            }
        }
        let changed = sqlx::query(ROLL)
            .bind(roll.previous_until.map(to_millis))
            .bind(roll.hash.as_bytes().to_vec())
            .bind(&roll.display_prefix)
            .bind(roll.key_id)
            .bind(to_millis(roll.at))
            .execute(tx.conn())
            .await
            .map_err(conflict_as("api key"))?
            .rows_affected();
        let key = select_key(tx.conn(), roll.key_id)
            .await?
            .ok_or(StoreError::NotFound)?;
        if changed == 0 {
            return Ok(KeyRollOutcome::Unusable(key));
        }
        tx.record(Invalidation::ApiKey(key.id)).await?;
        let entry = audit.in_account(key.account_id).target(key.id);
        insert_audit(tx.conn(), entry, None).await?;
        tx.commit().await.map_err(from_sqlx)?;
        Ok(KeyRollOutcome::Rolled(key))
    }

    /// [`gatekey_core::store::ApiKeyStore::end_previous_api_key_secret`]: the previous secret's
    /// hash goes, and its expiry becomes the audit event's time, so the key shows when it
    /// ended.
    pub(crate) async fn end_previous_key_secret(
        &self,
        id: i64,
        hash: &TokenHash,
        audit: AuditEntry,
    ) -> StoreResult<bool> {
        let mut tx = self.begin_invalidating().await.map_err(from_sqlx)?;
        let changed = rows_changed(
            sqlx::query(
                "UPDATE api_keys SET previous_secret_hash = NULL, previous_secret_expires_at = $1 \
                 WHERE id = $2 AND previous_secret_hash = $3",
            )
            .bind(to_millis(audit.at))
            .bind(id)
            .bind(hash.as_bytes().to_vec()),
            tx.conn(),
        )
        .await?;
        if changed == 0 {
            return Ok(false);
        }
        tx.record(Invalidation::ApiKey(id)).await?;
        insert_audit(tx.conn(), audit, None).await?;
        tx.commit().await.map_err(from_sqlx)?;
        Ok(true)
    }
}
