//! The compact JWS of a JWT access token (RFC 7515 §7.1, RFC 9068): its header, which
//! algorithms and types are accepted, and the signature check against one published key.
//! Strict as RFC 8725 asks: the algorithm must be one gatekey signs with and the key's own
//! (§3.1), a `crit` header is refused (RFC 7515 §4.1.11), and the `typ` must be `at+jwt`
//! (RFC 9068 §4, RFC 8725 §3.11), so an ID token is never taken for an access token.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use jsonwebtoken::crypto::rust_crypto::DEFAULT_PROVIDER;
use jsonwebtoken::Algorithm;
use serde::Deserialize;

use crate::jwks::{accepted_algorithm, VerificationKey};
use crate::TokenRefusal;

/// The longest token read, in bytes: far above any token gatekey signs, and a bound on the
/// work a caller can ask for.
pub(crate) const MAX_TOKEN_LENGTH: usize = 16 * 1024;

/// The `typ` of a JWT access token (RFC 9068 §2.1).
const ACCESS_TOKEN_TYPE: &str = "at+jwt";

/// A token taken apart, not yet trusted. `Debug` shows the header only.
pub(crate) struct SignedToken<'a> {
    pub(crate) alg: Algorithm,
    pub(crate) kid: String,
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
    typ: Option<String>,
    #[serde(default)]
    crit: Option<serde_json::Value>,
}

/// Whether `token` has the shape of a compact JWS: three base64url parts, the first a JSON
/// object (`eyJ` is `{"` in base64url).
pub(crate) fn looks_like_jwt(token: &str) -> bool {
    token.starts_with("eyJ")
        && token.bytes().filter(|b| *b == b'.').count() == 2
        && token
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
}

/// Splits a compact JWS and checks its header: an accepted algorithm, a `kid`, no `crit`, and
/// the `at+jwt` type.
pub(crate) fn parse(token: &str) -> Result<SignedToken<'_>, TokenRefusal> {
    if token.len() > MAX_TOKEN_LENGTH {
        return Err(TokenRefusal::Malformed);
    }
    let mut parts = token.split('.');
    let (Some(header), Some(payload), Some(signature), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(TokenRefusal::Malformed);
    };
    let decode = |part: &str| {
        URL_SAFE_NO_PAD
            .decode(part)
            .map_err(|_| TokenRefusal::Malformed)
    };
    let header: Header =
        serde_json::from_slice(&decode(header)?).map_err(|_| TokenRefusal::Malformed)?;
    let alg = accepted_algorithm(&header.alg).ok_or(TokenRefusal::Algorithm)?;
    if header.crit.is_some() {
        return Err(TokenRefusal::CriticalHeader);
    }
    if !header.typ.as_deref().is_some_and(is_access_token_type) {
        return Err(TokenRefusal::Type);
    }
    let kid = header.kid.ok_or(TokenRefusal::UnknownKey)?;
    let signing_input = &token[..token.len() - signature.len() - 1];
    Ok(SignedToken {
        alg,
        kid,
        signing_input,
        payload: decode(payload)?,
        signature: decode(signature)?,
    })
}

/// RFC 7515 §4.1.9: a media type, compared without case, with or without `application/`.
fn is_access_token_type(typ: &str) -> bool {
    let typ = typ.to_ascii_lowercase();
    typ.strip_prefix("application/").unwrap_or(&typ) == ACCESS_TOKEN_TYPE
}

impl SignedToken<'_> {
    /// Whether `key` signed this token, with the key's own algorithm.
    pub(crate) fn verify(&self, key: &VerificationKey) -> Result<(), TokenRefusal> {
        if key.alg != self.alg {
            return Err(TokenRefusal::UnknownKey);
        }
        let verifier = (DEFAULT_PROVIDER.verifier_factory)(&key.alg, &key.key)
            .map_err(|_| TokenRefusal::Signature)?;
        verifier
            .verify(self.signing_input.as_bytes(), &self.signature)
            .map_err(|_| TokenRefusal::Signature)
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
    fn the_header_must_name_an_accepted_algorithm_a_kid_and_the_access_token_type() {
        let refused = [
            (
                r#"{"alg":"none","typ":"at+jwt","kid":"k"}"#,
                TokenRefusal::Algorithm,
            ),
            (
                r#"{"alg":"HS256","typ":"at+jwt","kid":"k"}"#,
                TokenRefusal::Algorithm,
            ),
            (
                r#"{"alg":"EdDSA","typ":"JWT","kid":"k"}"#,
                TokenRefusal::Type,
            ),
            (r#"{"alg":"EdDSA","kid":"k"}"#, TokenRefusal::Type),
            (
                r#"{"alg":"EdDSA","typ":"at+jwt"}"#,
                TokenRefusal::UnknownKey,
            ),
            (
                r#"{"alg":"EdDSA","typ":"at+jwt","kid":"k","crit":["exp"]}"#,
                TokenRefusal::CriticalHeader,
            ),
        ];
        for (header, refusal) in refused {
            assert_eq!(parse(&token(header)).unwrap_err(), refusal, "{header}");
        }
        for typ in ["at+jwt", "application/at+JWT"] {
            let header = format!(r#"{{"alg":"ES256","typ":"{typ}","kid":"k1"}}"#);
            let token = token(&header);
            let parsed = parse(&token).expect("parses");
            assert_eq!(parsed.kid, "k1");
            assert_eq!(parsed.alg, Algorithm::ES256);
        }
    }

    #[test]
    fn malformed_tokens_are_refused() {
        let good = token(r#"{"alg":"RS256","typ":"at+jwt","kid":"k"}"#);
        let long = "a".repeat(MAX_TOKEN_LENGTH + 1);
        for bad in ["", "a.b", "a.b.c.d", "!!.b.c", &format!("{good}.x"), &long] {
            assert_eq!(parse(bad).unwrap_err(), TokenRefusal::Malformed, "{bad}");
        }
        assert!(looks_like_jwt(&good));
        assert!(!looks_like_jwt("gk_at_abc"));
    }
}
