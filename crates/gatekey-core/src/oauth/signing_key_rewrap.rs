//! Changing the key-encryption key: every stored signing key, retired ones too, is opened with
//! the current key-encryption key and sealed again under the new one, all in one store
//! transaction, each key audited as `signing_key.rewrapped`. The keys themselves (their `kid`,
//! public JWK and private key) do not change, so tokens and published key sets stay valid.
//!
//! A key already sealed under the new key-encryption key is left as it is, so running the
//! change again finishes one that found a key added meanwhile by a replica still holding the
//! old key-encryption key.

use time::OffsetDateTime;

use super::signing_key_material::{KeyEncryptionKey, KeyMaterialError};
use super::signing_key_rotation::{SigningKeyError, AUDIT_TARGET};
use super::signing_key_store::{ResealedKey, SigningKeyStore};
use crate::audit::{Actor, AuditAction, AuditEntry};

/// What a change of key-encryption key did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RewrapReport {
    /// The keys sealed again under the new key-encryption key.
    pub rewrapped: Vec<String>,
    /// The keys found already sealed under it.
    pub already: Vec<String>,
}

/// Seals every stored key under `new` instead of `current`, as `actor`. Refused, with nothing
/// written, when a key opens under neither (`Material`), or when the keys changed while being
/// resealed (`Store(Conflict)`: run it again).
pub async fn rewrap_signing_keys(
    store: &impl SigningKeyStore,
    current: &KeyEncryptionKey,
    new: &KeyEncryptionKey,
    actor: &Actor,
    now: OffsetDateTime,
) -> Result<RewrapReport, SigningKeyError> {
    let keys = store.signing_keys().await?;
    let mut report = RewrapReport::default();
    let mut resealed = Vec::with_capacity(keys.len());
    for key in &keys {
        let schedule = &key.schedule;
        if new
            .open(&schedule.kid, schedule.algorithm, &key.sealed)
            .is_ok()
        {
            report.already.push(schedule.kid.clone());
            resealed.push(ResealedKey {
                kid: schedule.kid.clone(),
                before: key.sealed.clone(),
                after: key.sealed.clone(),
            });
            continue;
        }
        let private = current.open(&schedule.kid, schedule.algorithm, &key.sealed)?;
        let after = new.seal(&schedule.kid, private.pkcs8_der())?;
        resealed.push(ResealedKey {
            kid: schedule.kid.clone(),
            before: key.sealed.clone(),
            after,
        });
        report.rewrapped.push(schedule.kid.clone());
    }
    if report.rewrapped.is_empty() {
        return Ok(report);
    }
    let audit = AuditEntry::new(now, actor, AuditAction::SigningKeyRewrapped, AUDIT_TARGET);
    store.reseal_signing_keys(&resealed, audit).await?;
    Ok(report)
}

/// Whether `kek` opens every stored key, retired ones too: after a change of key-encryption
/// key, the old one must open none and the new one all.
pub fn opens_every_key(
    kek: &KeyEncryptionKey,
    keys: &[super::signing_key_store::StoredSigningKey],
) -> Result<(), KeyMaterialError> {
    for key in keys {
        kek.open(&key.schedule.kid, key.schedule.algorithm, &key.sealed)?;
    }
    Ok(())
}
