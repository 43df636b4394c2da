//! The server's JWK Set (RFC 7517 §5): the public keys ID tokens are checked against.

use jsonwebtoken::{Algorithm, DecodingKey};
use serde::Deserialize;
use serde_json::Value;

use super::IdTokenError;

/// The most a JWKS document may be; a few keys take a few kilobytes.
pub(crate) const MAX_JWKS_BYTES: usize = 256 * 1024;

/// One usable verification key.
pub(crate) struct PublicKey {
    pub(crate) kid: Option<String>,
    /// The only algorithm this key verifies, from its type and curve.
    pub(crate) alg: Algorithm,
    pub(crate) key: DecodingKey,
}

/// The keys of one fetch of the JWKS that this client can use.
#[derive(Default)]
pub(crate) struct KeySet {
    keys: Vec<PublicKey>,
}

/// The members of a JWK this client reads (RFC 7517 §4, RFC 7518 §6, RFC 8037 §2).
#[derive(Deserialize)]
struct JwkMembers {
    kty: String,
    #[serde(default)]
    kid: Option<String>,
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

impl KeySet {
    /// Reads a JWKS document. Keys this client cannot use (other types or curves, encryption
    /// keys, malformed members) are skipped, so one odd key does not hide the others.
    pub(crate) fn from_json(body: &[u8]) -> Result<Self, IdTokenError> {
        let document: JwkSetDocument = serde_json::from_slice(body)
            .map_err(|_| IdTokenError::Keys("the JWKS is not a JSON object with keys".into()))?;
        let keys = document
            .keys
            .into_iter()
            .filter_map(|jwk| serde_json::from_value::<JwkMembers>(jwk).ok())
            .filter_map(usable_key)
            .collect();
        Ok(Self { keys })
    }

    /// The key for a token signed with `alg` under `kid`. Without a `kid`, the only key of
    /// that algorithm, if there is exactly one (OpenID Connect Core §10.1).
    pub(crate) fn find(&self, kid: Option<&str>, alg: Algorithm) -> Option<&PublicKey> {
        let mut fitting = self
            .keys
            .iter()
            .filter(|key| key.alg == alg && (kid.is_none() || key.kid.as_deref() == kid));
        let first = fitting.next()?;
        (kid.is_some() || fitting.next().is_none()).then_some(first)
    }
}

/// The verification key a JWK describes, if this client can use it for signatures.
fn usable_key(jwk: JwkMembers) -> Option<PublicKey> {
    if jwk.key_use.as_deref().is_some_and(|u| u != "sig") {
        return None;
    }
    let (alg, key) = match (jwk.kty.as_str(), jwk.crv.as_deref()) {
        ("RSA", _) => (
            Algorithm::RS256,
            DecodingKey::from_rsa_components(jwk.n.as_deref()?, jwk.e.as_deref()?).ok()?,
        ),
        ("EC", Some("P-256")) => {
            let (x, y) = (jwk.x.as_deref()?, jwk.y.as_deref()?);
            if decoded_len(x)? != 32 || decoded_len(y)? != 32 {
                return None;
            }
            (
                Algorithm::ES256,
                DecodingKey::from_ec_components(x, y).ok()?,
            )
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
        Some(named) => super::algorithm::accepted_algorithm(named).ok()?,
        None => alg,
    };
    (named == alg).then_some(PublicKey {
        kid: jwk.kid,
        alg,
        key,
    })
}

fn decoded_len(part: &str) -> Option<usize> {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(part)
        .ok()
        .map(|bytes| bytes.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    const ED_X: &str = "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo";

    #[test]
    fn keys_that_cannot_verify_signatures_are_skipped() {
        let body = format!(
            r#"{{"keys":[
            {{"kty":"oct","k":"c2VjcmV0","kid":"hmac"}},
            {{"kty":"OKP","crv":"Ed25519","x":"{ED_X}","kid":"enc","use":"enc"}},
            {{"kty":"OKP","crv":"Ed25519","x":"AAAA","kid":"short"}},
            {{"kty":"OKP","crv":"Ed25519","x":"{ED_X}","kid":"wrong-alg","alg":"RS256"}},
            {{"kty":"EC","crv":"P-384","x":"AAAA","y":"AAAA","kid":"p384"}},
            {{"kty":"OKP","crv":"Ed25519","x":"{ED_X}","kid":"good","alg":"EdDSA","use":"sig"}}
        ]}}"#
        );
        let set = KeySet::from_json(body.as_bytes()).expect("reads");
        assert_eq!(set.keys.len(), 1);
        assert!(set.find(Some("good"), Algorithm::EdDSA).is_some());
        assert!(set.find(Some("good"), Algorithm::ES256).is_none());
        assert!(set.find(Some("short"), Algorithm::EdDSA).is_none());
        assert!(set.find(None, Algorithm::EdDSA).is_some(), "the only key");
    }

    #[test]
    fn a_document_that_is_not_a_jwks_is_an_error() {
        assert!(matches!(
            KeySet::from_json(b"<html>"),
            Err(IdTokenError::Keys(_))
        ));
    }
}
