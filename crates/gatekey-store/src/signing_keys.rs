//! Signing keys. The private half arrives sealed and is stored as base64 ciphertext; this
//! module never sees a key-encryption key.

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use gatekey_core::clock::to_millis;
use gatekey_core::oauth::signing_key_material::SealedPrivateKey;
use gatekey_core::oauth::signing_key_schedule::ScheduledKey;
use gatekey_core::oauth::signing_key_store::{SigningKeyStore, StoredSigningKey};
use gatekey_core::store::{StoreError, StoreResult};
use sqlx::any::AnyRow;
use time::OffsetDateTime;

use crate::error::{conflict_as, from_sqlx};
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

    async fn insert_signing_key(&self, key: &StoredSigningKey) -> StoreResult<()> {
        let schedule = &key.schedule;
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
        .execute(&self.write)
        .await
        .map_err(conflict_as("signing key"))?;
        Ok(())
    }

    async fn retire_signing_keys(&self, kids: &[String], at: OffsetDateTime) -> StoreResult<()> {
        let mut tx = self.write.begin().await.map_err(from_sqlx)?;
        for kid in kids {
            sqlx::query(
                "UPDATE signing_keys SET retired_at = $1 WHERE kid = $2 AND retired_at IS NULL",
            )
            .bind(to_millis(at))
            .bind(kid)
            .execute(&mut *tx)
            .await
            .map_err(from_sqlx)?;
        }
        tx.commit().await.map_err(from_sqlx)
    }
}
