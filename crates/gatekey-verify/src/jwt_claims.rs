//! The claim checks of a JWT access token whose signature held (RFC 9068 §4): a pure function
//! of the claims, what this resource server expects, and the time.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::Deserialize;

use crate::caller::{
    parse_scopes, CallerAccount, CallerUser, CheckedBy, Credential, CredentialKind,
};
use crate::{Caller, TokenRefusal};

/// The claims read (RFC 9068 §2.2). NumericDates may have a fraction (RFC 7519 §2).
#[derive(Debug, Default, Deserialize)]
pub(crate) struct AccessTokenClaims {
    #[serde(default)]
    iss: Option<String>,
    #[serde(default)]
    sub: Option<String>,
    #[serde(default)]
    aud: Option<Audience>,
    #[serde(default)]
    exp: Option<f64>,
    #[serde(default)]
    iat: Option<f64>,
    #[serde(default)]
    nbf: Option<f64>,
    #[serde(default)]
    jti: Option<String>,
    #[serde(default)]
    client_id: Option<String>,
    #[serde(default)]
    scope: Option<String>,
    #[serde(default, rename = "gatekey:account")]
    account: Option<String>,
}

/// `aud`: one string or several (RFC 7519 §4.1.3).
#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum Audience {
    One(String),
    Many(Vec<String>),
}

impl Audience {
    fn contains(&self, audience: &str) -> bool {
        match self {
            Self::One(one) => one == audience,
            Self::Many(many) => many.iter().any(|aud| aud == audience),
        }
    }
}

/// What this resource server requires of a token.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Expected<'a> {
    /// The issuer, compared exactly.
    pub(crate) issuer: &'a str,
    /// This resource server's identifier (RFC 8707), which `aud` must contain.
    pub(crate) audience: &'a str,
    /// How far the clocks may disagree.
    pub(crate) leeway: Duration,
}

/// Reads the claims of `payload` (the JWS payload, JSON).
pub(crate) fn read_claims(payload: &[u8]) -> Result<AccessTokenClaims, TokenRefusal> {
    serde_json::from_slice(payload).map_err(|_| TokenRefusal::Malformed)
}

/// Checks the claims (RFC 9068 §4 steps 2–5): `iss` exactly the issuer, `aud` naming this
/// resource server, `exp` not passed and `nbf`/`iat` not in the future (each beyond the
/// leeway), and the claims §2.2 requires present. Returns the caller they name.
pub(crate) fn check_claims(
    claims: AccessTokenClaims,
    expected: Expected<'_>,
    now: SystemTime,
) -> Result<Caller, TokenRefusal> {
    if claims.iss.as_deref() != Some(expected.issuer) {
        return Err(TokenRefusal::Issuer);
    }
    if !claims
        .aud
        .as_ref()
        .is_some_and(|aud| aud.contains(expected.audience))
    {
        return Err(TokenRefusal::Audience);
    }
    let now = seconds(now);
    let leeway = expected.leeway.as_secs_f64();
    let exp = claims.exp.ok_or(TokenRefusal::MissingClaim("exp"))?;
    if now >= exp + leeway {
        return Err(TokenRefusal::Expired);
    }
    let iat = claims.iat.ok_or(TokenRefusal::MissingClaim("iat"))?;
    if iat > now + leeway || claims.nbf.is_some_and(|nbf| nbf > now + leeway) {
        return Err(TokenRefusal::NotYetValid);
    }
    let user_id = claims
        .sub
        .as_deref()
        .and_then(|sub| sub.parse::<i64>().ok())
        .ok_or(TokenRefusal::MissingClaim("sub"))?;
    let client_id = claims
        .client_id
        .ok_or(TokenRefusal::MissingClaim("client_id"))?;
    let account = claims
        .account
        .ok_or(TokenRefusal::MissingClaim("gatekey:account"))?;
    Ok(Caller {
        user: CallerUser {
            id: user_id,
            email: None,
        },
        account: CallerAccount {
            slug: account,
            id: None,
        },
        role: None,
        scopes: parse_scopes(claims.scope.as_deref()),
        credential: Credential {
            kind: CredentialKind::OAuth,
            id: claims.jti,
            client_id: Some(client_id),
            checked_by: CheckedBy::Signature,
        },
        expires_at: Some(UNIX_EPOCH + Duration::from_secs_f64(exp.max(0.0))),
    })
}

fn seconds(time: SystemTime) -> f64 {
    time.duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: u64 = 2_000_000_000;
    const LEEWAY: Duration = Duration::from_secs(30);

    fn expected() -> Expected<'static> {
        Expected {
            issuer: "https://id.example",
            audience: "https://notes.example",
            leeway: LEEWAY,
        }
    }

    fn claims(json: serde_json::Value) -> AccessTokenClaims {
        let mut good = serde_json::json!({
            "iss": "https://id.example", "sub": "42", "aud": "https://notes.example",
            "exp": NOW + 600, "iat": NOW, "jti": "j1", "client_id": "app_1",
            "scope": "read notes:read", "gatekey:account": "acme"
        });
        for (name, value) in json.as_object().expect("object") {
            good[name] = value.clone();
        }
        read_claims(good.to_string().as_bytes()).expect("claims")
    }

    fn check(json: serde_json::Value) -> Result<Caller, TokenRefusal> {
        check_claims(
            claims(json),
            expected(),
            UNIX_EPOCH + Duration::from_secs(NOW),
        )
    }

    #[test]
    fn good_claims_name_the_caller() {
        let caller = check(serde_json::json!({})).expect("accepted");
        assert_eq!(caller.user.id, 42);
        assert_eq!(caller.account.slug, "acme");
        assert_eq!(caller.scopes, ["read", "notes:read"]);
        assert_eq!(caller.credential.id.as_deref(), Some("j1"));
        assert_eq!(caller.credential.client_id.as_deref(), Some("app_1"));
        let many = serde_json::json!({"aud": ["https://id.example", "https://notes.example"]});
        assert!(check(many).is_ok());
    }

    #[test]
    fn each_rule_refuses_what_breaks_it() {
        let leeway = LEEWAY.as_secs();
        let refused = [
            (
                serde_json::json!({"iss": "https://id.example/"}),
                TokenRefusal::Issuer,
            ),
            (
                serde_json::json!({"aud": "https://id.example"}),
                TokenRefusal::Audience,
            ),
            (serde_json::json!({"aud": null}), TokenRefusal::Audience),
            (
                serde_json::json!({"exp": NOW - leeway}),
                TokenRefusal::Expired,
            ),
            (
                serde_json::json!({"exp": null}),
                TokenRefusal::MissingClaim("exp"),
            ),
            (
                serde_json::json!({"iat": NOW + leeway + 1}),
                TokenRefusal::NotYetValid,
            ),
            (
                serde_json::json!({"nbf": NOW + leeway + 1}),
                TokenRefusal::NotYetValid,
            ),
            (
                serde_json::json!({"sub": "ada"}),
                TokenRefusal::MissingClaim("sub"),
            ),
            (
                serde_json::json!({"client_id": null}),
                TokenRefusal::MissingClaim("client_id"),
            ),
        ];
        for (json, refusal) in refused {
            assert_eq!(check(json.clone()).unwrap_err(), refusal, "{json}");
        }
        assert!(
            check(serde_json::json!({"exp": NOW - leeway + 1})).is_ok(),
            "within the leeway"
        );
    }
}
