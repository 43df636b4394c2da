//! Signing key material: generating ES256, RS256 and EdDSA keys, their public JWK (RFC 7517
//! §4, with `kid`, `alg`, `use`), and sealing the private half under the key-encryption key
//! with AES-256-GCM, so the database never holds a private key in plain text.
//!
//! The `kid` is the key's JWK thumbprint (RFC 7638 §3): it names the key itself, so no two
//! keys share one and a verifier can recompute it.

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{AeadCore, Aes256Gcm, Key, Nonce};
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;
use ed25519_dalek::pkcs8::{DecodePrivateKey, EncodePrivateKey};
use rand::rngs::OsRng;
use rsa::traits::PublicKeyParts;
use sha2::{Digest, Sha256};

use super::signing_key_schedule::SigningAlgorithm;

/// The size of an RSA key gatekey generates, in bits.
pub const RSA_BITS: usize = 2048;

/// The 32-byte key that seals the signing keys' private halves. `Debug` shows nothing of it.
#[derive(Clone)]
pub struct KeyEncryptionKey([u8; 32]);

impl std::fmt::Debug for KeyEncryptionKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("KeyEncryptionKey(…)")
    }
}

/// Why a key-encryption key, or a sealed key, could not be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyMaterialError {
    /// The key-encryption key's text is not 32 bytes in standard base64.
    #[error("the key-encryption key must be 32 bytes in base64 (make one with `openssl rand -base64 32`)")]
    MalformedKek,
    /// The key-encryption key does not open a stored key: it is not the key that sealed it, or
    /// the stored key was altered.
    #[error("the key-encryption key does not decrypt signing key {kid}: it is not the key that encrypted it, or the stored key was altered")]
    WrongKek {
        /// The key that would not open.
        kid: String,
    },
    /// The crypto library failed to make or encode a key.
    #[error("could not generate a {0} key")]
    Generation(SigningAlgorithm),
}

impl KeyEncryptionKey {
    /// A fresh random key.
    pub fn generate() -> Self {
        let key = Aes256Gcm::generate_key(OsRng);
        Self(key.into())
    }

    /// Reads a key written by [`Self::to_base64`] (surrounding whitespace ignored).
    pub fn from_base64(text: &str) -> Result<Self, KeyMaterialError> {
        let bytes = STANDARD
            .decode(text.trim())
            .map_err(|_| KeyMaterialError::MalformedKek)?;
        let key: [u8; 32] = bytes
            .try_into()
            .map_err(|_| KeyMaterialError::MalformedKek)?;
        Ok(Self(key))
    }

    /// The key as standard base64, the form a key file holds.
    pub fn to_base64(&self) -> String {
        STANDARD.encode(self.0)
    }

    /// Seals `private_key` (PKCS#8 DER) for the key `kid`; the `kid` is bound in as associated
    /// data, so a sealed key copied onto another row does not open.
    pub fn seal(
        &self,
        kid: &str,
        private_key: &[u8],
    ) -> Result<SealedPrivateKey, KeyMaterialError> {
        let cipher = Aes256Gcm::new(Key::<Aes256Gcm>::from_slice(&self.0));
        let nonce = Aes256Gcm::generate_nonce(OsRng);
        let ciphertext = cipher
            .encrypt(
                &nonce,
                Payload {
                    msg: private_key,
                    aad: kid.as_bytes(),
                },
            )
            .map_err(|_| KeyMaterialError::WrongKek { kid: kid.into() })?;
        Ok(SealedPrivateKey {
            ciphertext,
            nonce: nonce.to_vec(),
        })
    }

    /// Opens a key sealed by [`Self::seal`] for `kid`, and checks it is a private key of
    /// `algorithm`.
    pub fn open(
        &self,
        kid: &str,
        algorithm: SigningAlgorithm,
        sealed: &SealedPrivateKey,
    ) -> Result<PrivateKey, KeyMaterialError> {
        let wrong = || KeyMaterialError::WrongKek { kid: kid.into() };
        if sealed.nonce.len() != 12 {
            return Err(wrong());
        }
        let cipher = Aes256Gcm::new(Key::<Aes256Gcm>::from_slice(&self.0));
        let der = cipher
            .decrypt(
                Nonce::from_slice(&sealed.nonce),
                Payload {
                    msg: &sealed.ciphertext,
                    aad: kid.as_bytes(),
                },
            )
            .map_err(|_| wrong())?;
        let parses = match algorithm {
            SigningAlgorithm::Es256 => p256::SecretKey::from_pkcs8_der(&der).is_ok(),
            SigningAlgorithm::Rs256 => rsa::RsaPrivateKey::from_pkcs8_der(&der).is_ok(),
            SigningAlgorithm::EdDsa => ed25519_dalek::SigningKey::from_pkcs8_der(&der).is_ok(),
        };
        if parses {
            Ok(PrivateKey(der))
        } else {
            Err(wrong())
        }
    }
}

/// A private key as AES-256-GCM ciphertext and its nonce: what the database holds.
#[derive(Clone, PartialEq, Eq)]
pub struct SealedPrivateKey {
    /// The sealed PKCS#8 DER, with its 16-byte tag.
    pub ciphertext: Vec<u8>,
    /// The 12-byte nonce, fresh for every key.
    pub nonce: Vec<u8>,
}

impl std::fmt::Debug for SealedPrivateKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SealedPrivateKey(…)")
    }
}

/// An opened private key, PKCS#8 DER. `Debug` shows nothing of it; it is wiped when dropped.
pub struct PrivateKey(Vec<u8>);

impl PrivateKey {
    /// The PKCS#8 DER encoding.
    pub fn pkcs8_der(&self) -> &[u8] {
        &self.0
    }
}

impl Drop for PrivateKey {
    fn drop(&mut self) {
        self.0.iter_mut().for_each(|byte| *byte = 0);
    }
}

impl std::fmt::Debug for PrivateKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PrivateKey(…)")
    }
}

/// A freshly generated key: its id, its public JWK, and its private half.
#[derive(Debug)]
pub struct GeneratedKey {
    /// The JWK thumbprint (RFC 7638).
    pub kid: String,
    /// The algorithm it signs with.
    pub algorithm: SigningAlgorithm,
    /// The public JWK as JSON text, with `kid`, `alg` and `use`.
    pub public_jwk: String,
    /// The private key.
    pub private_key: PrivateKey,
}

/// Generates a key of `algorithm` (RSA: [`RSA_BITS`] bits).
pub fn generate_key(algorithm: SigningAlgorithm) -> Result<GeneratedKey, KeyMaterialError> {
    let failed = |_| KeyMaterialError::Generation(algorithm);
    let (members, der) = match algorithm {
        SigningAlgorithm::Es256 => {
            let secret = p256::SecretKey::random(&mut OsRng);
            let point = p256::EncodedPoint::from(secret.public_key());
            let (Some(x), Some(y)) = (point.x(), point.y()) else {
                return Err(KeyMaterialError::Generation(algorithm));
            };
            let members = vec![
                ("crv", "P-256".to_owned()),
                ("kty", "EC".to_owned()),
                ("x", URL_SAFE_NO_PAD.encode(x)),
                ("y", URL_SAFE_NO_PAD.encode(y)),
            ];
            (members, secret.to_pkcs8_der().map_err(failed)?)
        }
        SigningAlgorithm::Rs256 => {
            let secret = rsa::RsaPrivateKey::new(&mut OsRng, RSA_BITS)
                .map_err(|_| KeyMaterialError::Generation(algorithm))?;
            let members = vec![
                ("e", URL_SAFE_NO_PAD.encode(secret.e().to_bytes_be())),
                ("kty", "RSA".to_owned()),
                ("n", URL_SAFE_NO_PAD.encode(secret.n().to_bytes_be())),
            ];
            (members, secret.to_pkcs8_der().map_err(failed)?)
        }
        SigningAlgorithm::EdDsa => {
            let secret = ed25519_dalek::SigningKey::generate(&mut OsRng);
            let members = vec![
                ("crv", "Ed25519".to_owned()),
                ("kty", "OKP".to_owned()),
                (
                    "x",
                    URL_SAFE_NO_PAD.encode(secret.verifying_key().as_bytes()),
                ),
            ];
            (members, secret.to_pkcs8_der().map_err(failed)?)
        }
    };
    let kid = thumbprint(&members);
    let mut jwk = serde_json::Map::new();
    for (name, value) in members {
        jwk.insert(name.into(), value.into());
    }
    jwk.insert("kid".into(), kid.clone().into());
    jwk.insert("alg".into(), algorithm.as_str().into());
    jwk.insert("use".into(), "sig".into());
    Ok(GeneratedKey {
        kid,
        algorithm,
        public_jwk: serde_json::Value::Object(jwk).to_string(),
        private_key: PrivateKey(der.as_bytes().to_vec()),
    })
}

/// RFC 7638 §3: SHA-256 over the required members, sorted, without whitespace.
fn thumbprint(members: &[(&str, String)]) -> String {
    let body: Vec<String> = members
        .iter()
        .map(|(name, value)| format!("\"{name}\":\"{value}\""))
        .collect();
    let canonical = format!("{{{}}}", body.join(","));
    URL_SAFE_NO_PAD.encode(Sha256::digest(canonical.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_algorithm_makes_a_public_jwk_named_by_its_thumbprint() {
        for algorithm in SigningAlgorithm::ALL {
            let key = generate_key(algorithm).expect("generates");
            let jwk: serde_json::Value = serde_json::from_str(&key.public_jwk).expect("json");
            assert_eq!(jwk["kid"], key.kid.as_str());
            assert_eq!(jwk["alg"], algorithm.as_str());
            assert_eq!(jwk["use"], "sig");
            for private_member in ["d", "p", "q", "dp", "dq", "qi"] {
                assert!(jwk.get(private_member).is_none(), "{algorithm}: {jwk}");
            }
        }
    }

    #[test]
    fn the_thumbprint_matches_rfc_7638_example() {
        // RFC 7638 §3.1.
        let n = "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw";
        let members = vec![
            ("e", "AQAB".to_owned()),
            ("kty", "RSA".to_owned()),
            ("n", n.to_owned()),
        ];
        assert_eq!(
            thumbprint(&members),
            "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"
        );
    }

    #[test]
    fn a_sealed_key_opens_only_with_its_kek_and_its_kid() {
        let kek = KeyEncryptionKey::generate();
        let key = generate_key(SigningAlgorithm::Es256).expect("generates");
        let sealed = kek
            .seal(&key.kid, key.private_key.pkcs8_der())
            .expect("seals");
        let der = key.private_key.pkcs8_der();
        assert!(!sealed
            .ciphertext
            .windows(der.len())
            .any(|window| window == der));
        let opened = kek
            .open(&key.kid, SigningAlgorithm::Es256, &sealed)
            .expect("opens");
        assert_eq!(opened.pkcs8_der(), der);

        let other = KeyEncryptionKey::generate();
        assert_eq!(
            other
                .open(&key.kid, SigningAlgorithm::Es256, &sealed)
                .expect_err("wrong kek"),
            KeyMaterialError::WrongKek {
                kid: key.kid.clone()
            }
        );
        assert!(kek
            .open("another", SigningAlgorithm::Es256, &sealed)
            .is_err());
    }

    #[test]
    fn a_kek_reads_back_from_base64_and_refuses_a_wrong_length() {
        let kek = KeyEncryptionKey::generate();
        let again =
            KeyEncryptionKey::from_base64(&format!("{}\n", kek.to_base64())).expect("reads");
        assert_eq!(again.0, kek.0);
        assert_eq!(
            KeyEncryptionKey::from_base64("c2hvcnQ=").expect_err("short"),
            KeyMaterialError::MalformedKek
        );
        assert_eq!(format!("{kek:?}"), "KeyEncryptionKey(…)");
    }
}
