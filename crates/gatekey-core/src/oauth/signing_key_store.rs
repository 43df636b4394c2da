//! Where signing keys are kept: each with its public JWK and its private half sealed under the
//! key-encryption key ([`super::signing_key_material`]).

use std::future::Future;

use time::OffsetDateTime;

use super::signing_key_material::SealedPrivateKey;
use super::signing_key_schedule::ScheduledKey;
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

/// Storage of signing keys.
pub trait SigningKeyStore: Send + Sync {
    /// Every key, retired ones too, oldest first.
    fn signing_keys(&self) -> impl Future<Output = StoreResult<Vec<StoredSigningKey>>> + Send;
    /// Adds a key. `Conflict("signing key")` when its algorithm already has a key of its
    /// generation: another process rotated first, and this key must not be used.
    fn insert_signing_key(
        &self,
        key: &StoredSigningKey,
    ) -> impl Future<Output = StoreResult<()>> + Send;
    /// Records the keys `kids` as retired at `at` (those already retired keep their time).
    fn retire_signing_keys(
        &self,
        kids: &[String],
        at: OffsetDateTime,
    ) -> impl Future<Output = StoreResult<()>> + Send;
}
