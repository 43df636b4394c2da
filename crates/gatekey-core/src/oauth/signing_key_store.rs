//! Where signing keys are kept: each with its public JWK and its private half sealed under the
//! key-encryption key ([`super::signing_key_material`]). Every write carries its audit event,
//! written in the same transaction: one event per key made, retired, purged or resealed, with
//! the key's `kid` as target.

use std::future::Future;

use time::OffsetDateTime;

use super::signing_key_material::SealedPrivateKey;
use super::signing_key_schedule::ScheduledKey;
use crate::audit::AuditEntry;
use crate::store::StoreResult;

/// A signing key as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredSigningKey {
    /// Its id, algorithm, generation and times.
    pub schedule: ScheduledKey,
    /// The public JWK as JSON text, with `kid`, `alg` and `use`.
    pub public_jwk: String,
    /// The private key, sealed.
    pub sealed: SealedPrivateKey,
}

/// A key's private half sealed again, under a new key-encryption key; `after` equal to
/// `before` for a key already sealed under it, which is checked but not changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResealedKey {
    /// The key.
    pub kid: String,
    /// The private half as stored now, under the old key-encryption key: the write is refused
    /// if it changed meanwhile.
    pub before: SealedPrivateKey,
    /// The private half under the new key-encryption key.
    pub after: SealedPrivateKey,
}

/// Storage of signing keys.
pub trait SigningKeyStore: Send + Sync {
    /// Every key, retired ones too, oldest first.
    fn signing_keys(&self) -> impl Future<Output = StoreResult<Vec<StoredSigningKey>>> + Send;
    /// Adds a key, with `audit` (its target is the `kid`). `Conflict("signing key")` when its
    /// algorithm already has a key of its generation: another process rotated first, and this
    /// key must not be used; nothing is written then.
    fn insert_signing_key(
        &self,
        key: &StoredSigningKey,
        audit: AuditEntry,
    ) -> impl Future<Output = StoreResult<()>> + Send;
    /// Records the keys `kids` as retired at `at` (those already retired keep their time), and
    /// for each key so retired writes `audit` with the key as target. Answers the keys retired.
    fn retire_signing_keys(
        &self,
        kids: &[String],
        at: OffsetDateTime,
        audit: AuditEntry,
    ) -> impl Future<Output = StoreResult<Vec<String>>> + Send;
    /// Deletes the keys retired before `retired_before`, never a key not retired, writing
    /// `audit` for each with the key as target. Answers the keys deleted.
    fn purge_retired_signing_keys(
        &self,
        retired_before: OffsetDateTime,
        audit: AuditEntry,
    ) -> impl Future<Output = StoreResult<Vec<String>>> + Send;
    /// Replaces the sealed private halves of `keys`, all in one transaction with `audit` for
    /// each key changed. `Conflict("signing keys")`, and nothing written, when a key's sealed half is no
    /// longer `before` (deleted, or resealed by someone else) or when the store holds a key not
    /// in `keys` (added meanwhile, it would stay under the old key-encryption key).
    fn reseal_signing_keys(
        &self,
        keys: &[ResealedKey],
        audit: AuditEntry,
    ) -> impl Future<Output = StoreResult<()>> + Send;
}
