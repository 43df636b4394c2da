//! The `Authorization` header and the secrets in it: `client_secret_basic` at the token
//! endpoint (RFC 6749 §2.3.1), Bearer credentials at the REST API (RFC 6750 §2.1), and the
//! `gk_…` secret format. Whatever is accepted survives a round trip; whatever is refused is
//! refused with the status or error code its endpoint answers.

#![no_main]

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use gatekey_core::secret::{Secret, SecretKind, TokenHash};
use gatekey_server::input::{bearer_credential, client_credentials};
use libfuzzer_sys::fuzz_target;

const KINDS: [SecretKind; 7] = [
    SecretKind::ApiKey,
    SecretKind::AccessToken,
    SecretKind::RefreshToken,
    SecretKind::AuthorizationCode,
    SecretKind::DeviceCode,
    SecretKind::ClientSecret,
    SecretKind::Session,
];

fn form_url_encode(text: &str) -> String {
    url::form_urlencoded::byte_serialize(text.as_bytes()).collect()
}

fn check_secret(text: &str) {
    for kind in KINDS {
        if let Ok(secret) = Secret::parse(kind, text) {
            assert!(text.starts_with(kind.prefix()), "{text:?}");
            assert_eq!(secret.kind(), kind);
            assert_eq!(secret.expose(), text);
            assert_eq!(secret.hash(), TokenHash::of(text));
            assert_eq!(SecretKind::of(text), Some(kind));
            assert!(
                !format!("{secret:?}").contains(text),
                "Debug shows the secret"
            );
        }
    }
}

fuzz_target!(|data: &[u8]| {
    match client_credentials(data) {
        Ok((id, secret)) => {
            assert!(!id.is_empty());
            // Encoding what was read gives a header that reads the same (RFC 6749 Appendix B).
            let encoded = STANDARD.encode(format!(
                "{}:{}",
                form_url_encode(&id),
                form_url_encode(&secret)
            ));
            let again = client_credentials(format!("Basic {encoded}").as_bytes());
            assert_eq!(again, Ok((id, secret)));
        }
        Err(code) => assert!(
            matches!(code, "invalid_client" | "invalid_request"),
            "{code}"
        ),
    }
    match bearer_credential(data) {
        Ok(token) => {
            assert!(!token.is_empty() && !token.contains(' '), "{token:?}");
            check_secret(&token);
        }
        Err(status) => assert!(matches!(status, 400 | 401), "{status}"),
    }
    if let Ok(text) = std::str::from_utf8(data) {
        check_secret(text);
    }
});
