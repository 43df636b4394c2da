//! The issuer's JSON Web Key Set (RFC 7517 §5) and the keys usable to verify access tokens.
//! `key_cache.rs` decides when it is fetched.

use std::sync::Arc;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use jsonwebtoken::{Algorithm, DecodingKey};
use serde::Deserialize;
use serde_json::Value;

/// One key that verifies signatures of one algorithm.
pub(crate) struct VerificationKey {
    pub(crate) kid: String,
    /// The only algorithm this key verifies, from its type and curve (RFC 8725 §3.1: the
    /// algorithm comes from the key, never from the token).
    pub(crate) alg: Algorithm,
    pub(crate) key: DecodingKey,
}

/// The usable keys of one fetch of the JWKS.
#[derive(Default)]
pub(crate) struct KeySet {
    keys: Vec<Arc<VerificationKey>>,
}

/// The members of a JWK that are read (RFC 7517 §4, RFC 7518 §6, RFC 8037 §2).
#[derive(Deserialize)]
struct JwkMembers {
    kty: String,
    kid: String,
    #[serde(default)]
    alg: Option<String>,
    #[serde(default, rename = "use")]
    key_use: Option<String>,
    #[serde(default)]
    crv: Option<String>,
    #[serde(default)]
    x: Option<String>,
    #[serde(default)]
    y: Option<String>,
    #[serde(default)]
    n: Option<String>,
    #[serde(default)]
    e: Option<String>,
}

#[derive(Deserialize)]
struct JwkSetDocument {
    keys: Vec<Value>,
}

/// The smallest RSA modulus accepted, in bytes (RFC 7518 §3.3: 2048 bits).
const MIN_RSA_MODULUS_BYTES: usize = 256;

impl KeySet {
    /// Reads a JWKS document. Keys that cannot verify (other types or curves, encryption
    /// keys, no `kid`, malformed members) are skipped, so one odd key hides no other.
    pub(crate) fn from_json(body: &[u8]) -> Result<Self, String> {
        let document: JwkSetDocument = serde_json::from_slice(body)
            .map_err(|_| "the JWKS is not a JSON object with keys".to_owned())?;
        let keys = document
            .keys
            .into_iter()
            .filter_map(|jwk| serde_json::from_value::<JwkMembers>(jwk).ok())
            .filter_map(usable_key)
            .map(Arc::new)
            .collect();
        Ok(Self { keys })
    }

    /// The key named `kid` that verifies `alg`.
    pub(crate) fn find(&self, kid: &str, alg: Algorithm) -> Option<Arc<VerificationKey>> {
        self.keys
            .iter()
            .find(|key| key.kid == kid && key.alg == alg)
            .cloned()
    }
}

/// The algorithms accepted: the ones gatekey signs with. Never `none`, never an HMAC (whose
/// key would be public here), never an algorithm gatekey does not use.
pub(crate) fn accepted_algorithm(alg: &str) -> Option<Algorithm> {
    match alg {
        "EdDSA" => Some(Algorithm::EdDSA),
        "ES256" => Some(Algorithm::ES256),
        "RS256" => Some(Algorithm::RS256),
        _ => None,
    }
}

/// The verification key a JWK describes, if it is one for signatures of an accepted algorithm.
fn usable_key(jwk: JwkMembers) -> Option<VerificationKey> {
    if jwk.key_use.as_deref().is_some_and(|u| u != "sig") {
        return None;
    }
    let (alg, key) = match (jwk.kty.as_str(), jwk.crv.as_deref()) {
        ("RSA", _) => {
            let n = jwk.n.as_deref()?;
            if decoded_len(n)? < MIN_RSA_MODULUS_BYTES {
                return None;
            }
            let key = DecodingKey::from_rsa_components(n, jwk.e.as_deref()?).ok()?;
            (Algorithm::RS256, key)
        }
        ("EC", Some("P-256")) => {
            let (x, y) = (jwk.x.as_deref()?, jwk.y.as_deref()?);
            if decoded_len(x)? != 32 || decoded_len(y)? != 32 {
                return None;
            }
            let key = DecodingKey::from_ec_components(x, y).ok()?;
            (Algorithm::ES256, key)
        }
        ("OKP", Some("Ed25519")) => {
            let x = jwk.x.as_deref()?;
            if decoded_len(x)? != 32 {
                return None;
            }
            (Algorithm::EdDSA, DecodingKey::from_ed_components(x).ok()?)
        }
        _ => return None,
    };
    let named = match jwk.alg.as_deref() {
        Some(named) => accepted_algorithm(named)?,
        None => alg,
    };
    (named == alg).then_some(VerificationKey {
        kid: jwk.kid,
        alg,
        key,
    })
}

fn decoded_len(part: &str) -> Option<usize> {
    URL_SAFE_NO_PAD.decode(part).ok().map(|bytes| bytes.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    const ED_X: &str = "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo";

    #[test]
    fn only_signature_keys_of_accepted_algorithms_are_kept() {
        let body = format!(
            r#"{{"keys":[
            {{"kty":"oct","k":"c2VjcmV0","kid":"hmac"}},
            {{"kty":"OKP","crv":"Ed25519","x":"{ED_X}","kid":"enc","use":"enc"}},
            {{"kty":"OKP","crv":"Ed25519","x":"AAAA","kid":"short"}},
            {{"kty":"OKP","crv":"Ed25519","x":"{ED_X}","kid":"wrong-alg","alg":"RS256"}},
            {{"kty":"OKP","crv":"Ed25519","x":"{ED_X}"}},
            {{"kty":"RSA","n":"AQAB","e":"AQAB","kid":"small-rsa"}},
            {{"kty":"OKP","crv":"Ed25519","x":"{ED_X}","kid":"good","alg":"EdDSA","use":"sig"}}
        ]}}"#
        );
        let set = KeySet::from_json(body.as_bytes()).expect("reads");
        assert_eq!(set.keys.len(), 1);
        assert!(set.find("good", Algorithm::EdDSA).is_some());
        assert!(set.find("good", Algorithm::ES256).is_none());
        assert!(set.find("short", Algorithm::EdDSA).is_none());
    }

    #[test]
    fn none_and_hmac_are_never_accepted() {
        for alg in ["none", "HS256", "RS512", "PS256", "ES384", ""] {
            assert_eq!(accepted_algorithm(alg), None, "{alg}");
        }
    }
}
