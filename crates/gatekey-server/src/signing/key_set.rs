//! The signing keys held in memory: their schedule, the opened private keys that sign, the
//! public keys that verify, and the JWKS document (RFC 7517 §5), all built once per reload, so
//! that signing, verifying and serving the JWKS read no database and build nothing.

use std::sync::{Arc, RwLock};

use gatekey_core::oauth::jws::{JwsSigner, JwsVerifier};
use gatekey_core::oauth::signing_key_material::{KeyEncryptionKey, KeyMaterialError};
use gatekey_core::oauth::signing_key_schedule::{ScheduledKey, SigningAlgorithm};
use gatekey_core::oauth::signing_key_store::StoredSigningKey;
use time::OffsetDateTime;

/// The keys as last loaded.
#[derive(Debug, Default)]
pub struct LoadedKeys {
    /// Every key not yet retired.
    pub keys: Vec<ScheduledKey>,
    /// The JWKS document: `{"keys":[…]}` with each published key's public JWK.
    pub jwks: String,
    /// The published keys' public halves: a token signed by a retired key fails here.
    pub verifier: JwsVerifier,
    /// The published keys' private halves, opened, each beside its schedule.
    signers: Vec<(ScheduledKey, Arc<JwsSigner>)>,
}

impl LoadedKeys {
    /// The key that signs for `algorithm` at `now`: of the published keys whose
    /// `activates_at` has come, the newest (`signing_key_schedule`'s "current"). A key
    /// published ahead does not sign before its time, even on a replica that loaded it early.
    pub fn signer(
        &self,
        algorithm: SigningAlgorithm,
        now: OffsetDateTime,
    ) -> Option<Arc<JwsSigner>> {
        self.signers
            .iter()
            .filter(|(key, _)| key.algorithm == algorithm && key.activates_at <= now)
            .max_by_key(|(key, _)| (key.activates_at, key.generation))
            .map(|(_, signer)| signer.clone())
    }
}

/// The server's signing keys and the key-encryption key that opens them. `Debug` shows no key.
#[derive(Debug)]
pub struct SigningKeys {
    kek: KeyEncryptionKey,
    loaded: RwLock<Arc<LoadedKeys>>,
}

impl SigningKeys {
    /// Holds `kek`, with no keys loaded yet.
    pub fn new(kek: KeyEncryptionKey) -> Self {
        Self {
            kek,
            loaded: RwLock::new(Arc::new(LoadedKeys {
                jwks: r#"{"keys":[]}"#.into(),
                ..LoadedKeys::default()
            })),
        }
    }

    /// The key-encryption key.
    pub fn kek(&self) -> &KeyEncryptionKey {
        &self.kek
    }

    /// The keys as last loaded.
    pub fn loaded(&self) -> Arc<LoadedKeys> {
        match self.loaded.read() {
            Ok(loaded) => loaded.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    /// Replaces what is loaded with `keys`, publishing every key not retired and opening its
    /// private half (a key already open from the last load is kept, not opened again).
    pub fn replace(&self, keys: &[StoredSigningKey]) -> Result<(), KeyMaterialError> {
        let before = self.loaded();
        let published: Vec<&StoredSigningKey> = keys
            .iter()
            .filter(|key| key.schedule.retired_at.is_none())
            .collect();
        let mut signers = Vec::with_capacity(published.len());
        for key in &published {
            let schedule = &key.schedule;
            let open = before
                .signers
                .iter()
                .find(|(known, _)| known.kid == schedule.kid)
                .map(|(_, signer)| signer.clone());
            let signer = match open {
                Some(signer) => signer,
                None => {
                    let private = self
                        .kek
                        .open(&schedule.kid, schedule.algorithm, &key.sealed)?;
                    Arc::new(JwsSigner::new(&schedule.kid, schedule.algorithm, &private)?)
                }
            };
            signers.push((schedule.clone(), signer));
        }
        let jwks: Vec<serde_json::Value> = published
            .iter()
            .filter_map(|key| serde_json::from_str(&key.public_jwk).ok())
            .collect();
        let loaded = Arc::new(LoadedKeys {
            keys: published.iter().map(|key| key.schedule.clone()).collect(),
            jwks: serde_json::json!({ "keys": jwks }).to_string(),
            verifier: JwsVerifier::from_jwks(published.iter().map(|key| key.public_jwk.as_str())),
            signers,
        });
        match self.loaded.write() {
            Ok(mut slot) => *slot = loaded,
            Err(poisoned) => *poisoned.into_inner() = loaded,
        }
        Ok(())
    }
}
