use serde_json::json;
use time::macros::datetime;

use super::*;
use crate::oauth::jws::JwsSigner;
use crate::oauth::signing_key_material::generate_key;
use crate::oauth::signing_key_schedule::SigningAlgorithm;

const NOW: OffsetDateTime = datetime!(2026-12-05 12:00 UTC);
const ISSUER: &str = "https://id.example";

fn hint(subject: &str, client: &str, sid: Option<&str>) -> HintClaims {
    HintClaims {
        subject: subject.into(),
        client_id: Some(client.into()),
        sid: sid.map(str::to_owned),
    }
}

fn request(pairs: &[(&str, &str)]) -> EndSessionRequest {
    EndSessionRequest::parse(pairs.iter().copied()).expect("parses")
}

const SESSION: CurrentSession<'static> = CurrentSession {
    subject: "7",
    sid: "sid-7",
};

fn registered() -> Vec<String> {
    vec![
        "https://app.example/bye".into(),
        "https://app.example/bye?from=op".into(),
    ]
}

#[test]
fn parameters_are_read_once_and_empty_ones_are_absent() {
    let parsed = request(&[
        ("client_id", "app"),
        ("state", ""),
        ("ui_locales", "fr"),
        ("other", "x"),
    ]);
    assert_eq!(parsed.client_id.as_deref(), Some("app"));
    assert_eq!(parsed.state, None);
    assert_eq!(parsed.to_params(), vec![("client_id", "app")]);
    assert_eq!(
        EndSessionRequest::parse([("state", "a"), ("state", "b")]),
        Err(EndSessionError::BadParameter("state"))
    );
    let long = "x".repeat(MAX_END_SESSION_PARAMETER_LEN + 1);
    assert_eq!(
        EndSessionRequest::parse([("id_token_hint", long.as_str())]),
        Err(EndSessionError::BadParameter("id_token_hint"))
    );
    let debug = format!("{:?}", request(&[("id_token_hint", "secret.token.here")]));
    assert!(!debug.contains("secret"), "{debug}");
}

#[test]
fn the_client_is_the_hints_or_client_ids_and_both_must_agree() {
    let from_hint = hint("7", "app", None);
    assert_eq!(client_of(Some(&from_hint), None), Ok(Some("app".into())));
    assert_eq!(client_of(None, Some("app")), Ok(Some("app".into())));
    assert_eq!(
        client_of(Some(&from_hint), Some("app")),
        Ok(Some("app".into()))
    );
    assert_eq!(
        client_of(Some(&from_hint), Some("other")),
        Err(EndSessionError::ClientMismatch)
    );
    assert_eq!(client_of(None, None), Ok(None));
}

#[test]
fn the_hints_client_is_azp_else_its_one_audience() {
    let claims = |value: Value| value.as_object().cloned().expect("object");
    let one = HintClaims::from_claims(&claims(json!({"sub":"7","aud":"app","sid":"s"})));
    assert_eq!(one, Ok(hint("7", "app", Some("s"))));
    let listed = HintClaims::from_claims(&claims(json!({"sub":"7","aud":["app"]})));
    assert_eq!(listed.map(|h| h.client_id), Ok(Some("app".into())));
    let azp = HintClaims::from_claims(&claims(json!({"sub":"7","aud":["a","b"],"azp":"b"})));
    assert_eq!(azp.map(|h| h.client_id), Ok(Some("b".into())));
    let unclear = HintClaims::from_claims(&claims(json!({"sub":"7","aud":["a","b"]})));
    assert_eq!(unclear.map(|h| h.client_id), Ok(None));
    assert!(HintClaims::from_claims(&claims(json!({"aud":"app"}))).is_err());
}

#[test]
fn a_registered_uri_gets_state_appended_and_encoded() {
    let uris = registered();
    let decided = decide_end_session(
        &request(&[
            ("post_logout_redirect_uri", "https://app.example/bye"),
            ("state", "a b&c=d"),
        ]),
        Some(&hint("7", "app", None)),
        Some(&uris),
        Some(SESSION),
    );
    assert_eq!(
        decided,
        Ok(EndSession {
            confirmation: Confirmation::NotNeeded,
            after: AfterLogout::Redirect("https://app.example/bye?state=a+b%26c%3Dd".into()),
        })
    );
    let with_query = decide_end_session(
        &request(&[
            (
                "post_logout_redirect_uri",
                "https://app.example/bye?from=op",
            ),
            ("state", "s"),
        ]),
        None,
        Some(&uris),
        None,
    )
    .map(|d| d.after);
    assert_eq!(
        with_query,
        Ok(AfterLogout::Redirect(
            "https://app.example/bye?from=op&state=s".into()
        ))
    );
    let without_state = decide_end_session(
        &request(&[("post_logout_redirect_uri", "https://app.example/bye")]),
        None,
        Some(&uris),
        None,
    )
    .map(|d| d.after);
    assert_eq!(
        without_state,
        Ok(AfterLogout::Redirect("https://app.example/bye".into()))
    );
}

#[test]
fn a_uri_never_leads_anywhere_unregistered_or_unattributable() {
    let uris = registered();
    for presented in [
        "https://app.example/bye/",
        "https://evil.example/bye",
        "https://app.example/bye?state=x",
    ] {
        let decided = decide_end_session(
            &request(&[("post_logout_redirect_uri", presented)]),
            Some(&hint("7", "app", None)),
            Some(&uris),
            Some(SESSION),
        );
        assert_eq!(
            decided,
            Err(EndSessionError::UnregisteredRedirectUri),
            "{presented}"
        );
    }
    let decided = decide_end_session(
        &request(&[("post_logout_redirect_uri", "https://app.example/bye")]),
        None,
        None,
        Some(SESSION),
    );
    assert_eq!(decided, Err(EndSessionError::RedirectUriWithoutClient));
}

#[test]
fn only_a_hint_for_this_users_session_spares_the_question() {
    let ask = |hint: Option<&HintClaims>, session| {
        decide_end_session(&request(&[]), hint, None, session).map(|d| d.confirmation)
    };
    assert_eq!(
        ask(Some(&hint("7", "app", None)), Some(SESSION)),
        Ok(Confirmation::NotNeeded)
    );
    assert_eq!(
        ask(Some(&hint("7", "app", Some("sid-7"))), Some(SESSION)),
        Ok(Confirmation::NotNeeded)
    );
    assert_eq!(
        ask(Some(&hint("7", "app", Some("sid-old"))), Some(SESSION)),
        Ok(Confirmation::Ask)
    );
    assert_eq!(
        ask(Some(&hint("8", "app", None)), Some(SESSION)),
        Ok(Confirmation::Ask)
    );
    assert_eq!(ask(None, Some(SESSION)), Ok(Confirmation::Ask));
    assert_eq!(ask(None, None), Ok(Confirmation::NothingToEnd));
    assert_eq!(
        decide_end_session(&request(&[]), None, None, None).map(|d| d.after),
        Ok(AfterLogout::SignedOutPage)
    );
}

#[test]
fn hints_verify_expired_but_not_forged_foreign_or_typed_otherwise() {
    let algorithm = SigningAlgorithm::Es256;
    let key = generate_key(algorithm).expect("generates");
    let signer = JwsSigner::new(&key.kid, algorithm, &key.private_key).expect("opens");
    let verifier = JwsVerifier::from_jwks([key.public_jwk.as_str()]);
    let expired = json!({
        "iss": ISSUER, "sub": "7", "aud": "app", "sid": "s",
        "iat": NOW.unix_timestamp() - 7200, "exp": NOW.unix_timestamp() - 3600,
    });
    let token = signer.sign("JWT", &expired).expect("signs");
    assert_eq!(
        verify_id_token_hint(&token, &verifier, ISSUER, NOW),
        Ok(hint("7", "app", Some("s")))
    );

    let access_token = signer.sign("at+jwt", &expired).expect("signs");
    let foreign = signer
        .sign("JWT", &json!({"iss":"https://other.example","sub":"7"}))
        .expect("signs");
    let future = signer
        .sign(
            "JWT",
            &json!({"iss":ISSUER,"sub":"7","iat":NOW.unix_timestamp() + 3600}),
        )
        .expect("signs");
    let other_key = generate_key(algorithm).expect("generates");
    let forger = JwsSigner::new(&key.kid, algorithm, &other_key.private_key).expect("opens");
    let forged = forger.sign("JWT", &expired).expect("signs");
    for bad in [
        access_token.as_str(),
        foreign.as_str(),
        future.as_str(),
        forged.as_str(),
        "not.a.token",
    ] {
        assert!(
            matches!(
                verify_id_token_hint(bad, &verifier, ISSUER, NOW),
                Err(EndSessionError::InvalidHint(_))
            ),
            "{bad}"
        );
    }
}
