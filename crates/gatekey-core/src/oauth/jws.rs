//! Compact JSON Web Signatures (RFC 7515 §7.1): signing claims with one of the server's keys,
//! and verifying a token against the keys the server publishes.
//!
//! Verification is strict on purpose, because every JWT attack lives in a lenient verifier
//! (RFC 8725 §2): the algorithm comes from the key, never from the token, so `none`, `HS256`
//! over a public key, or an RSA token checked by an EC key are all refused (§3.1); a `kid` must
//! name a published key; a `crit` header is refused, since gatekey understands no extension
//! (RFC 7515 §4.1.11); the `typ` is checked when the caller names one (RFC 8725 §3.11). Claims
//! are not judged here: [`super::jwt_claims`] does that after the signature holds.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use ed25519_dalek::pkcs8::DecodePrivateKey;
use rsa::pkcs1v15;
use rsa::signature::{SignatureEncoding, Signer, Verifier};
use serde::Serialize;
use serde_json::{Map, Value};
use sha2::Sha256;

use super::signing_key_material::{KeyMaterialError, PrivateKey};
use super::signing_key_schedule::SigningAlgorithm;

/// The longest token verified, in bytes: far above any token gatekey signs, and a bound on
/// the work an attacker can ask for.
pub const MAX_TOKEN_LENGTH: usize = 16 * 1024;

/// The smallest RSA modulus a published key may have (RFC 7518 §3.3: 2048 bits).
const MIN_RSA_BITS: usize = 2048;

/// Why a token could not be signed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignError {
    /// The claims did not serialize to a JSON object.
    #[error("the claims are not a JSON object")]
    ClaimsNotAnObject,
}

/// Why a token was refused. The messages are safe to show a caller: they name the rule, not
/// the key material.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum JwsError {
    /// Not three base64url parts of a JSON header and payload, or too long.
    #[error("the token is not a compact JWS")]
    Malformed,
    /// The header names an algorithm gatekey does not verify (`none`, `HS256`, …).
    #[error("the token's algorithm {0:?} is not accepted")]
    UnsupportedAlgorithm(String),
    /// The header carries `crit`: an extension gatekey does not understand (RFC 7515 §4.1.11).
    #[error("the token names critical header parameters, which are not supported")]
    CriticalHeader,
    /// No `kid`, or no published key of the token's algorithm has it.
    #[error("the token's key is not one of the published keys")]
    UnknownKey,
    /// The signature does not verify.
    #[error("the token's signature does not verify")]
    BadSignature,
    /// The `typ` header is not the one this kind of token must carry.
    #[error("the token's type is not {expected}")]
    WrongType {
        /// The type expected.
        expected: &'static str,
    },
}

enum SigningKey {
    Es256(p256::ecdsa::SigningKey),
    Rs256(pkcs1v15::SigningKey<Sha256>),
    EdDsa(ed25519_dalek::SigningKey),
}

/// One private key ready to sign, with its `kid`. `Debug` shows only the `kid` and algorithm.
pub struct JwsSigner {
    kid: String,
    algorithm: SigningAlgorithm,
    key: SigningKey,
}

impl std::fmt::Debug for JwsSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JwsSigner")
            .field("kid", &self.kid)
            .field("algorithm", &self.algorithm)
            .finish_non_exhaustive()
    }
}

impl JwsSigner {
    /// The signer of the opened private key `key` (PKCS#8) of `algorithm`, named `kid`.
    pub fn new(
        kid: &str,
        algorithm: SigningAlgorithm,
        key: &PrivateKey,
    ) -> Result<Self, KeyMaterialError> {
        let der = key.pkcs8_der();
        let unreadable = |_| KeyMaterialError::WrongKek {
            kid: kid.to_owned(),
        };
        let key = match algorithm {
            SigningAlgorithm::Es256 => {
                SigningKey::Es256(p256::ecdsa::SigningKey::from_pkcs8_der(der).map_err(unreadable)?)
            }
            SigningAlgorithm::Rs256 => {
                let private = rsa::RsaPrivateKey::from_pkcs8_der(der).map_err(unreadable)?;
                SigningKey::Rs256(pkcs1v15::SigningKey::new(private))
            }
            SigningAlgorithm::EdDsa => SigningKey::EdDsa(
                ed25519_dalek::SigningKey::from_pkcs8_der(der).map_err(unreadable)?,
            ),
        };
        Ok(Self {
            kid: kid.to_owned(),
            algorithm,
            key,
        })
    }

    /// The key's id.
    pub fn kid(&self) -> &str {
        &self.kid
    }

    /// The algorithm it signs with.
    pub fn algorithm(&self) -> SigningAlgorithm {
        self.algorithm
    }

    /// `claims` as a compact JWS with the header `{"alg","kid","typ"}`.
    pub fn sign(&self, typ: &str, claims: &impl Serialize) -> Result<String, SignError> {
        let claims = serde_json::to_value(claims).map_err(|_| SignError::ClaimsNotAnObject)?;
        if !claims.is_object() {
            return Err(SignError::ClaimsNotAnObject);
        }
        let header = serde_json::json!({
            "alg": self.algorithm.as_str(),
            "kid": self.kid,
            "typ": typ,
        });
        let mut token = String::with_capacity(512);
        URL_SAFE_NO_PAD.encode_string(header.to_string(), &mut token);
        token.push('.');
        URL_SAFE_NO_PAD.encode_string(claims.to_string(), &mut token);
        let signature = self.signature(token.as_bytes());
        token.push('.');
        URL_SAFE_NO_PAD.encode_string(signature, &mut token);
        Ok(token)
    }

    /// The signature over `input` in JWS form: `R || S` for ECDSA (RFC 7518 §3.4), the
    /// PKCS#1 v1.5 block for RSA (§3.3), the 64-byte Ed25519 signature (RFC 8037 §3.1).
    fn signature(&self, input: &[u8]) -> Vec<u8> {
        match &self.key {
            SigningKey::Es256(key) => {
                let signature: p256::ecdsa::Signature = key.sign(input);
                signature.to_bytes().to_vec()
            }
            SigningKey::Rs256(key) => key.sign(input).to_vec(),
            SigningKey::EdDsa(key) => key.sign(input).to_bytes().to_vec(),
        }
    }
}

#[derive(Clone)]
enum VerifyingKey {
    Es256(p256::ecdsa::VerifyingKey),
    Rs256(pkcs1v15::VerifyingKey<Sha256>),
    EdDsa(ed25519_dalek::VerifyingKey),
}

impl VerifyingKey {
    fn algorithm(&self) -> SigningAlgorithm {
        match self {
            Self::Es256(_) => SigningAlgorithm::Es256,
            Self::Rs256(_) => SigningAlgorithm::Rs256,
            Self::EdDsa(_) => SigningAlgorithm::EdDsa,
        }
    }

    fn verifies(&self, input: &[u8], signature: &[u8]) -> bool {
        match self {
            Self::Es256(key) => p256::ecdsa::Signature::from_slice(signature)
                .is_ok_and(|signature| key.verify(input, &signature).is_ok()),
            Self::Rs256(key) => pkcs1v15::Signature::try_from(signature)
                .is_ok_and(|signature| key.verify(input, &signature).is_ok()),
            Self::EdDsa(key) => ed25519_dalek::Signature::from_slice(signature)
                .is_ok_and(|signature| key.verify_strict(input, &signature).is_ok()),
        }
    }

    /// The key of a public JWK (RFC 7517 §4; EC and RSA members from RFC 7518 §6, OKP from
    /// RFC 8037 §2), when it is one gatekey verifies with.
    fn from_jwk(jwk: &Map<String, Value>) -> Option<(String, Self)> {
        let member = |name: &str| jwk.get(name).and_then(Value::as_str);
        let bytes = |name: &str| member(name).and_then(|v| URL_SAFE_NO_PAD.decode(v).ok());
        let kid = member("kid")?.to_owned();
        let algorithm: SigningAlgorithm = member("alg")?.parse().ok()?;
        let key = match (algorithm, member("kty")?) {
            (SigningAlgorithm::Es256, "EC") if member("crv")? == "P-256" => {
                let point = p256::EncodedPoint::from_affine_coordinates(
                    p256::FieldBytes::from_slice(&fixed::<32>(&bytes("x")?)?),
                    p256::FieldBytes::from_slice(&fixed::<32>(&bytes("y")?)?),
                    false,
                );
                Self::Es256(p256::ecdsa::VerifyingKey::from_encoded_point(&point).ok()?)
            }
            (SigningAlgorithm::Rs256, "RSA") => {
                let n = rsa::BigUint::from_bytes_be(&bytes("n")?);
                let e = rsa::BigUint::from_bytes_be(&bytes("e")?);
                if n.bits() < MIN_RSA_BITS {
                    return None;
                }
                Self::Rs256(pkcs1v15::VerifyingKey::new(
                    rsa::RsaPublicKey::new(n, e).ok()?,
                ))
            }
            (SigningAlgorithm::EdDsa, "OKP") if member("crv")? == "Ed25519" => Self::EdDsa(
                ed25519_dalek::VerifyingKey::from_bytes(&fixed::<32>(&bytes("x")?)?).ok()?,
            ),
            _ => return None,
        };
        Some((kid, key))
    }
}

fn fixed<const N: usize>(bytes: &[u8]) -> Option<[u8; N]> {
    bytes.try_into().ok()
}

/// A token whose signature held: its header and its claims, not yet judged.
#[derive(Debug, Clone, PartialEq)]
pub struct VerifiedJws {
    /// The key that signed it.
    pub kid: String,
    /// Its algorithm.
    pub algorithm: SigningAlgorithm,
    /// The payload's claims.
    pub claims: Map<String, Value>,
    /// The header's `typ`, when it has one (RFC 7515 §4.1.9).
    pub typ: Option<String>,
}

impl VerifiedJws {
    /// Whether the header has no `typ`, or names `expected` (compared as [`JwsVerifier::verify`]
    /// compares it): for tokens whose `typ` is optional, as an ID token's is.
    pub fn typ_allows(&self, expected: &str) -> bool {
        self.typ
            .as_deref()
            .is_none_or(|typ| media_type_is(typ, expected))
    }
}

/// The public keys a token may be signed by: the server's published JWKS.
#[derive(Clone, Default)]
pub struct JwsVerifier {
    keys: Vec<(String, VerifyingKey)>,
}

impl std::fmt::Debug for JwsVerifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list()
            .entries(self.keys.iter().map(|(kid, key)| (kid, key.algorithm())))
            .finish()
    }
}

impl JwsVerifier {
    /// The verifier of the public JWKs `jwks` (each a JSON object as text). A JWK gatekey
    /// cannot verify with (unknown `alg`, a short RSA modulus, a point off the curve) is left
    /// out: no token can then name it.
    pub fn from_jwks<'a>(jwks: impl IntoIterator<Item = &'a str>) -> Self {
        let keys = jwks
            .into_iter()
            .filter_map(|text| serde_json::from_str::<Map<String, Value>>(text).ok())
            .filter_map(|jwk| VerifyingKey::from_jwk(&jwk))
            .collect();
        Self { keys }
    }

    /// How many keys it holds.
    pub fn len(&self) -> usize {
        self.keys.len()
    }

    /// Whether it holds no key.
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// Verifies `token`'s signature. With `expected_typ`, the header's `typ` must be that
    /// media type, compared without case and with or without its `application/` prefix
    /// (RFC 7515 §4.1.9).
    pub fn verify(
        &self,
        token: &str,
        expected_typ: Option<&'static str>,
    ) -> Result<VerifiedJws, JwsError> {
        if token.len() > MAX_TOKEN_LENGTH {
            return Err(JwsError::Malformed);
        }
        let mut parts = token.split('.');
        let (Some(header), Some(payload), Some(signature), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(JwsError::Malformed);
        };
        let header: Map<String, Value> = decode_json(header)?;
        let algorithm = match header.get("alg").and_then(Value::as_str) {
            Some(name) => name
                .parse::<SigningAlgorithm>()
                .map_err(|_| JwsError::UnsupportedAlgorithm(name.to_owned()))?,
            None => return Err(JwsError::Malformed),
        };
        if header.contains_key("crit") {
            return Err(JwsError::CriticalHeader);
        }
        if let Some(expected) = expected_typ {
            let typ = header.get("typ").and_then(Value::as_str).unwrap_or("");
            if !media_type_is(typ, expected) {
                return Err(JwsError::WrongType { expected });
            }
        }
        let kid = header
            .get("kid")
            .and_then(Value::as_str)
            .ok_or(JwsError::UnknownKey)?;
        let key = self
            .keys
            .iter()
            .find(|(known, key)| known == kid && key.algorithm() == algorithm)
            .map(|(_, key)| key)
            .ok_or(JwsError::UnknownKey)?;
        let signature = URL_SAFE_NO_PAD
            .decode(signature)
            .map_err(|_| JwsError::Malformed)?;
        let signed = &token[..header_and_payload_length(token)];
        if !key.verifies(signed.as_bytes(), &signature) {
            return Err(JwsError::BadSignature);
        }
        let typ = header.get("typ").and_then(Value::as_str).map(str::to_owned);
        Ok(VerifiedJws {
            kid: kid.to_owned(),
            algorithm,
            claims: decode_json(payload)?,
            typ,
        })
    }
}

fn header_and_payload_length(token: &str) -> usize {
    token.rfind('.').unwrap_or(token.len())
}

fn decode_json(part: &str) -> Result<Map<String, Value>, JwsError> {
    let bytes = URL_SAFE_NO_PAD
        .decode(part)
        .map_err(|_| JwsError::Malformed)?;
    serde_json::from_slice(&bytes).map_err(|_| JwsError::Malformed)
}

/// Whether the `typ` header `typ` names the media type `expected` (RFC 7515 §4.1.9: the
/// `application/` prefix may be left out; media types compare without case).
fn media_type_is(typ: &str, expected: &str) -> bool {
    let short = |value: &str| {
        let lower = value.to_ascii_lowercase();
        lower
            .strip_prefix("application/")
            .map(str::to_owned)
            .unwrap_or(lower)
    };
    short(typ) == short(expected)
}

#[cfg(test)]
#[path = "jws_tests.rs"]
mod tests;
