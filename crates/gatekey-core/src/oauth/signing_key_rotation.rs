//! Bringing the stored signing keys up to the schedule: creating the keys it asks for (sealed
//! under the key-encryption key) and retiring those it no longer publishes. Run at start and
//! on a schedule by every replica; the store's uniqueness of (algorithm, generation) lets only
//! one of several concurrent rotations add a key. Each key made, retired or purged is audited
//! (`signing_key.created`, `.retired`, `.purged`); the schedule's own changes are the server's
//! ([`Actor::server`]).

use time::OffsetDateTime;

use super::signing_key_material::{generate_key, KeyEncryptionKey, KeyMaterialError};
use super::signing_key_schedule::{
    plan_keys, KeyToCreate, ScheduledKey, SigningAlgorithm, SigningKeyPolicy,
};
use super::signing_key_store::{SigningKeyStore, StoredSigningKey};
use crate::audit::{Actor, AuditAction, AuditEntry};
use crate::store::{StoreError, StoreResult};

/// What audit events about signing keys name as their target.
pub const AUDIT_TARGET: &str = "signing_key";

/// Why the signing keys could not be brought up to date.
#[derive(Debug, thiserror::Error)]
pub enum SigningKeyError {
    /// The key-encryption key cannot be used, or does not open a stored key.
    #[error(transparent)]
    Material(#[from] KeyMaterialError),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Creates and retires what the schedule asks for at `now`, checks that `kek` opens every
/// published key, and answers the keys as they now stand.
pub async fn maintain_signing_keys(
    store: &impl SigningKeyStore,
    kek: &KeyEncryptionKey,
    wanted: &[SigningAlgorithm],
    policy: &SigningKeyPolicy,
    now: OffsetDateTime,
) -> Result<Vec<StoredSigningKey>, SigningKeyError> {
    let keys = store.signing_keys().await?;
    // Refuse before writing anything: a wrong KEK must never lead to new keys beside the old.
    check_kek_opens(kek, &keys)?;
    let schedule: Vec<ScheduledKey> = keys.iter().map(|key| key.schedule.clone()).collect();
    let plan = plan_keys(&schedule, wanted, policy, now);
    if plan.create.is_empty() && plan.retire.is_empty() {
        return Ok(keys);
    }
    let server = Actor::server();
    for create in &plan.create {
        add_key(store, kek, create, &server, now).await?;
    }
    if !plan.retire.is_empty() {
        let audit = AuditEntry::new(now, &server, AuditAction::SigningKeyRetired, AUDIT_TARGET);
        store.retire_signing_keys(&plan.retire, now, audit).await?;
    }
    Ok(store.signing_keys().await?)
}

/// Generates, seals and stores the key `create` describes. Another process having added that
/// generation first is no error: its key is the one every replica uses. `actor` made it: the
/// server on its schedule, or an operator.
pub async fn add_key(
    store: &impl SigningKeyStore,
    kek: &KeyEncryptionKey,
    create: &KeyToCreate,
    actor: &Actor,
    now: OffsetDateTime,
) -> Result<Option<StoredSigningKey>, SigningKeyError> {
    let generated = generate_key(create.algorithm)?;
    let sealed = kek.seal(&generated.kid, generated.private_key.pkcs8_der())?;
    let stored = StoredSigningKey {
        schedule: ScheduledKey {
            kid: generated.kid,
            algorithm: create.algorithm,
            generation: create.generation,
            created_at: now,
            activates_at: create.activates_at,
            retired_at: None,
        },
        public_jwk: generated.public_jwk,
        sealed,
    };
    let audit = AuditEntry::new(now, actor, AuditAction::SigningKeyCreated, AUDIT_TARGET)
        .target(&stored.schedule.kid)
        .detail(format!(
            "{} generation {}",
            create.algorithm, create.generation
        ));
    match store.insert_signing_key(&stored, audit).await {
        Ok(()) => Ok(Some(stored)),
        Err(StoreError::Conflict(_)) => Ok(None),
        Err(other) => Err(other.into()),
    }
}

/// Whether `kek` opens every key not yet retired.
pub fn check_kek_opens(
    kek: &KeyEncryptionKey,
    keys: &[StoredSigningKey],
) -> Result<(), KeyMaterialError> {
    for key in keys.iter().filter(|key| key.schedule.retired_at.is_none()) {
        kek.open(&key.schedule.kid, key.schedule.algorithm, &key.sealed)?;
    }
    Ok(())
}

/// Deletes the keys retired before `retired_before`, each audited as `actor`'s
/// `signing_key.purged`. A retired key is in no JWKS and signs nothing, and was retired only
/// once every token it signed had expired, so nothing needs it any more. Answers the keys
/// deleted.
pub async fn purge_retired_keys(
    store: &impl SigningKeyStore,
    retired_before: OffsetDateTime,
    actor: &Actor,
    now: OffsetDateTime,
) -> StoreResult<Vec<String>> {
    let audit = AuditEntry::new(now, actor, AuditAction::SigningKeyPurged, AUDIT_TARGET);
    store
        .purge_retired_signing_keys(retired_before, audit)
        .await
}
