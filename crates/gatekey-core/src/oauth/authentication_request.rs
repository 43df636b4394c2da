//! The OpenID Connect parameters of an authorization request (OpenID Connect Core 1.0
//! §3.1.2.1): what gatekey reads besides RFC 6749's, and what it accepts and ignores.
//!
//! - `prompt`, `max_age`: see [`super::prompt`].
//! - `nonce`: stored with the authorization code and echoed in the ID token (§3.1.2.1,
//!   §3.1.3.6). At most [`MAX_NONCE_LEN`] printable ASCII characters.
//! - `login_hint`: pre-fills the sign-in form's email; trusted for nothing else.
//! - `id_token_hint`: an ID token gatekey issued earlier. With `prompt=none` a hint naming
//!   another user than the session's is `login_required`. [`IdTokenHint::parse`] reads its
//!   form; [`IdTokenHint::verify`] checks its signature against the server's published keys
//!   and its issuer, which the endpoint does before using it. An expired hint is accepted
//!   (§3.1.2.1: "the ID Token ... MAY have expired").
//! - `ui_locales`, `claims_locales`, `acr_values`, `display`: accepted and ignored (§3.1.2.1
//!   makes each optional for the provider to honour); gatekey's pages are in English and it
//!   knows one authentication method.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use time::OffsetDateTime;

use super::end_session::verify_id_token_hint;
use super::jws::JwsVerifier;
use super::prompt::{parse_max_age, Prompt, PromptParameterError};

/// The longest `nonce` accepted. The specification sets no limit; a client needs far fewer
/// characters for 128 bits of entropy, and the code row should not grow without bound.
pub const MAX_NONCE_LEN: usize = 512;

/// The longest `login_hint` used: no email is longer (RFC 5321 §4.5.3.1.3 limits a path to
/// 256 octets). A longer hint is dropped, not refused: it is a hint.
pub const MAX_LOGIN_HINT_LEN: usize = 254;

/// The longest `id_token_hint` accepted; gatekey's ID tokens are far shorter.
pub const MAX_ID_TOKEN_HINT_LEN: usize = 16 * 1024;

/// An `id_token_hint` whose form is that of a compact JWS with a `sub` claim.
#[derive(Clone, PartialEq, Eq)]
pub struct IdTokenHint {
    /// The token as presented.
    pub token: String,
    subject: String,
}

impl std::fmt::Debug for IdTokenHint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The token is a bearer-like credential of the user's identity; print only its subject.
        f.debug_struct("IdTokenHint")
            .field("subject", &self.subject)
            .finish_non_exhaustive()
    }
}

impl IdTokenHint {
    /// Reads the hint's `sub` claim from the payload of a compact JWS (RFC 7515 §7.1)
    /// WITHOUT checking its signature: the result says which user the hint claims to name,
    /// nothing more, until the signature is checked against the server's keys.
    pub fn parse(token: &str) -> Result<Self, PromptParameterError> {
        let bad = || PromptParameterError("id_token_hint is not an ID token".into());
        if token.len() > MAX_ID_TOKEN_HINT_LEN {
            return Err(bad());
        }
        let mut parts = token.split('.');
        let (Some(_header), Some(payload), Some(_signature), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(bad());
        };
        let bytes = URL_SAFE_NO_PAD.decode(payload).map_err(|_| bad())?;
        let claims: serde_json::Value = serde_json::from_slice(&bytes).map_err(|_| bad())?;
        let subject = claims
            .get("sub")
            .and_then(serde_json::Value::as_str)
            .filter(|sub| !sub.is_empty())
            .ok_or_else(bad)?;
        Ok(Self {
            token: token.to_owned(),
            subject: subject.to_owned(),
        })
    }

    /// The `sub` the hint claims, unverified unless [`Self::verify`] accepted it.
    pub fn subject(&self) -> &str {
        &self.subject
    }

    /// Checks that the hint is a token this server signed, with one of the keys it publishes
    /// now (`verifier`), for `issuer`. Its expiry is not checked: an expired ID token is a
    /// valid hint (§3.1.2.1). Any failure is `invalid_request`: the client sent a hint that
    /// is not one of gatekey's ID tokens.
    pub fn verify(
        &self,
        verifier: &JwsVerifier,
        issuer: &str,
        now: OffsetDateTime,
    ) -> Result<(), PromptParameterError> {
        // The same check as RP-initiated logout's hint: one rule for "one of our ID tokens".
        let claims = verify_id_token_hint(&self.token, verifier, issuer, now)
            .map_err(|refused| PromptParameterError(refused.to_string()))?;
        if claims.subject != self.subject {
            return Err(PromptParameterError(
                "id_token_hint is not an ID token".into(),
            ));
        }
        Ok(())
    }
}

/// The OpenID Connect parameters of a checked authorization request.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuthenticationParameters {
    /// `prompt`.
    pub prompt: Prompt,
    /// `max_age`, in seconds.
    pub max_age: Option<u64>,
    /// `nonce`, stored with the code.
    pub nonce: Option<String>,
    /// `login_hint`, for the sign-in form only.
    pub login_hint: Option<String>,
    /// `id_token_hint`.
    pub id_token_hint: Option<IdTokenHint>,
}

/// The raw values of the parameters, as the request carried them.
#[derive(Debug, Clone, Copy, Default)]
pub struct RawAuthenticationParameters<'a> {
    /// `prompt`.
    pub prompt: Option<&'a str>,
    /// `max_age`.
    pub max_age: Option<&'a str>,
    /// `nonce`.
    pub nonce: Option<&'a str>,
    /// `login_hint`.
    pub login_hint: Option<&'a str>,
    /// `id_token_hint`.
    pub id_token_hint: Option<&'a str>,
}

/// Whether `nonce` may be stored and echoed: 1 to [`MAX_NONCE_LEN`] printable ASCII
/// characters (it goes back in a JSON string and may be logged by the client; control
/// characters have no place in it).
fn nonce_is_acceptable(nonce: &str) -> bool {
    !nonce.is_empty()
        && nonce.len() <= MAX_NONCE_LEN
        && nonce.bytes().all(|b| (0x20..=0x7e).contains(&b))
}

impl RawAuthenticationParameters<'_> {
    /// Checks the parameters; an error is `invalid_request` (§3.1.2.6 refers to RFC 6749
    /// §4.1.2.1 for a malformed request).
    pub fn check(self) -> Result<AuthenticationParameters, PromptParameterError> {
        let prompt = Prompt::parse(self.prompt)?;
        let max_age = parse_max_age(self.max_age)?;
        let nonce = match self.nonce {
            None | Some("") => None,
            Some(nonce) if nonce_is_acceptable(nonce) => Some(nonce.to_owned()),
            Some(_) => {
                return Err(PromptParameterError(format!(
                    "nonce must be 1 to {MAX_NONCE_LEN} printable ASCII characters"
                )))
            }
        };
        let login_hint = self
            .login_hint
            .map(str::trim)
            .filter(|hint| !hint.is_empty() && hint.len() <= MAX_LOGIN_HINT_LEN)
            .filter(|hint| !hint.chars().any(char::is_control))
            .map(str::to_owned);
        let id_token_hint = match self.id_token_hint {
            None | Some("") => None,
            Some(token) => Some(IdTokenHint::parse(token)?),
        };
        Ok(AuthenticationParameters {
            prompt,
            max_age,
            nonce,
            login_hint,
            id_token_hint,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hint_with(payload: &str) -> String {
        format!(
            "{}.{}.c2ln",
            URL_SAFE_NO_PAD.encode(br#"{"alg":"RS256"}"#),
            URL_SAFE_NO_PAD.encode(payload)
        )
    }

    #[test]
    fn nonces_are_printable_and_bounded() {
        let check = |nonce: &str| {
            RawAuthenticationParameters {
                nonce: Some(nonce),
                ..Default::default()
            }
            .check()
        };
        assert_eq!(
            check("n-0S6_WzA2Mj").unwrap().nonce.as_deref(),
            Some("n-0S6_WzA2Mj")
        );
        assert_eq!(check("").unwrap().nonce, None);
        assert!(check(&"a".repeat(MAX_NONCE_LEN)).is_ok());
        assert!(check(&"a".repeat(MAX_NONCE_LEN + 1)).is_err());
        assert!(check("tab\there").is_err());
        assert!(check("é").is_err());
    }

    #[test]
    fn login_hints_are_kept_only_when_plausible() {
        let hint = |text: &str| {
            RawAuthenticationParameters {
                login_hint: Some(text),
                ..Default::default()
            }
            .check()
            .unwrap()
            .login_hint
        };
        assert_eq!(
            hint(" ann@example.com ").as_deref(),
            Some("ann@example.com")
        );
        assert_eq!(hint(&"a".repeat(300)), None);
        assert_eq!(hint("a\nb"), None);
    }

    #[test]
    fn a_hint_verifies_only_when_this_server_signed_it() {
        use crate::oauth::jws::JwsSigner;
        use crate::oauth::signing_key_material::generate_key;
        use crate::oauth::signing_key_schedule::SigningAlgorithm;
        use serde_json::json;

        let key = generate_key(SigningAlgorithm::Es256).unwrap();
        let signer = JwsSigner::new(&key.kid, SigningAlgorithm::Es256, &key.private_key).unwrap();
        let verifier = JwsVerifier::from_jwks([key.public_jwk.as_str()]);
        let issuer = "https://id.example.com";
        let expired = json!({"iss": issuer, "sub": "42", "aud": "app_1", "exp": 1});
        let token = signer.sign("JWT", &expired).unwrap();
        let hint = IdTokenHint::parse(&token).unwrap();
        let now = OffsetDateTime::now_utc();
        assert_eq!(
            hint.verify(&verifier, issuer, now),
            Ok(()),
            "expired is fine"
        );
        assert!(hint
            .verify(&verifier, "https://other.example", now)
            .is_err());
        assert!(
            hint.verify(&JwsVerifier::default(), issuer, now).is_err(),
            "a key no longer published"
        );
        let unsigned =
            IdTokenHint::parse(&hint_with(r#"{"iss":"https://id.example.com","sub":"42"}"#))
                .unwrap();
        assert!(unsigned.verify(&verifier, issuer, now).is_err());
    }

    #[test]
    fn id_token_hints_name_a_subject_or_are_refused() {
        let hint = IdTokenHint::parse(&hint_with(r#"{"sub":"42","exp":1}"#)).unwrap();
        assert_eq!(hint.subject(), "42");
        assert!(
            !format!("{hint:?}").contains(&hint.token),
            "Debug hides the token"
        );
        for bad in [
            "not-a-jwt".to_owned(),
            "a.b".to_owned(),
            "a.b.c.d".to_owned(),
            "a.!!!.c".to_owned(),
            hint_with("not json"),
            hint_with(r#"{"iss":"x"}"#),
            hint_with(r#"{"sub":7}"#),
        ] {
            assert!(IdTokenHint::parse(&bad).is_err(), "{bad}");
        }
    }
}
