//! `[leak_reports]`: the secret scanners that may report gatekey secrets found leaked, and how
//! each proves who it is (see docs/security.md, "Leaked secrets"). Both are off by default, and
//! their endpoints answer 404 while off.

use std::fmt;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use super::ConfigError;

/// Fewest characters of the GitLab bearer token: it is the whole of that endpoint's protection.
pub const MIN_GITLAB_TOKEN_LEN: usize = 32;

/// Which scanners may report leaked secrets. `Debug` never shows the GitLab token.
#[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LeakReportsConfig {
    /// The bearer token GitLab's secret detection sends to the token revocation API (best given
    /// as `GATEKEY_LEAK_REPORTS__GITLAB_TOKEN`). Unset: the GitLab endpoints answer 404.
    pub gitlab_token: Option<String>,
}

impl fmt::Debug for LeakReportsConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LeakReportsConfig")
            .field("gitlab_token", &self.gitlab_token.as_ref().map(|_| "…"))
            .finish()
    }
}

impl LeakReportsConfig {
    /// Whether GitLab's token revocation API is served.
    pub fn gitlab_enabled(&self) -> bool {
        self.gitlab_token.is_some()
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
        };
        assert!(config.validate().is_ok());
        assert!(config.gitlab_token_matches(&token));
        assert!(!config.gitlab_token_matches(&token[1..]));
        assert!(!config.gitlab_token_matches(""));
        assert!(!format!("{config:?}").contains(&token));
        assert!(!LeakReportsConfig::default().gitlab_token_matches(""));
    }

    #[test]
    fn a_short_token_is_refused() {
        let config = LeakReportsConfig {
            gitlab_token: Some("short".into()),
        };
        assert!(config.validate().is_err());
    }
}
