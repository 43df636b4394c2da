//! JWT access tokens (RFC 9068): what they claim, and how a presented one is told apart from
//! an opaque `gk_at_` token.
//!
//! gatekey stores a JWT access token like an opaque one, by the SHA-256 of its whole text, so
//! revocation, introspection and the grant's cascades treat both alike. A resource server that
//! verifies it offline against the JWKS sees only its expiry, never its revocation; that is
//! why its lifetime (`jwt_access_token_ttl`) is short.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use rand::RngCore;
use serde::{Serialize, Serializer};
use time::OffsetDateTime;

use super::jws::MAX_TOKEN_LENGTH;
use crate::scope::ScopeSet;

/// The `typ` header of a JWT access token (RFC 9068 §2.1).
pub const ACCESS_TOKEN_JWT_TYPE: &str = "at+jwt";

/// The claims of a JWT access token (RFC 9068 §2.2).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AccessTokenClaims {
    /// The issuer identifier.
    pub iss: String,
    /// The user the token acts as (the service account, for `client_credentials`).
    pub sub: String,
    /// The resource servers it is meant for (RFC 8707; one is written as a string).
    #[serde(serialize_with = "one_or_many")]
    pub aud: Vec<String>,
    /// Expiry, seconds since the epoch.
    pub exp: i64,
    /// Issue time, seconds since the epoch.
    pub iat: i64,
    /// A unique id (RFC 7519 §4.1.7).
    pub jti: String,
    /// The application it was issued to.
    pub client_id: String,
    /// Its scopes, space-separated (RFC 8693 §4.2).
    pub scope: String,
    /// The account it acts in (`identity_claims::ACCOUNT_CLAIM`).
    #[serde(rename = "gatekey:account")]
    pub account: String,
}

/// What a JWT access token is issued for.
#[derive(Debug, Clone)]
pub struct AccessTokenSubject<'a> {
    /// The issuer identifier.
    pub issuer: &'a str,
    /// The user's id.
    pub user_id: i64,
    /// The account's slug.
    pub account_slug: &'a str,
    /// The application's client id.
    pub client_id: &'a str,
    /// The audiences; empty means the issuer itself, gatekey's own API.
    pub audience: &'a [String],
}

impl AccessTokenClaims {
    /// The claims of a token for `subject` with `scopes`, from `issued_at` to `expires_at`,
    /// with a fresh random `jti`.
    pub fn new(
        subject: &AccessTokenSubject<'_>,
        scopes: &ScopeSet,
        issued_at: OffsetDateTime,
        expires_at: OffsetDateTime,
    ) -> Self {
        let mut jti = [0u8; 16];
        rand::thread_rng().fill_bytes(&mut jti);
        let aud = if subject.audience.is_empty() {
            vec![subject.issuer.to_owned()]
        } else {
            subject.audience.to_vec()
        };
        Self {
            iss: subject.issuer.to_owned(),
            sub: subject.user_id.to_string(),
            aud,
            exp: expires_at.unix_timestamp(),
            iat: issued_at.unix_timestamp(),
            jti: URL_SAFE_NO_PAD.encode(jti),
            client_id: subject.client_id.to_owned(),
            scope: scopes.to_string(),
            account: subject.account_slug.to_owned(),
        }
    }
}

fn one_or_many<S: Serializer>(values: &[String], serializer: S) -> Result<S::Ok, S::Error> {
    match values {
        [one] => serializer.serialize_str(one),
        many => many.serialize(serializer),
    }
}

/// Whether `presented` has the shape of a compact JWS (three base64url parts, the first a
/// JSON object): such a token is a JWT access token to look up, not a malformed `gk_` secret.
pub fn looks_like_jwt(presented: &str) -> bool {
    presented.len() <= MAX_TOKEN_LENGTH
        && presented.starts_with("eyJ")
        && presented.bytes().filter(|b| *b == b'.').count() == 2
        && presented
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn the_claims_name_the_user_account_client_and_audience() {
        let now = datetime!(2026-12-05 12:00 UTC);
        let subject = AccessTokenSubject {
            issuer: "https://id.example",
            user_id: 42,
            account_slug: "acme",
            client_id: "app",
            audience: &[],
        };
        let scopes = ScopeSet::parse("read write").expect("scopes");
        let claims =
            AccessTokenClaims::new(&subject, &scopes, now, now + time::Duration::minutes(10));
        let json = serde_json::to_value(&claims).expect("json");
        assert_eq!(json["aud"], "https://id.example");
        assert_eq!(json["sub"], "42");
        assert_eq!(json["gatekey:account"], "acme");
        assert_eq!(json["scope"], "read write");
        assert_eq!(json["exp"].as_i64(), Some(now.unix_timestamp() + 600));
        let again = AccessTokenClaims::new(&subject, &scopes, now, now);
        assert_ne!(claims.jti, again.jti);

        let two = [
            "https://a.example".to_owned(),
            "https://b.example".to_owned(),
        ];
        let many = AccessTokenSubject {
            audience: &two,
            ..subject
        };
        let json =
            serde_json::to_value(AccessTokenClaims::new(&many, &scopes, now, now)).expect("json");
        assert_eq!(json["aud"], serde_json::json!(two));
    }

    #[test]
    fn only_a_compact_jws_looks_like_a_jwt() {
        assert!(looks_like_jwt("eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiIxIn0.c2ln"));
        for other in [
            "gk_at_abc",
            "eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiIxIn0",
            "eyJ.a.b.c",
            "eyJhbGci OiJ9.e.c",
            "",
        ] {
            assert!(!looks_like_jwt(other), "{other}");
        }
    }
}
