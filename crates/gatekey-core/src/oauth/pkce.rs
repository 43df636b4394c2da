//! Proof Key for Code Exchange (RFC 7636), S256 only: `plain` gives no protection once the
//! authorization request leaks, so RFC 9700 §2.1.1 says not to use it.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use gatekey_proto::pkce::is_well_formed_verifier;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// Why a PKCE value was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum PkceError {
    /// A method other than S256.
    #[error("code_challenge_method must be S256")]
    UnsupportedMethod,
    /// A challenge that is not 43 base64url characters.
    #[error("code_challenge must be the 43-character base64url SHA-256 of the verifier")]
    MalformedChallenge,
    /// A verifier outside RFC 7636 §4.1's alphabet or length.
    #[error("code_verifier must be 43 to 128 characters of A-Z a-z 0-9 - . _ ~")]
    MalformedVerifier,
}

/// Checks the authorization request's `code_challenge` and `code_challenge_method` (which
/// defaults to `plain` in RFC 7636 §4.3, and is therefore required here).
pub fn validate_challenge(challenge: &str, method: Option<&str>) -> Result<(), PkceError> {
    if method != Some("S256") {
        return Err(PkceError::UnsupportedMethod);
    }
    let well_formed = challenge.len() == 43
        && challenge
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if well_formed {
        Ok(())
    } else {
        Err(PkceError::MalformedChallenge)
    }
}

/// Checks a verifier's form (RFC 7636 §4.1).
pub fn validate_verifier(verifier: &str) -> Result<(), PkceError> {
    if is_well_formed_verifier(verifier) {
        Ok(())
    } else {
        Err(PkceError::MalformedVerifier)
    }
}

/// The S256 challenge of a verifier: BASE64URL(SHA256(verifier)) (RFC 7636 §4.2).
pub fn s256_challenge(verifier: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()))
}

/// Whether `verifier` answers `challenge` (RFC 7636 §4.6), compared in constant time.
pub fn verifier_matches(verifier: &str, challenge: &str) -> bool {
    validate_verifier(verifier).is_ok()
        && bool::from(
            s256_challenge(verifier)
                .as_bytes()
                .ct_eq(challenge.as_bytes()),
        )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc_7636_appendix_b() {
        let verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
        assert_eq!(
            s256_challenge(verifier),
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        );
        assert!(verifier_matches(
            verifier,
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        ));
        assert!(!verifier_matches(
            "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXK",
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        ));
    }

    #[test]
    fn plain_and_malformed_values_are_refused() {
        let challenge = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";
        assert_eq!(validate_challenge(challenge, Some("S256")), Ok(()));
        assert_eq!(
            validate_challenge(challenge, Some("plain")),
            Err(PkceError::UnsupportedMethod)
        );
        assert_eq!(
            validate_challenge(challenge, None),
            Err(PkceError::UnsupportedMethod)
        );
        assert_eq!(
            validate_challenge("short", Some("S256")),
            Err(PkceError::MalformedChallenge)
        );
        assert_eq!(
            validate_verifier("short"),
            Err(PkceError::MalformedVerifier)
        );
        assert_eq!(
            validate_verifier(&"a".repeat(129)),
            Err(PkceError::MalformedVerifier)
        );
    }
}
