//! OpenID Connect RP-Initiated Logout 1.0 at `/oauth/end_session`, as a browser and an
//! application meet it: a hint for the signed-in user signs out at once and returns to the
//! application with `state`; anything less asks the user first, on a CSRF-checked form; a URI
//! the application did not register, or a hint gatekey did not sign, is an error page.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use gatekey_core::oauth::application::{
    ApplicationSettings, ClientType, GrantType, SigningAlgorithm,
};
use gatekey_core::oauth::sign_in::session_sid;
use gatekey_core::page::PageRequest;
use gatekey_core::role::Role;
use gatekey_core::scope::ScopeSet;
use gatekey_core::secret::{Secret, SecretKind};
use gatekey_core::session::Session;
use gatekey_core::store::{AuditStore, SessionStore};
use gatekey_store::testing::application_settings;
use reqwest::header::{CONTENT_SECURITY_POLICY, LOCATION, SET_COOKIE, X_FRAME_OPTIONS};
use reqwest::Method;
use serde_json::{json, Value};

use crate::harness::{
    each_backend, hidden_inputs, send, send_text, sign_in, Browser, TestApp, PASSWORD,
};

const CLIENT_ID: &str = "app_logout";
const BYE: &str = "https://portal.example/bye";

/// Starts the app with an application that registered [`BYE`] as its post-logout URI.
async fn start(backend: gatekey_store::Backend) -> (TestApp, crate::harness::Seeded) {
    let (app, seeded) = TestApp::start_seeded(backend).await;
    let settings = ApplicationSettings {
        redirect_uris: vec!["https://portal.example/cb".into()],
        scopes: ScopeSet::parse("openid").unwrap(),
        post_logout_redirect_uris: vec![BYE.into()],
        ..application_settings("Portal", &[GrantType::AuthorizationCode])
    };
    app.store_application(seeded.acme.id, CLIENT_ID, ClientType::Public, settings)
        .await;
    (app, seeded)
}

/// An ID token as gatekey issues them, signed with the server's current RS256 key.
fn id_token(app: &TestApp, claims: &Value) -> String {
    signed(app, "JWT", claims)
}

/// `claims` signed with the server's current RS256 key, with `typ` in the header.
fn signed(app: &TestApp, typ: &str, claims: &Value) -> String {
    app.server
        .state
        .signing_keys
        .loaded()
        .signer(SigningAlgorithm::Rs256, app.now())
        .expect("the server has an RS256 key")
        .sign(typ, claims)
        .expect("signs")
}

/// An ID token for `user_id`'s sign-in `session` (if named), expired an hour ago: a hint may
/// be expired.
fn hint_for(app: &TestApp, user_id: i64, session: Option<&Session>) -> String {
    let now = app.now().unix_timestamp();
    let mut claims = json!({
        "iss": app.server.state.issuer,
        "sub": user_id.to_string(),
        "aud": CLIENT_ID,
        "iat": now - 7200,
        "exp": now - 3600,
    });
    if let Some(session) = session {
        claims["sid"] = json!(session_sid(&session.hash));
    }
    id_token(app, &claims)
}

async fn stored_session(app: &TestApp, browser: &Browser) -> Option<Session> {
    let hash = Secret::parse(SecretKind::Session, &browser.session)
        .expect("a session secret")
        .hash();
    app.store().session_by_hash(&hash).await.expect("lookup")
}

fn logout_path(pairs: &[(&str, &str)]) -> String {
    let query = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(pairs)
        .finish();
    format!("/oauth/end_session?{query}")
}

fn location(headers: &reqwest::header::HeaderMap) -> &str {
    headers
        .get(LOCATION)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
}

fn clears_cookie(headers: &reqwest::header::HeaderMap) -> bool {
    headers
        .get_all(SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .any(|v| v.starts_with("gatekey_session=;") && v.contains("Max-Age=0"))
}

async fn logout_audits(app: &TestApp, account_id: i64) -> usize {
    let audits = app
        .store()
        .list_audits(account_id, PageRequest::default())
        .await
        .expect("audits");
    audits.items.iter().filter(|a| a.action == "logout").count()
}

#[tokio::test]
async fn a_hint_for_the_signed_in_user_signs_out_and_returns_with_state() {
    each_backend(|backend| async move {
        let (app, seeded) = start(backend).await;
        let browser = sign_in(&app, "owner@acme.test", PASSWORD).await;
        // A hint may name the sign-in session (`sid`), or only the user.
        for names_session in [true, false] {
            let browser = sign_in(&app, "owner@acme.test", PASSWORD).await;
            let session = stored_session(&app, &browser).await.expect("signed in");
            let hint = hint_for(
                &app,
                seeded.owner.user.id,
                names_session.then_some(&session),
            );
            let path = logout_path(&[
                ("id_token_hint", &hint),
                ("post_logout_redirect_uri", BYE),
                ("state", "s 1&x"),
            ]);
            let (status, headers, body) =
                send_text(browser.request(&app, Method::GET, &path)).await;
            assert_eq!(status, 302, "{body}");
            assert_eq!(location(&headers), format!("{BYE}?state=s+1%26x"));
            assert!(clears_cookie(&headers));
            assert!(stored_session(&app, &browser).await.is_none());
        }
        assert_eq!(logout_audits(&app, seeded.acme.id).await, 2);
        // The first browser's session, which no hint named, is untouched.
        assert!(stored_session(&app, &browser).await.is_some());

        // POST, form-encoded, does the same; client_id may be given if it agrees.
        let browser = sign_in(&app, "owner@acme.test", PASSWORD).await;
        let hint = hint_for(&app, seeded.owner.user.id, None);
        let posted = browser
            .request(&app, Method::POST, "/oauth/end_session")
            .form(&[
                ("id_token_hint", hint.as_str()),
                ("client_id", CLIENT_ID),
                ("post_logout_redirect_uri", BYE),
            ]);
        let (status, headers, _) = send_text(posted).await;
        assert_eq!((status, location(&headers)), (302, BYE));
        assert!(stored_session(&app, &browser).await.is_none());
        app.stop().await;
    })
    .await;
}

#[tokio::test]
async fn a_uri_not_registered_or_a_forged_hint_is_an_error_page_and_signs_nobody_out() {
    each_backend(|backend| async move {
        let (app, seeded) = start(backend).await;
        let browser = sign_in(&app, "owner@acme.test", PASSWORD).await;
        let hint = hint_for(&app, seeded.owner.user.id, None);
        let forged = {
            let (header_and_payload, _) = hint.rsplit_once('.').unwrap();
            format!("{header_and_payload}.{}", URL_SAFE_NO_PAD.encode([7u8; 256]))
        };
        let other_issuer = id_token(
            &app,
            &json!({"iss":"https://elsewhere.example","sub":seeded.owner.user.id.to_string(),"aud":CLIENT_ID}),
        );
        let access_token = signed(
            &app,
            "at+jwt",
            &json!({"iss":app.server.state.issuer,"sub":seeded.owner.user.id.to_string(),"aud":CLIENT_ID}),
        );
        let cases = [
            (vec![("id_token_hint", access_token.as_str())], "not an ID token"),
            (
                vec![
                    ("id_token_hint", hint.as_str()),
                    ("post_logout_redirect_uri", "https://evil.example/bye"),
                ],
                "not registered",
            ),
            (
                vec![("client_id", CLIENT_ID), ("post_logout_redirect_uri", "https://portal.example/bye/")],
                "not registered",
            ),
            (vec![("post_logout_redirect_uri", BYE)], "needs an id_token_hint or a client_id"),
            (vec![("id_token_hint", forged.as_str()), ("post_logout_redirect_uri", BYE)], "id_token_hint"),
            (vec![("id_token_hint", other_issuer.as_str())], "id_token_hint"),
            (vec![("id_token_hint", "not-a-token")], "id_token_hint"),
            (vec![("id_token_hint", hint.as_str()), ("client_id", "someone_else")], "does not match"),
            (vec![("client_id", "nobody"), ("post_logout_redirect_uri", BYE)], "not registered"),
        ];
        for (pairs, says) in cases {
            let path = logout_path(&pairs);
            let (status, headers, body) =
                send_text(browser.request(&app, Method::GET, &path)).await;
            assert_eq!(status, 400, "{pairs:?}: {body}");
            assert!(body.contains(says), "{pairs:?}: {body}");
            assert!(headers.get(LOCATION).is_none());
            assert!(!clears_cookie(&headers));
            assert_eq!(headers[X_FRAME_OPTIONS], "DENY", "security headers as on every page");
        }
        assert!(stored_session(&app, &browser).await.is_some());
        assert_eq!(logout_audits(&app, seeded.acme.id).await, 0);

        let not_a_form = browser
            .request(&app, Method::POST, "/oauth/end_session")
            .body("id_token_hint=x");
        assert_eq!(send_text(not_a_form).await.0, 400);
        app.stop().await;
    })
    .await;
}

#[tokio::test]
async fn without_a_hint_for_this_user_the_user_confirms_on_a_csrf_checked_form() {
    each_backend(|backend| async move {
        let (app, seeded) = start(backend).await;
        let colleague = app
            .person(&seeded.acme, "colleague@acme.test", Role::Member)
            .await;
        let browser = sign_in(&app, "owner@acme.test", PASSWORD).await;
        let theirs = hint_for(&app, colleague.user.id, None);
        // The owner's, but for an earlier sign-in than this browser's.
        let earlier = sign_in(&app, "owner@acme.test", PASSWORD).await;
        let earlier = stored_session(&app, &earlier).await.expect("signed in");
        let other_sign_in = hint_for(&app, seeded.owner.user.id, Some(&earlier));
        for pairs in [
            vec![("id_token_hint", other_sign_in.as_str())],
            vec![
                ("id_token_hint", theirs.as_str()),
                ("post_logout_redirect_uri", BYE),
                ("state", "st"),
            ],
            vec![],
        ] {
            let (status, headers, page) =
                send_text(browser.request(&app, Method::GET, &logout_path(&pairs))).await;
            assert_eq!(status, 200, "{page}");
            assert!(page.contains("Sign out?"), "{page}");
            assert!(page.contains("owner@acme.test"), "{page}");
            assert!(page.contains(r#"action="/oauth/end_session/confirm""#));
            assert!(!clears_cookie(&headers));
            assert!(stored_session(&app, &browser).await.is_some());
            let policy = headers[CONTENT_SECURITY_POLICY].to_str().unwrap();
            if pairs.len() < 2 {
                assert!(policy.contains("form-action 'self';"), "{policy}");
            } else {
                assert!(page.contains("Portal"), "names the application: {page}");
                assert!(
                    policy.contains("form-action 'self' https://portal.example;"),
                    "{policy}"
                );
            }
        }

        // The form's fields without its CSRF token, or with another, sign nobody out.
        let (_, _, page) = send_text(browser.request(
            &app,
            Method::GET,
            &logout_path(&[
                ("id_token_hint", &theirs),
                ("post_logout_redirect_uri", BYE),
                ("state", "st"),
            ]),
        ))
        .await;
        let fields = hidden_inputs(&page);
        let without: Vec<_> = fields.iter().filter(|(k, _)| k != "csrf_token").collect();
        let refused = browser
            .request(&app, Method::POST, "/oauth/end_session/confirm")
            .form(&without);
        assert_eq!(send_text(refused).await.0, 400);
        let mut wrong = without.clone();
        let forged_token = ("csrf_token".to_owned(), "x".repeat(43));
        wrong.push(&forged_token);
        let refused = browser
            .request(&app, Method::POST, "/oauth/end_session/confirm")
            .form(&wrong);
        assert_eq!(send_text(refused).await.0, 403);
        assert!(stored_session(&app, &browser).await.is_some());

        // The form as the page made it signs out, and returns to the application.
        let confirmed = browser
            .request(&app, Method::POST, "/oauth/end_session/confirm")
            .form(&fields);
        let (status, headers, body) = send_text(confirmed).await;
        assert_eq!(status, 302, "{body}");
        assert_eq!(location(&headers), format!("{BYE}?state=st"));
        assert!(clears_cookie(&headers));
        assert!(stored_session(&app, &browser).await.is_none());
        assert_eq!(logout_audits(&app, seeded.acme.id).await, 1);
        app.stop().await;
    })
    .await;
}

#[tokio::test]
async fn confirming_without_a_uri_shows_the_signed_out_page() {
    each_backend(|backend| async move {
        let (app, seeded) = start(backend).await;
        let browser = sign_in(&app, "owner@acme.test", PASSWORD).await;
        let (_, _, page) =
            send_text(browser.request(&app, Method::GET, "/oauth/end_session")).await;
        let confirmed = browser
            .request(&app, Method::POST, "/oauth/end_session/confirm")
            .form(&hidden_inputs(&page));
        let (status, headers, body) = send_text(confirmed).await;
        assert_eq!(status, 200, "{body}");
        assert!(body.contains("You are signed out"), "{body}");
        assert!(clears_cookie(&headers));
        assert!(stored_session(&app, &browser).await.is_none());
        assert_eq!(logout_audits(&app, seeded.acme.id).await, 1);

        // With no session there is nothing to end: straight on, to the URI or the page.
        let hint = hint_for(&app, seeded.owner.user.id, None);
        let path = logout_path(&[
            ("id_token_hint", &hint),
            ("post_logout_redirect_uri", BYE),
            ("state", "again"),
        ]);
        let (status, headers, _) = send_text(app.http.get(app.url(&path))).await;
        assert_eq!(
            (status, location(&headers)),
            (302, "https://portal.example/bye?state=again")
        );
        let (status, _, body) = send_text(app.http.get(app.url("/oauth/end_session"))).await;
        assert_eq!(status, 200);
        assert!(body.contains("You are signed out"), "{body}");
        app.stop().await;
    })
    .await;
}

#[tokio::test]
async fn discovery_names_the_end_session_endpoint() {
    each_backend(|backend| async move {
        let (app, _seeded) = start(backend).await;
        let (status, _, document) =
            send(app.http.get(app.url("/.well-known/openid-configuration"))).await;
        assert_eq!(status, 200);
        assert_eq!(
            document["end_session_endpoint"],
            app.url("/oauth/end_session")
        );
        app.stop().await;
    })
    .await;
}
