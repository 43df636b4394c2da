//! The claim checks of ID token validation (OpenID Connect Core 1.0 §3.1.3.7, steps 2–4 and
//! 9–11): pure functions of the claims, what the client expects, and the time.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::Deserialize;
use serde_json::Value;

use super::IdTokenError;
use crate::Identity;

/// How far the client's clock may be from the server's: an ID token is still accepted this
/// long after its `exp`, and one whose `iat` is up to this far in the future.
pub(crate) const CLOCK_SKEW: Duration = Duration::from_secs(60);

/// The claims the client reads (§2, §5.1). Numbers are NumericDates, which may have a
/// fraction (RFC 7519 §2).
#[derive(Debug, Default, Deserialize)]
pub(crate) struct IdTokenClaims {
    #[serde(default)]
    pub(crate) iss: Option<String>,
    #[serde(default)]
    pub(crate) sub: Option<String>,
    #[serde(default)]
    pub(crate) aud: Option<Audience>,
    #[serde(default)]
    pub(crate) azp: Option<String>,
    #[serde(default)]
    pub(crate) exp: Option<f64>,
    #[serde(default)]
    pub(crate) iat: Option<f64>,
    #[serde(default)]
    pub(crate) auth_time: Option<f64>,
    #[serde(default)]
    pub(crate) nonce: Option<String>,
    #[serde(default)]
    pub(crate) email: Option<String>,
    #[serde(default)]
    pub(crate) email_verified: Option<bool>,
    #[serde(default)]
    pub(crate) name: Option<String>,
    #[serde(default, rename = "gatekey:account")]
    pub(crate) account: Option<Value>,
}

/// `aud`: one string or an array of them (RFC 7519 §4.1.3).
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub(crate) enum Audience {
    One(String),
    Many(Vec<String>),
}

impl Audience {
    fn values(&self) -> &[String] {
        match self {
            Self::One(one) => std::slice::from_ref(one),
            Self::Many(many) => many,
        }
    }
}

/// What the token must say.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Expected<'a> {
    /// The issuer of the server's metadata, compared exactly.
    pub(crate) issuer: &'a str,
    /// This client's id.
    pub(crate) client_id: &'a str,
    /// The nonce sent with the authorization request, if one was.
    pub(crate) nonce: Option<&'a str>,
}

/// Checks the claims of a token whose signature has been verified, and returns the identity
/// they name.
///
/// - §3.1.3.7 step 2: `iss` equals the issuer exactly.
/// - Steps 3–5: `aud` contains the client id; with several audiences `azp` must be present,
///   and when present it must be the client id.
/// - Step 9: the time is before `exp` (plus [`CLOCK_SKEW`]).
/// - Step 10: `iat` is present and not in the future (beyond [`CLOCK_SKEW`]).
/// - Step 11: when a nonce was sent, `nonce` equals it (§3.1.2.1).
/// - §2: `sub` is present.
pub(crate) fn check_claims(
    claims: IdTokenClaims,
    expected: Expected<'_>,
    now: SystemTime,
) -> Result<Identity, IdTokenError> {
    let iss = claims.iss.unwrap_or_default();
    if iss != expected.issuer {
        return Err(IdTokenError::Issuer {
            expected: expected.issuer.to_owned(),
            found: iss,
        });
    }
    let audiences = claims.aud.as_ref().map(Audience::values).unwrap_or(&[]);
    if !audiences.iter().any(|aud| aud == expected.client_id) {
        return Err(IdTokenError::Audience {
            client_id: expected.client_id.to_owned(),
        });
    }
    let azp_fits = match claims.azp.as_deref() {
        Some(azp) => azp == expected.client_id,
        None => audiences.len() == 1,
    };
    if !azp_fits {
        return Err(IdTokenError::AuthorizedParty {
            client_id: expected.client_id.to_owned(),
        });
    }
    let now = seconds(now);
    let skew = CLOCK_SKEW.as_secs_f64();
    match claims.exp {
        Some(exp) if now < exp + skew => {}
        _ => return Err(IdTokenError::Expired),
    }
    match claims.iat {
        Some(iat) if iat <= now + skew => {}
        _ => return Err(IdTokenError::IssuedAt),
    }
    if let Some(sent) = expected.nonce {
        if claims.nonce.as_deref() != Some(sent) {
            return Err(IdTokenError::Nonce);
        }
    }
    let subject = claims
        .sub
        .filter(|sub| !sub.is_empty())
        .ok_or(IdTokenError::Subject)?;
    Ok(Identity {
        subject,
        issuer: iss,
        email: claims.email,
        email_verified: claims.email_verified,
        name: claims.name,
        account: claims
            .account
            .as_ref()
            .and_then(Value::as_str)
            .map(str::to_owned),
        auth_time: claims.auth_time.map(|t| t as i64),
    })
}

/// A renewed ID token must name the same user as the one it follows (§12.2).
pub(crate) fn check_same_subject(
    previous: Option<&Identity>,
    renewed: &Identity,
) -> Result<(), IdTokenError> {
    match previous {
        Some(previous) if previous.subject != renewed.subject => Err(IdTokenError::SubjectChanged),
        _ => Ok(()),
    }
}

fn seconds(time: SystemTime) -> f64 {
    time.duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    const ISSUER: &str = "https://id.example";
    const NOW: u64 = 2_000_000_000;

    fn at(secs: u64) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(secs)
    }

    fn good() -> IdTokenClaims {
        IdTokenClaims {
            iss: Some(ISSUER.into()),
            sub: Some("42".into()),
            aud: Some(Audience::One("app_1".into())),
            exp: Some((NOW + 300) as f64),
            iat: Some(NOW as f64),
            nonce: Some("n-0S6".into()),
            email: Some("ada@acme.test".into()),
            account: Some(Value::String("acme".into())),
            ..Default::default()
        }
    }

    fn expected(nonce: Option<&str>) -> Expected<'_> {
        Expected {
            issuer: ISSUER,
            client_id: "app_1",
            nonce,
        }
    }

    fn check(claims: IdTokenClaims) -> Result<Identity, IdTokenError> {
        check_claims(claims, expected(Some("n-0S6")), at(NOW))
    }

    #[test]
    fn good_claims_give_the_identity() {
        let identity = check(good()).expect("accepted");
        assert_eq!(identity.subject, "42");
        assert_eq!(identity.issuer, ISSUER);
        assert_eq!(identity.email.as_deref(), Some("ada@acme.test"));
        assert_eq!(identity.account.as_deref(), Some("acme"));
    }

    #[test]
    fn the_issuer_must_match_exactly() {
        for iss in [
            None,
            Some("https://id.example/"),
            Some("https://evil.example"),
        ] {
            let claims = IdTokenClaims {
                iss: iss.map(str::to_owned),
                ..good()
            };
            assert!(matches!(check(claims), Err(IdTokenError::Issuer { .. })));
        }
    }

    #[test]
    fn the_audience_must_contain_this_client() {
        for aud in [
            None,
            Some(Audience::One("app_2".into())),
            Some(Audience::Many(vec!["app_2".into(), "app_3".into()])),
        ] {
            let claims = IdTokenClaims { aud, ..good() };
            assert!(matches!(check(claims), Err(IdTokenError::Audience { .. })));
        }
    }

    #[test]
    fn several_audiences_need_azp_naming_this_client() {
        let many = || Some(Audience::Many(vec!["app_1".into(), "api".into()]));
        let without_azp = IdTokenClaims {
            aud: many(),
            ..good()
        };
        assert!(matches!(
            check(without_azp),
            Err(IdTokenError::AuthorizedParty { .. })
        ));
        let other_azp = IdTokenClaims {
            aud: many(),
            azp: Some("api".into()),
            ..good()
        };
        assert!(matches!(
            check(other_azp),
            Err(IdTokenError::AuthorizedParty { .. })
        ));
        let ours = IdTokenClaims {
            aud: many(),
            azp: Some("app_1".into()),
            ..good()
        };
        assert!(check(ours).is_ok());
    }

    #[test]
    fn expiry_allows_the_clock_skew_and_no_more() {
        let skew = CLOCK_SKEW.as_secs();
        let exp = |exp: Option<u64>| IdTokenClaims {
            exp: exp.map(|e| e as f64),
            ..good()
        };
        assert!(check(exp(Some(NOW - skew + 1))).is_ok());
        assert_eq!(
            check(exp(Some(NOW - skew))).unwrap_err(),
            IdTokenError::Expired
        );
        assert_eq!(check(exp(None)).unwrap_err(), IdTokenError::Expired);
    }

    #[test]
    fn iat_must_be_present_and_not_in_the_future() {
        let skew = CLOCK_SKEW.as_secs();
        let iat = |iat: Option<u64>| IdTokenClaims {
            iat: iat.map(|i| i as f64),
            ..good()
        };
        assert!(check(iat(Some(NOW + skew))).is_ok());
        assert_eq!(
            check(iat(Some(NOW + skew + 1))).unwrap_err(),
            IdTokenError::IssuedAt
        );
        assert_eq!(check(iat(None)).unwrap_err(), IdTokenError::IssuedAt);
    }

    #[test]
    fn a_nonce_sent_must_come_back() {
        let wrong = IdTokenClaims {
            nonce: Some("other".into()),
            ..good()
        };
        assert_eq!(check(wrong).unwrap_err(), IdTokenError::Nonce);
        let missing = IdTokenClaims {
            nonce: None,
            ..good()
        };
        assert_eq!(check(missing).unwrap_err(), IdTokenError::Nonce);
        let renewed = IdTokenClaims {
            nonce: None,
            ..good()
        };
        assert!(check_claims(renewed, expected(None), at(NOW)).is_ok());
    }

    #[test]
    fn sub_is_required_and_must_not_change_on_renewal() {
        let claims = IdTokenClaims {
            sub: Some(String::new()),
            ..good()
        };
        assert_eq!(check(claims).unwrap_err(), IdTokenError::Subject);
        let first = check(good()).unwrap();
        let other = Identity {
            subject: "43".into(),
            ..first.clone()
        };
        assert!(check_same_subject(Some(&first), &first).is_ok());
        assert!(check_same_subject(None, &other).is_ok());
        assert_eq!(
            check_same_subject(Some(&first), &other).unwrap_err(),
            IdTokenError::SubjectChanged
        );
    }
}
