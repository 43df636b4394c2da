//! The secrets the verifier holds or sees: its own client secret, shown in no `Debug` output,
//! and the SHA-256 digest under which a presented credential is cached, never the credential.

use std::fmt;

use sha2::{Digest, Sha256};

/// The introspecting application's client secret (`gk_cs_…`). `Debug` does not show it.
#[derive(Clone)]
pub struct ClientSecret(String);

impl ClientSecret {
    /// Wraps `secret`.
    pub fn new(secret: impl Into<String>) -> Self {
        Self(secret.into())
    }

    /// The secret itself, for the `Authorization` header of an introspection request only.
    pub(crate) fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for ClientSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ClientSecret(<redacted>)")
    }
}

impl From<String> for ClientSecret {
    fn from(secret: String) -> Self {
        Self(secret)
    }
}

impl From<&str> for ClientSecret {
    fn from(secret: &str) -> Self {
        Self(secret.to_owned())
    }
}

/// The SHA-256 of a presented credential: what the caches are keyed by, so a memory dump of
/// the caches yields no usable credential.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) struct CredentialDigest([u8; 32]);

impl CredentialDigest {
    /// The digest of `credential`.
    pub(crate) fn of(credential: &str) -> Self {
        Self(Sha256::digest(credential.as_bytes()).into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_never_shows_the_client_secret() {
        let secret = ClientSecret::new("gk_cs_topsecret");
        assert!(!format!("{secret:?}").contains("topsecret"));
        assert_eq!(secret.expose(), "gk_cs_topsecret");
    }

    #[test]
    fn digests_tell_credentials_apart() {
        assert!(CredentialDigest::of("a") == CredentialDigest::of("a"));
        assert!(CredentialDigest::of("a") != CredentialDigest::of("b"));
    }
}
