//! ID tokens (OpenID Connect Core 1.0 §2): the claims gatekey signs when a client asked for
//! `openid`, from the code grant (§3.1.3.3), the refresh grant (§12.2: the same `sub`, a new
//! `iat`) and the device grant.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde::Serialize;
use sha2::{Digest, Sha256, Sha512};
use time::OffsetDateTime;

use super::identity_claims::IdentityClaims;
use super::signing_key_schedule::SigningAlgorithm;

/// The `typ` header of an ID token. Core does not require one; `JWT` is what relying-party
/// libraries expect when there is one (RFC 7519 §5.1), and it tells an ID token apart from a
/// JWT access token (`at+jwt`, RFC 9068 §2.1), which must never be taken for one.
pub const ID_TOKEN_TYPE: &str = "JWT";

/// The claims of an ID token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct IdTokenClaims {
    /// The issuer identifier (§2 `iss`).
    pub iss: String,
    /// The user (§2 `sub`).
    pub sub: String,
    /// The client it is for (§2 `aud`): one audience, its `client_id`.
    pub aud: String,
    /// Expiry, seconds since the epoch.
    pub exp: i64,
    /// Issue time, seconds since the epoch.
    pub iat: i64,
    /// When the user last signed in (§2 `auth_time`), when known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub auth_time: Option<i64>,
    /// The authorization request's `nonce`, echoed (§3.1.2.1).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub nonce: Option<String>,
    /// The left half of the access token's hash (§3.1.3.6).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub at_hash: Option<String>,
    /// The party it was issued to: the `client_id` (§2 `azp`).
    pub azp: String,
    /// The sign-in session (OpenID Connect Front-Channel Logout 1.0 §3 `sid`), when known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sid: Option<String>,
    /// `name`, with the `profile` scope.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// `email`, with the `email` scope.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// `email_verified`, beside `email`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email_verified: Option<bool>,
    /// The account the user acted in, by slug.
    #[serde(rename = "gatekey:account")]
    pub account: String,
}

/// What an ID token is made from, besides the person's claims.
#[derive(Debug, Clone)]
pub struct IdTokenFacts<'a> {
    /// The issuer identifier.
    pub issuer: &'a str,
    /// The client's id.
    pub client_id: &'a str,
    /// When it is issued.
    pub issued_at: OffsetDateTime,
    /// When it expires.
    pub expires_at: OffsetDateTime,
    /// When the user signed in.
    pub auth_time: Option<OffsetDateTime>,
    /// The authorization request's nonce.
    pub nonce: Option<&'a str>,
    /// The sign-in session's id.
    pub sid: Option<&'a str>,
    /// The access token issued beside it, and the algorithm the ID token is signed with.
    pub access_token: Option<(&'a str, SigningAlgorithm)>,
}

impl IdTokenClaims {
    /// The claims of an ID token stating `person` under `facts`.
    pub fn new(person: IdentityClaims, facts: &IdTokenFacts<'_>) -> Self {
        Self {
            iss: facts.issuer.to_owned(),
            sub: person.sub,
            aud: facts.client_id.to_owned(),
            exp: facts.expires_at.unix_timestamp(),
            iat: facts.issued_at.unix_timestamp(),
            auth_time: facts.auth_time.map(OffsetDateTime::unix_timestamp),
            nonce: facts.nonce.map(str::to_owned),
            at_hash: facts
                .access_token
                .map(|(token, algorithm)| left_half_hash(algorithm, token)),
            azp: facts.client_id.to_owned(),
            sid: facts.sid.map(str::to_owned),
            name: person.name,
            email: person.email,
            email_verified: person.email_verified,
            account: person.account,
        }
    }
}

/// The left-most half of the hash of `value`, base64url (Core §3.1.3.6 `at_hash`). The hash is
/// the one of the signing algorithm: SHA-256 for ES256 and RS256, SHA-512 for EdDSA over
/// Ed25519 (the OpenID Foundation's rule for EdDSA).
pub fn left_half_hash(algorithm: SigningAlgorithm, value: &str) -> String {
    match algorithm {
        SigningAlgorithm::Es256 | SigningAlgorithm::Rs256 => {
            URL_SAFE_NO_PAD.encode(&Sha256::digest(value.as_bytes())[..16])
        }
        SigningAlgorithm::EdDsa => URL_SAFE_NO_PAD.encode(&Sha512::digest(value.as_bytes())[..32]),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn at_hash_matches_the_openid_connect_example() {
        // OpenID Connect Core 1.0, Appendix A.3 (RS256, SHA-256).
        assert_eq!(
            left_half_hash(
                SigningAlgorithm::Rs256,
                "jHkWEdUXMU1BwAsC4vtUsZwnNvTIxEl0z9K3vx5KF0Y"
            ),
            "77QmUPtjPfzWtF2AnpK9RQ"
        );
        assert_eq!(left_half_hash(SigningAlgorithm::EdDsa, "x").len(), 43);
    }

    #[test]
    fn the_claims_carry_what_was_known_and_leave_out_the_rest() {
        let now = datetime!(2026-12-05 12:00 UTC);
        let person = IdentityClaims {
            sub: "42".into(),
            name: Some("Ada".into()),
            email: None,
            email_verified: None,
            account: "acme".into(),
        };
        let facts = IdTokenFacts {
            issuer: "https://id.example",
            client_id: "app",
            issued_at: now,
            expires_at: now + time::Duration::hours(1),
            auth_time: Some(now - time::Duration::minutes(5)),
            nonce: Some("n-0S6_WzA2Mj"),
            sid: None,
            access_token: Some(("token", SigningAlgorithm::Es256)),
        };
        let json = serde_json::to_value(IdTokenClaims::new(person, &facts)).expect("json");
        assert_eq!(json["aud"], "app");
        assert_eq!(json["azp"], "app");
        assert_eq!(json["sub"], "42");
        assert_eq!(json["nonce"], "n-0S6_WzA2Mj");
        assert_eq!(json["auth_time"].as_i64(), Some(now.unix_timestamp() - 300));
        assert_eq!(json["name"], "Ada");
        assert_eq!(json["gatekey:account"], "acme");
        for absent in ["email", "email_verified", "sid"] {
            assert!(json.get(absent).is_none(), "{absent}: {json}");
        }
    }
}
