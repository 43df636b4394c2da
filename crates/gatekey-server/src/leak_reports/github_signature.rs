//! GitHub's signature on a secret scanning alert: an ECDSA P-256 signature with SHA-256 over
//! the raw request body, DER-encoded and then base64'd in `Github-Public-Key-Signature`, by the
//! key `Github-Public-Key-Identifier` names among those the operator configured.

use axum::http::{HeaderMap, StatusCode};
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use p256::ecdsa::signature::Verifier;
use p256::ecdsa::Signature;

use crate::config::LeakReportsConfig;
use crate::error::ApiError;

/// The header naming the signing key.
pub const KEY_IDENTIFIER_HEADER: &str = "github-public-key-identifier";
/// The header carrying the signature.
pub const SIGNATURE_HEADER: &str = "github-public-key-signature";

/// Why an alert was not taken as GitHub's. Each is a 401: the body is not read further.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignatureRefused {
    /// A header is missing or not text.
    MissingHeaders,
    /// No configured key has that identifier.
    UnknownKey,
    /// The signature is not base64 of a DER ECDSA signature, or does not verify.
    BadSignature,
}

impl From<SignatureRefused> for ApiError {
    fn from(refused: SignatureRefused) -> Self {
        let description = match refused {
            SignatureRefused::MissingHeaders => {
                "Github-Public-Key-Identifier and Github-Public-Key-Signature are required"
            }
            SignatureRefused::UnknownKey => "the signing key is not one this server trusts",
            SignatureRefused::BadSignature => "the signature does not match the body",
        };
        ApiError::new(StatusCode::UNAUTHORIZED, "invalid_signature", description)
    }
}

/// The identifier and signature headers of a request, before the body is read.
pub struct SignatureHeaders {
    identifier: String,
    signature: String,
}

impl SignatureHeaders {
    /// Reads both headers.
    pub fn from_headers(headers: &HeaderMap) -> Result<Self, SignatureRefused> {
        let text = |name: &str| {
            headers
                .get(name)
                .and_then(|value| value.to_str().ok())
                .map(|value| value.trim().to_owned())
                .filter(|value| !value.is_empty())
        };
        match (text(KEY_IDENTIFIER_HEADER), text(SIGNATURE_HEADER)) {
            (Some(identifier), Some(signature)) => Ok(Self {
                identifier,
                signature,
            }),
            _ => Err(SignatureRefused::MissingHeaders),
        }
    }

    /// Checks the signature over `body` with the configured key the identifier names.
    pub fn verify(&self, config: &LeakReportsConfig, body: &[u8]) -> Result<(), SignatureRefused> {
        let key = config
            .github_key(&self.identifier)
            .and_then(|key| key.verifying_key())
            .ok_or(SignatureRefused::UnknownKey)?;
        let der = STANDARD
            .decode(&self.signature)
            .map_err(|_| SignatureRefused::BadSignature)?;
        let signature = Signature::from_der(&der).map_err(|_| SignatureRefused::BadSignature)?;
        key.verify(body, &signature)
            .map_err(|_| SignatureRefused::BadSignature)
    }
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderValue;
    use p256::ecdsa::signature::Signer;
    use p256::ecdsa::SigningKey;
    use p256::pkcs8::{EncodePublicKey, LineEnding};

    use super::*;
    use crate::config::GithubPublicKey;

    fn leak_reports_test_key(identifier: &str, pem: &str) -> LeakReportsConfig {
        LeakReportsConfig {
            github_public_keys: vec![GithubPublicKey {
                key_identifier: identifier.into(),
                key: pem.into(),
            }],
            ..LeakReportsConfig::default()
        }
    }

    fn headers(identifier: &str, signature: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(
            KEY_IDENTIFIER_HEADER,
            HeaderValue::from_str(identifier).expect("id"),
        );
        headers.insert(
            SIGNATURE_HEADER,
            HeaderValue::from_str(signature).expect("sig"),
        );
        headers
    }

    fn sign(key: &SigningKey, body: &[u8]) -> String {
        let signature: Signature = key.sign(body);
        STANDARD.encode(signature.to_der().as_bytes())
    }

    #[test]
    fn only_the_named_keys_signature_over_the_exact_body_verifies() {
        let key = SigningKey::random(&mut rand::rngs::OsRng);
        let pem = key
            .verifying_key()
            .to_public_key_pem(LineEnding::LF)
            .expect("pem");
        let config = leak_reports_test_key("k1", &pem);
        let body = br#"[{"token":"x","type":"t","url":"u","source":"content"}]"#;
        let good = sign(&key, body);
        let check = |id: &str, sig: &str, body: &[u8]| {
            SignatureHeaders::from_headers(&headers(id, sig))?.verify(&config, body)
        };
        assert_eq!(check("k1", &good, body), Ok(()));
        assert_eq!(
            check("k1", &good, b"[]"),
            Err(SignatureRefused::BadSignature)
        );
        assert_eq!(check("k2", &good, body), Err(SignatureRefused::UnknownKey));
        assert_eq!(
            check("k1", "bm90IGRlcg==", body),
            Err(SignatureRefused::BadSignature)
        );
        let other = SigningKey::random(&mut rand::rngs::OsRng);
        assert_eq!(
            check("k1", &sign(&other, body), body),
            Err(SignatureRefused::BadSignature)
        );
        assert!(matches!(
            SignatureHeaders::from_headers(&HeaderMap::new()),
            Err(SignatureRefused::MissingHeaders)
        ));
    }
}
