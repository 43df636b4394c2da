//! The signing keys held in memory: their schedule, and the JWKS document (RFC 7517 §5) built
//! once per reload, so that serving it reads no database and builds nothing.

use std::sync::{Arc, RwLock};

use gatekey_core::oauth::signing_key_material::KeyEncryptionKey;
use gatekey_core::oauth::signing_key_schedule::ScheduledKey;
use gatekey_core::oauth::signing_key_store::StoredSigningKey;

/// The keys as last loaded.
#[derive(Debug, Default)]
pub struct LoadedKeys {
    /// Every key not yet retired.
    pub keys: Vec<ScheduledKey>,
    /// The JWKS document: `{"keys":[…]}` with each published key's public JWK.
    pub jwks: String,
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
                keys: Vec::new(),
                jwks: r#"{"keys":[]}"#.into(),
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

    /// Replaces what is loaded with `keys`, publishing every key not retired.
    pub fn replace(&self, keys: &[StoredSigningKey]) {
        let published: Vec<&StoredSigningKey> = keys
            .iter()
            .filter(|key| key.schedule.retired_at.is_none())
            .collect();
        let jwks: Vec<serde_json::Value> = published
            .iter()
            .filter_map(|key| serde_json::from_str(&key.public_jwk).ok())
            .collect();
        let loaded = Arc::new(LoadedKeys {
            keys: published.iter().map(|key| key.schedule.clone()).collect(),
            jwks: serde_json::json!({ "keys": jwks }).to_string(),
        });
        match self.loaded.write() {
            Ok(mut slot) => *slot = loaded,
            Err(poisoned) => *poisoned.into_inner() = loaded,
        }
    }
}
