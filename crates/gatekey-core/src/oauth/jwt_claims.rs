//! Judging a signed token's registered claims (RFC 7519 §4.1) once its signature held
//! ([`super::jws`]): who issued it, whom it is for, and whether it is valid now.

use serde_json::{Map, Value};
use time::{Duration, OffsetDateTime};

/// How far the clocks of gatekey and of whoever verifies may disagree (RFC 7519 §4.1.4:
/// "some small leeway, usually no more than a few minutes").
pub const CLOCK_LEEWAY: Duration = Duration::seconds(60);

/// What a token must say to be accepted.
#[derive(Debug, Clone, Copy)]
pub struct ExpectedClaims<'a> {
    /// The `iss` exactly.
    pub issuer: &'a str,
    /// An audience `aud` must hold (a string, or one of an array), when one is required.
    pub audience: Option<&'a str>,
    /// Whether an `exp` in the past refuses the token. An `id_token_hint` is accepted expired
    /// (OpenID Connect Core §3.1.2.1); nothing else is.
    pub require_unexpired: bool,
    /// The time of the check.
    pub now: OffsetDateTime,
}

/// Why the claims refuse the token.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ClaimRejection {
    /// `iss` is missing or another issuer's.
    #[error("the token was not issued by this server")]
    WrongIssuer,
    /// `aud` does not name the expected audience.
    #[error("the token is not meant for this audience")]
    WrongAudience,
    /// `exp` is missing or has passed.
    #[error("the token has expired")]
    Expired,
    /// `nbf` or `iat` is in the future.
    #[error("the token is not valid yet")]
    NotYetValid,
    /// A time claim is not a number of seconds.
    #[error("the token's {0} claim is malformed")]
    Malformed(&'static str),
}

/// Checks `claims` against `expected`, with [`CLOCK_LEEWAY`] either way.
pub fn check_claims(
    claims: &Map<String, Value>,
    expected: &ExpectedClaims<'_>,
) -> Result<(), ClaimRejection> {
    if claims.get("iss").and_then(Value::as_str) != Some(expected.issuer) {
        return Err(ClaimRejection::WrongIssuer);
    }
    if let Some(audience) = expected.audience {
        if !audiences(claims).any(|aud| aud == audience) {
            return Err(ClaimRejection::WrongAudience);
        }
    }
    let now = expected.now.unix_timestamp();
    let leeway = CLOCK_LEEWAY.whole_seconds();
    match seconds(claims, "exp")? {
        Some(exp) if expected.require_unexpired && exp + leeway <= now => {
            return Err(ClaimRejection::Expired)
        }
        None if expected.require_unexpired => return Err(ClaimRejection::Expired),
        _ => {}
    }
    for claim in ["nbf", "iat"] {
        if seconds(claims, claim)?.is_some_and(|at| at - leeway > now) {
            return Err(ClaimRejection::NotYetValid);
        }
    }
    Ok(())
}

/// The audiences of `aud`: one string, or an array of them (RFC 7519 §4.1.3).
pub fn audiences(claims: &Map<String, Value>) -> impl Iterator<Item = &str> {
    let (one, many) = match claims.get("aud") {
        Some(Value::String(one)) => (Some(one.as_str()), None),
        Some(Value::Array(many)) => (None, Some(many.iter().filter_map(Value::as_str))),
        _ => (None, None),
    };
    one.into_iter().chain(many.into_iter().flatten())
}

/// A NumericDate claim (RFC 7519 §2) as whole seconds; fractions are cut.
fn seconds(claims: &Map<String, Value>, name: &'static str) -> Result<Option<i64>, ClaimRejection> {
    match claims.get(name) {
        None => Ok(None),
        Some(Value::Number(number)) => number
            .as_i64()
            .or_else(|| number.as_f64().map(|f| f as i64))
            .map(Some)
            .ok_or(ClaimRejection::Malformed(name)),
        Some(_) => Err(ClaimRejection::Malformed(name)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use time::macros::datetime;

    const NOW: OffsetDateTime = datetime!(2026-12-05 12:00 UTC);

    fn claims(value: Value) -> Map<String, Value> {
        value.as_object().cloned().expect("object")
    }

    fn expected(audience: Option<&str>) -> ExpectedClaims<'_> {
        ExpectedClaims {
            issuer: "https://id.example",
            audience,
            require_unexpired: true,
            now: NOW,
        }
    }

    fn at(offset: i64) -> i64 {
        NOW.unix_timestamp() + offset
    }

    #[test]
    fn a_current_token_of_the_issuer_for_the_audience_passes() {
        let token =
            claims(json!({"iss":"https://id.example","aud":["a","b"],"exp":at(300),"iat":at(0)}));
        assert_eq!(check_claims(&token, &expected(Some("b"))), Ok(()));
        let single = claims(json!({"iss":"https://id.example","aud":"a","exp":at(300)}));
        assert_eq!(check_claims(&single, &expected(Some("a"))), Ok(()));
    }

    #[test]
    fn another_issuer_or_audience_is_refused() {
        let token = claims(json!({"iss":"https://id.example/","aud":"a","exp":at(300)}));
        assert_eq!(
            check_claims(&token, &expected(None)),
            Err(ClaimRejection::WrongIssuer)
        );
        let token = claims(json!({"iss":"https://id.example","aud":"a","exp":at(300)}));
        assert_eq!(
            check_claims(&token, &expected(Some("b"))),
            Err(ClaimRejection::WrongAudience)
        );
    }

    #[test]
    fn expiry_and_not_before_allow_a_minute_of_skew() {
        let expired = claims(json!({"iss":"https://id.example","exp":at(-61)}));
        assert_eq!(
            check_claims(&expired, &expected(None)),
            Err(ClaimRejection::Expired)
        );
        let just = claims(json!({"iss":"https://id.example","exp":at(-59)}));
        assert_eq!(check_claims(&just, &expected(None)), Ok(()));
        let missing = claims(json!({"iss":"https://id.example"}));
        assert_eq!(
            check_claims(&missing, &expected(None)),
            Err(ClaimRejection::Expired)
        );
        let future = claims(json!({"iss":"https://id.example","exp":at(900),"nbf":at(120)}));
        assert_eq!(
            check_claims(&future, &expected(None)),
            Err(ClaimRejection::NotYetValid)
        );
        let text = claims(json!({"iss":"https://id.example","exp":"soon"}));
        assert_eq!(
            check_claims(&text, &expected(None)),
            Err(ClaimRejection::Malformed("exp"))
        );
    }

    #[test]
    fn a_hint_may_have_expired() {
        let expired = claims(json!({"iss":"https://id.example","exp":at(-3600)}));
        let mut hint = expected(None);
        hint.require_unexpired = false;
        assert_eq!(check_claims(&expired, &hint), Ok(()));
    }
}
