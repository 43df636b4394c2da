//! The form of a PKCE code verifier (RFC 7636 §4.1), a wire-format rule both the client (before
//! it sends one) and the server (when it receives one) check.

/// Whether `verifier` has the form RFC 7636 §4.1 requires: 43 to 128 characters of
/// `[A-Z] / [a-z] / [0-9] / "-" / "." / "_" / "~"`.
pub fn is_well_formed_verifier(verifier: &str) -> bool {
    (43..=128).contains(&verifier.len())
        && verifier
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn length_and_alphabet_decide() {
        assert!(is_well_formed_verifier(&"a".repeat(43)));
        assert!(is_well_formed_verifier(&"-._~Az9".repeat(19)[..128]));
        assert!(!is_well_formed_verifier(&"a".repeat(42)));
        assert!(!is_well_formed_verifier(&"a".repeat(129)));
        assert!(!is_well_formed_verifier(&format!("{}+", "a".repeat(42))));
        assert!(!is_well_formed_verifier(&format!("{}é", "a".repeat(42))));
    }
}
