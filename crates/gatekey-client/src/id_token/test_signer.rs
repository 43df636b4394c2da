//! Signing ID tokens in tests, with keys made as the server makes them (so the JWKS the tests
//! serve has the server's shape) and signatures made by the RustCrypto crates directly.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use gatekey_core::oauth::signing_key_material::generate_key;
use gatekey_core::oauth::signing_key_schedule::SigningAlgorithm;
use serde_json::{json, Value};

/// A key pair: its public JWK and a way to sign.
pub(crate) struct TestKey {
    pub(crate) kid: String,
    pub(crate) jwk: Value,
    algorithm: SigningAlgorithm,
    pkcs8: Vec<u8>,
}

impl TestKey {
    pub(crate) fn generate(algorithm: SigningAlgorithm) -> Self {
        let key = generate_key(algorithm).expect("generates");
        Self {
            kid: key.kid.clone(),
            jwk: serde_json::from_str(&key.public_jwk).expect("JSON"),
            algorithm,
            pkcs8: key.private_key.pkcs8_der().to_vec(),
        }
    }

    /// The JWS algorithm name.
    pub(crate) fn alg(&self) -> &'static str {
        self.algorithm.as_str()
    }

    /// A compact JWS of `claims` with this key's `alg` and `kid`.
    pub(crate) fn sign(&self, claims: &Value) -> String {
        self.sign_with_header(
            &json!({"alg": self.alg(), "kid": self.kid, "typ": "JWT"}),
            claims,
        )
    }

    /// A compact JWS with the header given, signed with this key whatever the header says.
    pub(crate) fn sign_with_header(&self, header: &Value, claims: &Value) -> String {
        let input = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(header.to_string()),
            URL_SAFE_NO_PAD.encode(claims.to_string())
        );
        let signature = self.signature(input.as_bytes());
        format!("{input}.{}", URL_SAFE_NO_PAD.encode(signature))
    }

    fn signature(&self, message: &[u8]) -> Vec<u8> {
        match self.algorithm {
            SigningAlgorithm::Rs256 => {
                use rsa::pkcs8::DecodePrivateKey;
                use rsa::signature::{SignatureEncoding, Signer};
                let key = rsa::RsaPrivateKey::from_pkcs8_der(&self.pkcs8).expect("RSA key");
                rsa::pkcs1v15::SigningKey::<sha2::Sha256>::new(key)
                    .sign(message)
                    .to_vec()
            }
            SigningAlgorithm::Es256 => {
                use p256::ecdsa::signature::Signer;
                use p256::pkcs8::DecodePrivateKey;
                let key = p256::ecdsa::SigningKey::from_pkcs8_der(&self.pkcs8).expect("EC key");
                let signature: p256::ecdsa::Signature = key.sign(message);
                signature.to_bytes().to_vec()
            }
            SigningAlgorithm::EdDsa => {
                use ed25519_dalek::pkcs8::DecodePrivateKey;
                use ed25519_dalek::Signer;
                let key =
                    ed25519_dalek::SigningKey::from_pkcs8_der(&self.pkcs8).expect("Ed25519 key");
                key.sign(message).to_bytes().to_vec()
            }
        }
    }
}
