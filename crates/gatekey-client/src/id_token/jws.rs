//! The compact JWS of an ID token (RFC 7515 §7.1): its header, which algorithms are accepted,
//! and the signature check against one key of the server's JWKS.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use jsonwebtoken::crypto::rust_crypto::DEFAULT_PROVIDER;
use jsonwebtoken::Algorithm;
use serde::Deserialize;

use super::algorithm::accepted_algorithm;
use super::jwks::PublicKey;
use super::IdTokenError;

/// An ID token taken apart, not yet trusted. `Debug` shows the header only: the parts
/// together are the token.
pub(crate) struct SignedToken<'a> {
    /// The accepted algorithm the header names.
    pub(crate) alg: Algorithm,
    /// The header's `kid`.
    pub(crate) kid: Option<String>,
    /// `header.payload`, the bytes signed.
    signing_input: &'a str,
    /// The decoded claims, JSON.
    pub(crate) payload: Vec<u8>,
    signature: Vec<u8>,
}

impl std::fmt::Debug for SignedToken<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SignedToken")
            .field("alg", &self.alg)
            .field("kid", &self.kid)
            .finish_non_exhaustive()
    }
}

#[derive(Deserialize)]
struct Header {
    alg: String,
    #[serde(default)]
    kid: Option<String>,
    #[serde(default)]
    crit: Option<serde_json::Value>,
}

/// Splits a compact JWS into its three parts and reads the header.
pub(crate) fn parse(token: &str) -> Result<SignedToken<'_>, IdTokenError> {
    let mut parts = token.split('.');
    let (Some(header), Some(payload), Some(signature), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(IdTokenError::Malformed("not three dot-separated parts"));
    };
    let decode = |part: &str, what| {
        URL_SAFE_NO_PAD
            .decode(part)
            .map_err(|_| IdTokenError::Malformed(what))
    };
    let header: Header = serde_json::from_slice(&decode(header, "the header is not base64url")?)
        .map_err(|_| IdTokenError::Malformed("the header is not a JSON object with alg"))?;
    let alg = accepted_algorithm(&header.alg)?;
    if header.crit.is_some() {
        return Err(IdTokenError::CriticalHeader);
    }
    let signing_input = &token[..token.len() - signature.len() - 1];
    Ok(SignedToken {
        alg,
        kid: header.kid,
        signing_input,
        payload: decode(payload, "the payload is not base64url")?,
        signature: decode(signature, "the signature is not base64url")?,
    })
}

impl SignedToken<'_> {
    /// Whether `key` signed this token.
    pub(crate) fn verify(&self, key: &PublicKey) -> Result<(), IdTokenError> {
        if key.alg != self.alg {
            return Err(IdTokenError::Signature);
        }
        let verifier = (DEFAULT_PROVIDER.verifier_factory)(&self.alg, &key.key)
            .map_err(|_| IdTokenError::Signature)?;
        verifier
            .verify(self.signing_input.as_bytes(), &self.signature)
            .map_err(|_| IdTokenError::Signature)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn token(header: &str) -> String {
        format!(
            "{}.{}.{}",
            URL_SAFE_NO_PAD.encode(header),
            URL_SAFE_NO_PAD.encode(r#"{"sub":"1"}"#),
            URL_SAFE_NO_PAD.encode("sig")
        )
    }

    #[test]
    fn none_and_hmac_are_refused() {
        for alg in ["none", "HS256", "RS512", "PS256", ""] {
            let header = format!(r#"{{"alg":"{alg}"}}"#);
            assert_eq!(
                parse(&token(&header)).unwrap_err(),
                IdTokenError::Algorithm(alg.into())
            );
        }
    }

    #[test]
    fn the_accepted_algorithms_parse_with_their_kid() {
        for alg in ["RS256", "ES256", "EdDSA"] {
            let header = format!(r#"{{"alg":"{alg}","kid":"k1"}}"#);
            let token = token(&header);
            let parsed = parse(&token).expect("parses");
            assert_eq!(parsed.kid.as_deref(), Some("k1"));
            assert_eq!(parsed.payload, br#"{"sub":"1"}"#);
        }
    }

    #[test]
    fn malformed_tokens_are_errors() {
        let good = token(r#"{"alg":"RS256"}"#);
        for bad in [
            "",
            "a.b",
            "a.b.c.d",
            "!!.b.c",
            &format!("{good}.extra"),
            &token("not json"),
        ] {
            assert!(
                matches!(parse(bad), Err(IdTokenError::Malformed(_))),
                "{bad}"
            );
        }
        assert_eq!(
            parse(&token(r#"{"alg":"RS256","crit":["exp"]}"#)).unwrap_err(),
            IdTokenError::CriticalHeader
        );
    }
}
