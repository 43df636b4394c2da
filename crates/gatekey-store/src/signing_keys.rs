//! Signing keys. The private half arrives sealed and is stored as base64 ciphertext; this
//! module never sees a key-encryption key. Each write carries its audit events in its
//! transaction, one per key changed.

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use std::collections::HashSet;

use gatekey_core::audit::AuditEntry;
use gatekey_core::clock::to_millis;
use gatekey_core::oauth::signing_key_material::SealedPrivateKey;
use gatekey_core::oauth::signing_key_schedule::ScheduledKey;
use gatekey_core::oauth::signing_key_store::{ResealedKey, SigningKeyStore, StoredSigningKey};
use gatekey_core::store::{StoreError, StoreResult};
use sqlx::any::AnyRow;
use time::OffsetDateTime;

use crate::audits::insert_audit;
use crate::error::{conflict_as, from_sqlx};
use crate::query::rows_changed;
use crate::rows::{column, optional_time_column, time_column, RowResult};
use crate::SqlStore;

fn corrupt(what: &str) -> StoreError {
    StoreError::Unavailable(format!("unexpected {what} in a stored signing key"))
}

fn bytes(row: &AnyRow, name: &str) -> RowResult<Vec<u8>> {
    let text: String = column(row, name)?;
    STANDARD.decode(text).map_err(|_| corrupt(name))
}

fn signing_key(row: &AnyRow) -> RowResult<StoredSigningKey> {
    let algorithm: String = column(row, "algorithm")?;
    Ok(StoredSigningKey {
        schedule: ScheduledKey {
            kid: column(row, "kid")?,
            algorithm: algorithm.parse().map_err(|_| corrupt("algorithm"))?,
            generation: column(row, "generation")?,
            created_at: time_column(row, "created_at")?,
            activates_at: time_column(row, "activates_at")?,
            retired_at: optional_time_column(row, "retired_at")?,
        },
        public_jwk: column(row, "public_jwk")?,
        sealed: SealedPrivateKey {
            ciphertext: bytes(row, "private_key")?,
            nonce: bytes(row, "private_key_nonce")?,
        },
    })
}

impl SigningKeyStore for SqlStore {
    async fn signing_keys(&self) -> StoreResult<Vec<StoredSigningKey>> {
        let found = sqlx::query(
            "SELECT kid, algorithm, generation, public_jwk, private_key, private_key_nonce, \
             created_at, activates_at, retired_at FROM signing_keys \
             ORDER BY algorithm, generation",
        )
        .fetch_all(&self.read)
        .await
        .map_err(from_sqlx)?;
        found.iter().map(signing_key).collect()
    }

    async fn insert_signing_key(
        &self,
        key: &StoredSigningKey,
        audit: AuditEntry,
    ) -> StoreResult<()> {
        let schedule = &key.schedule;
        let mut tx = self.write.begin().await.map_err(from_sqlx)?;
        sqlx::query(
            "INSERT INTO signing_keys (kid, algorithm, generation, public_jwk, private_key, \
             private_key_nonce, created_at, activates_at, retired_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .bind(&schedule.kid)
        .bind(schedule.algorithm.as_str())
        .bind(schedule.generation)
        .bind(&key.public_jwk)
        .bind(STANDARD.encode(&key.sealed.ciphertext))
        .bind(STANDARD.encode(&key.sealed.nonce))
        .bind(to_millis(schedule.created_at))
        .bind(to_millis(schedule.activates_at))
        .bind(schedule.retired_at.map(to_millis))
        .execute(&mut *tx)
        .await
        .map_err(conflict_as("signing key"))?;
        insert_audit(&mut tx, audit.target(&schedule.kid), None).await?;
        tx.commit().await.map_err(from_sqlx)
    }

    async fn retire_signing_keys(
        &self,
        kids: &[String],
        at: OffsetDateTime,
        audit: AuditEntry,
    ) -> StoreResult<Vec<String>> {
        let mut tx = self.write.begin().await.map_err(from_sqlx)?;
        let mut retired = Vec::new();
        for kid in kids {
            let changed = rows_changed(
                sqlx::query(
                    "UPDATE signing_keys SET retired_at = $1 WHERE kid = $2 AND retired_at IS NULL",
                )
                .bind(to_millis(at))
                .bind(kid),
                &mut *tx,
            )
            .await?;
            if changed > 0 {
                insert_audit(&mut tx, audit.clone().target(kid), None).await?;
                retired.push(kid.clone());
            }
        }
        tx.commit().await.map_err(from_sqlx)?;
        Ok(retired)
    }

    async fn purge_retired_signing_keys(
        &self,
        retired_before: OffsetDateTime,
        audit: AuditEntry,
    ) -> StoreResult<Vec<String>> {
        let mut tx = self.write.begin().await.map_err(from_sqlx)?;
        let found = sqlx::query(
            "SELECT kid, algorithm, generation FROM signing_keys \
             WHERE retired_at IS NOT NULL AND retired_at < $1 ORDER BY algorithm, generation",
        )
        .bind(to_millis(retired_before))
        .fetch_all(&mut *tx)
        .await
        .map_err(from_sqlx)?;
        let mut purged = Vec::with_capacity(found.len());
        for row in &found {
            let kid: String = column(row, "kid")?;
            let algorithm: String = column(row, "algorithm")?;
            let generation: i64 = column(row, "generation")?;
            // Checked again by the delete itself: it never removes a key that is not retired.
            let changed = rows_changed(
                sqlx::query(
                    "DELETE FROM signing_keys WHERE kid = $1 \
                     AND retired_at IS NOT NULL AND retired_at < $2",
                )
                .bind(&kid)
                .bind(to_millis(retired_before)),
                &mut *tx,
            )
            .await?;
            if changed > 0 {
                let entry = audit
                    .clone()
                    .target(&kid)
                    .detail(format!("{algorithm} generation {generation}"));
                insert_audit(&mut tx, entry, None).await?;
                purged.push(kid);
            }
        }
        tx.commit().await.map_err(from_sqlx)?;
        Ok(purged)
    }

    async fn reseal_signing_keys(
        &self,
        keys: &[ResealedKey],
        audit: AuditEntry,
    ) -> StoreResult<()> {
        let changed_meanwhile = StoreError::Conflict("signing keys");
        let mut tx = self.write.begin().await.map_err(from_sqlx)?;
        for key in keys {
            let changed = rows_changed(
                sqlx::query(
                    "UPDATE signing_keys SET private_key = $1, private_key_nonce = $2 \
                     WHERE kid = $3 AND private_key = $4 AND private_key_nonce = $5",
                )
                .bind(STANDARD.encode(&key.after.ciphertext))
                .bind(STANDARD.encode(&key.after.nonce))
                .bind(&key.kid)
                .bind(STANDARD.encode(&key.before.ciphertext))
                .bind(STANDARD.encode(&key.before.nonce)),
                &mut *tx,
            )
            .await?;
            if changed == 0 {
                // Dropping the transaction rolls back every key resealed so far.
                return Err(changed_meanwhile);
            }
            if key.after != key.before {
                insert_audit(&mut tx, audit.clone().target(&key.kid), None).await?;
            }
        }
        let listed: HashSet<&str> = keys.iter().map(|key| key.kid.as_str()).collect();
        let stored = sqlx::query("SELECT kid FROM signing_keys")
            .fetch_all(&mut *tx)
            .await
            .map_err(from_sqlx)?;
        for row in &stored {
            let kid: String = column(row, "kid")?;
            if !listed.contains(kid.as_str()) {
                return Err(changed_meanwhile);
            }
        }
        tx.commit().await.map_err(from_sqlx)
    }
}
