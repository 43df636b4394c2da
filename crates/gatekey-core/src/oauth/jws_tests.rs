use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde_json::json;

use super::*;
use crate::oauth::signing_key_material::{generate_key, GeneratedKey};

fn keypair(algorithm: SigningAlgorithm) -> (GeneratedKey, JwsSigner) {
    let key = generate_key(algorithm).expect("generates");
    let signer = JwsSigner::new(&key.kid, algorithm, &key.private_key).expect("opens");
    (key, signer)
}

fn part(value: &Value) -> String {
    URL_SAFE_NO_PAD.encode(value.to_string())
}

/// `token` with its header replaced by `header`, keeping payload and signature.
fn with_header(token: &str, header: Value) -> String {
    let rest = token.split_once('.').expect("dots").1;
    format!("{}.{rest}", part(&header))
}

#[test]
fn every_algorithm_signs_what_its_published_key_verifies() {
    for algorithm in SigningAlgorithm::ALL {
        let (key, signer) = keypair(algorithm);
        let verifier = JwsVerifier::from_jwks([key.public_jwk.as_str()]);
        assert_eq!(verifier.len(), 1, "{algorithm}");
        let token = signer
            .sign("at+jwt", &json!({"sub":"7","scope":"read"}))
            .expect("signs");
        let verified = verifier.verify(&token, Some("at+jwt")).expect("verifies");
        assert_eq!(verified.kid, key.kid);
        assert_eq!(verified.algorithm, algorithm);
        assert_eq!(verified.claims["sub"], "7");
    }
}

#[test]
fn an_unsigned_or_hmac_token_is_refused_whatever_it_claims() {
    let (key, signer) = keypair(SigningAlgorithm::Es256);
    let verifier = JwsVerifier::from_jwks([key.public_jwk.as_str()]);
    let token = signer.sign("JWT", &json!({"sub":"7"})).expect("signs");
    let payload = token.split('.').nth(1).expect("payload");
    let none = format!("{}.{payload}.", part(&json!({"alg":"none","kid":key.kid})));
    assert_eq!(
        verifier.verify(&none, None),
        Err(JwsError::UnsupportedAlgorithm("none".into()))
    );
    let hmac = with_header(&token, json!({"alg":"HS256","kid":key.kid}));
    assert_eq!(
        verifier.verify(&hmac, None),
        Err(JwsError::UnsupportedAlgorithm("HS256".into()))
    );
}

#[test]
fn a_token_naming_another_algorithm_than_its_key_is_refused() {
    let (es, signer) = keypair(SigningAlgorithm::Es256);
    let verifier = JwsVerifier::from_jwks([es.public_jwk.as_str()]);
    let token = signer.sign("JWT", &json!({"sub":"7"})).expect("signs");
    let confused = with_header(&token, json!({"alg":"RS256","kid":es.kid}));
    assert_eq!(verifier.verify(&confused, None), Err(JwsError::UnknownKey));
}

#[test]
fn an_altered_payload_or_another_key_fails_the_signature() {
    let (key, signer) = keypair(SigningAlgorithm::EdDsa);
    let verifier = JwsVerifier::from_jwks([key.public_jwk.as_str()]);
    let token = signer.sign("JWT", &json!({"sub":"7"})).expect("signs");
    let mut parts: Vec<&str> = token.split('.').collect();
    let forged = part(&json!({"sub":"1"}));
    parts[1] = &forged;
    assert_eq!(
        verifier.verify(&parts.join("."), None),
        Err(JwsError::BadSignature)
    );

    let (_, stranger) = keypair(SigningAlgorithm::EdDsa);
    let foreign = stranger.sign("JWT", &json!({"sub":"7"})).expect("signs");
    assert_eq!(verifier.verify(&foreign, None), Err(JwsError::UnknownKey));
}

#[test]
fn a_key_left_out_of_the_set_no_longer_verifies() {
    let (old, signer) = keypair(SigningAlgorithm::Es256);
    let (new, _) = keypair(SigningAlgorithm::Es256);
    let token = signer.sign("JWT", &json!({"sub":"7"})).expect("signs");
    let both = JwsVerifier::from_jwks([old.public_jwk.as_str(), new.public_jwk.as_str()]);
    assert!(both.verify(&token, None).is_ok());
    let after_retirement = JwsVerifier::from_jwks([new.public_jwk.as_str()]);
    assert_eq!(
        after_retirement.verify(&token, None),
        Err(JwsError::UnknownKey)
    );
}

#[test]
fn the_type_is_checked_when_one_is_expected() {
    let (key, signer) = keypair(SigningAlgorithm::Es256);
    let verifier = JwsVerifier::from_jwks([key.public_jwk.as_str()]);
    let id_token = signer.sign("JWT", &json!({"sub":"7"})).expect("signs");
    assert_eq!(
        verifier.verify(&id_token, Some("at+jwt")),
        Err(JwsError::WrongType { expected: "at+jwt" })
    );
    let access = signer
        .sign("application/AT+JWT", &json!({}))
        .expect("signs");
    assert!(verifier.verify(&access, Some("at+jwt")).is_ok());
}

#[test]
fn garbage_and_critical_headers_are_refused() {
    let (key, signer) = keypair(SigningAlgorithm::Es256);
    let verifier = JwsVerifier::from_jwks([key.public_jwk.as_str()]);
    for garbage in [
        "",
        "a",
        "a.b",
        "a.b.c.d",
        "!!.??.**",
        &"x".repeat(MAX_TOKEN_LENGTH + 1),
    ] {
        assert_eq!(
            verifier.verify(garbage, None),
            Err(JwsError::Malformed),
            "{garbage}"
        );
    }
    let token = signer.sign("JWT", &json!({"sub":"7"})).expect("signs");
    let critical = with_header(&token, json!({"alg":"ES256","kid":key.kid,"crit":["exp"]}));
    assert_eq!(
        verifier.verify(&critical, None),
        Err(JwsError::CriticalHeader)
    );
    assert_eq!(
        signer.sign("JWT", &json!(["not", "an", "object"])),
        Err(SignError::ClaimsNotAnObject)
    );
}

#[test]
fn a_short_rsa_key_is_never_trusted() {
    let short = json!({
        "kty":"RSA","alg":"RS256","kid":"short","use":"sig","e":"AQAB",
        "n": URL_SAFE_NO_PAD.encode([0xc3u8; 128]),
    });
    assert!(JwsVerifier::from_jwks([short.to_string().as_str()]).is_empty());
}

#[test]
fn the_signer_debug_shows_no_key() {
    let (key, signer) = keypair(SigningAlgorithm::Rs256);
    let shown = format!("{signer:?}");
    assert!(shown.contains(&key.kid));
    assert!(shown.len() < 200, "{shown}");
}
