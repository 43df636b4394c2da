//! `[signing]`: the keys that will sign ID tokens and JWT access tokens, and the key that
//! encrypts them at rest (see docs/configuration.md and docs/oidc.md).

use std::fmt;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use super::ConfigError;

/// Signing keys: where the key-encryption key comes from, and the rotation schedule.
/// `Debug` never shows the key-encryption key.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SigningConfig {
    /// The key-encryption key itself, 32 bytes in base64 (best given as the environment
    /// variable `GATEKEY_SIGNING__KEY_ENCRYPTION_KEY`). Wins over the file.
    pub key_encryption_key: Option<String>,
    /// A file holding the key-encryption key, 32 bytes in base64.
    pub key_encryption_key_file: Option<PathBuf>,
    /// Seconds a key signs before its successor takes over (30 days).
    pub rotation_interval: u64,
    /// Seconds a new key is published before it signs (1 day); more than `jwks_max_age`.
    pub publish_ahead: u64,
    /// Seconds verifiers may cache the JWKS (`Cache-Control: max-age`, 1 hour).
    pub jwks_max_age: u64,
    /// Seconds between two reloads of the keys from the database, in which each replica also
    /// rotates or retires what the schedule says (60).
    pub refresh_interval: u64,
}

impl Default for SigningConfig {
    fn default() -> Self {
        Self {
            key_encryption_key: None,
            key_encryption_key_file: None,
            rotation_interval: 30 * 24 * 3600,
            publish_ahead: 24 * 3600,
            jwks_max_age: 3600,
            refresh_interval: 60,
        }
    }
}

impl fmt::Debug for SigningConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SigningConfig")
            .field(
                "key_encryption_key",
                &self.key_encryption_key.as_ref().map(|_| "…"),
            )
            .field("key_encryption_key_file", &self.key_encryption_key_file)
            .field("rotation_interval", &self.rotation_interval)
            .field("publish_ahead", &self.publish_ahead)
            .field("jwks_max_age", &self.jwks_max_age)
            .field("refresh_interval", &self.refresh_interval)
            .finish()
    }
}

impl SigningConfig {
    /// A key must be published longer than verifiers cache the JWKS, and sign longer than it
    /// waits to.
    pub(super) fn validate(&self) -> Result<(), ConfigError> {
        if self.publish_ahead <= self.jwks_max_age {
            return Err(ConfigError::Invalid(format!(
                "signing.publish_ahead ({}) must be more than signing.jwks_max_age ({}): a \
                 verifier must see a new key before the first token it signs",
                self.publish_ahead, self.jwks_max_age
            )));
        }
        if self.rotation_interval <= self.publish_ahead {
            return Err(ConfigError::Invalid(format!(
                "signing.rotation_interval ({}) must be more than signing.publish_ahead ({})",
                self.rotation_interval, self.publish_ahead
            )));
        }
        if self.refresh_interval == 0 || self.refresh_interval >= self.publish_ahead {
            return Err(ConfigError::Invalid(format!(
                "signing.refresh_interval ({}) must be more than 0 and less than \
                 signing.publish_ahead ({})",
                self.refresh_interval, self.publish_ahead
            )));
        }
        Ok(())
    }
}
