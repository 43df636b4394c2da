//! `[leak_reports]`: the secret scanners that may report gatekey secrets found leaked, and how
//! each proves who it is (see docs/security.md, "Leaked secrets"). Both are off by default, and
//! their endpoints answer 404 while off.

use std::collections::HashSet;
use std::fmt;

use p256::ecdsa::VerifyingKey;
use p256::pkcs8::DecodePublicKey;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use super::ConfigError;

/// Fewest characters of the GitLab bearer token: it is the whole of that endpoint's protection.
pub const MIN_GITLAB_TOKEN_LEN: usize = 32;

/// Which scanners may report leaked secrets. `Debug` never shows the GitLab token.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LeakReportsConfig {
    /// Reports one server takes per wall-clock minute, all scanners together; past it, 429.
    /// 0 takes every report.
    pub reports_per_minute: u32,
    /// The bearer token GitLab's secret detection sends to the token revocation API (best given
    /// as `GATEKEY_LEAK_REPORTS__GITLAB_TOKEN`). Unset: the GitLab endpoints answer 404.
    pub gitlab_token: Option<String>,
    /// The keys GitHub signs its secret scanning alerts with, as its public keys document
    /// lists them (`[[leak_reports.github_public_keys]]`). None: the GitHub endpoint answers 404.
    pub github_public_keys: Vec<GithubPublicKey>,
}

/// One ECDSA P-256 public key of GitHub's secret scanning, named as in GitHub's public keys
/// document so that its entries can be copied as they are.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GithubPublicKey {
    /// What the `Github-Public-Key-Identifier` header names it by.
    pub key_identifier: String,
    /// The key, PEM (`-----BEGIN PUBLIC KEY-----`).
    pub key: String,
}

impl GithubPublicKey {
    /// The key, ready to verify with; `None` when the PEM is no P-256 public key (refused at
    /// start by [`LeakReportsConfig`]'s validation).
    pub fn verifying_key(&self) -> Option<VerifyingKey> {
        VerifyingKey::from_public_key_pem(self.key.trim()).ok()
    }
}

impl Default for LeakReportsConfig {
    fn default() -> Self {
        Self {
            reports_per_minute: 60,
            gitlab_token: None,
            github_public_keys: Vec::new(),
        }
    }
}

impl fmt::Debug for LeakReportsConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LeakReportsConfig")
            .field("reports_per_minute", &self.reports_per_minute)
            .field("gitlab_token", &self.gitlab_token.as_ref().map(|_| "…"))
            .field("github_public_keys", &self.github_public_keys)
            .finish()
    }
}

impl LeakReportsConfig {
    /// Whether GitLab's token revocation API is served.
    pub fn gitlab_enabled(&self) -> bool {
        self.gitlab_token.is_some()
    }

    /// Whether GitHub's secret scanning alerts are accepted.
    pub fn github_enabled(&self) -> bool {
        !self.github_public_keys.is_empty()
    }

    /// The configured GitHub key named `identifier`.
    pub fn github_key(&self, identifier: &str) -> Option<&GithubPublicKey> {
        self.github_public_keys
            .iter()
            .find(|key| key.key_identifier == identifier)
    }

    /// Whether `presented` is the configured GitLab token. Both sides are hashed first, so the
    /// comparison takes the same time whatever the length or content of a wrong guess.
    pub fn gitlab_token_matches(&self, presented: &str) -> bool {
        self.gitlab_token.as_ref().is_some_and(|expected| {
            let expected = Sha256::digest(expected.as_bytes());
            let presented = Sha256::digest(presented.as_bytes());
            bool::from(expected.ct_eq(&presented))
        })
    }

    pub(super) fn validate(&self) -> Result<(), ConfigError> {
        if let Some(token) = &self.gitlab_token {
            if token.chars().count() < MIN_GITLAB_TOKEN_LEN || token.trim() != token {
                return Err(ConfigError::Invalid(format!(
                    "leak_reports.gitlab_token must be at least {MIN_GITLAB_TOKEN_LEN} characters \
                     without surrounding spaces"
                )));
            }
        }
        let mut identifiers = HashSet::new();
        for (index, key) in self.github_public_keys.iter().enumerate() {
            if key.key_identifier.is_empty() || !identifiers.insert(&key.key_identifier) {
                return Err(ConfigError::Invalid(format!(
                    "leak_reports.github_public_keys[{index}]: key_identifier must be set and \
                     unique"
                )));
            }
            if key.verifying_key().is_none() {
                return Err(ConfigError::Invalid(format!(
                    "leak_reports.github_public_keys[{index}] ({}): key must be an ECDSA P-256 \
                     public key in PEM",
                    key.key_identifier
                )));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_configured_token_matches_and_debug_hides_it() {
        let token = "a".repeat(MIN_GITLAB_TOKEN_LEN);
        let config = LeakReportsConfig {
            gitlab_token: Some(token.clone()),
            ..LeakReportsConfig::default()
        };
        assert!(config.validate().is_ok());
        assert!(config.gitlab_token_matches(&token));
        assert!(!config.gitlab_token_matches(&token[1..]));
        assert!(!config.gitlab_token_matches(""));
        assert!(!format!("{config:?}").contains(&token));
        assert!(!LeakReportsConfig::default().gitlab_token_matches(""));
    }

    #[test]
    // figment's `Jail` closures return its own (large) error type; that is its API, not ours.
    #[allow(clippy::result_large_err)]
    fn the_gitlab_token_comes_from_the_environment_as_a_known_key() {
        figment::Jail::expect_with(|jail| {
            jail.clear_env();
            let token = "b".repeat(MIN_GITLAB_TOKEN_LEN);
            jail.set_env("GATEKEY_LEAK_REPORTS__GITLAB_TOKEN", &token);
            jail.set_env("GATEKEY_LEAK_REPORTS__REPORTS_PER_MINUTE", "7");
            let (config, ignored) =
                crate::config::Config::load_reporting(None, &Default::default()).expect("loads");
            assert_eq!(
                config.leak_reports.gitlab_token.as_deref(),
                Some(token.as_str())
            );
            assert_eq!(config.leak_reports.reports_per_minute, 7);
            assert_eq!(ignored.names().count(), 0, "both are configuration keys");
            assert!(!format!("{config:?}").contains(&token), "never shown");
            Ok(())
        });
    }

    #[test]
    fn a_short_token_is_refused() {
        let config = LeakReportsConfig {
            gitlab_token: Some("short".into()),
            ..LeakReportsConfig::default()
        };
        assert!(config.validate().is_err());
    }

    #[test]
    fn github_keys_must_be_p256_pem_with_unique_identifiers() {
        use p256::pkcs8::{EncodePublicKey, LineEnding};
        let signing = p256::ecdsa::SigningKey::random(&mut rand::rngs::OsRng);
        let pem = signing
            .verifying_key()
            .to_public_key_pem(LineEnding::LF)
            .expect("pem");
        let key = |id: &str, pem: &str| GithubPublicKey {
            key_identifier: id.into(),
            key: pem.into(),
        };
        let good = LeakReportsConfig {
            github_public_keys: vec![key("a", &pem)],
            ..LeakReportsConfig::default()
        };
        assert!(good.validate().is_ok());
        assert!(good.github_enabled() && good.github_key("a").is_some());
        for bad in [
            vec![key("a", "not a key")],
            vec![key("", &pem)],
            vec![key("a", &pem), key("a", &pem)],
        ] {
            let config = LeakReportsConfig {
                github_public_keys: bad,
                ..LeakReportsConfig::default()
            };
            assert!(config.validate().is_err());
        }
    }
}
