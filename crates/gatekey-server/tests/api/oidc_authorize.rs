//! OpenID Connect's parameters on the authorization endpoint (Core 1.0 §3.1.2.1, §3.1.2.6):
//! `prompt`, `max_age`, `login_hint`, `id_token_hint` and `nonce`, as a browser meets them;
//! and the sign-in (`auth_time`, `sid`) and `nonce` the code and tokens keep for ID tokens.

use std::sync::Arc;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use gatekey_core::clock::ManualClock;
use gatekey_core::oauth::sign_in::session_sid;
use gatekey_core::oauth::signing_key_schedule::SigningAlgorithm;
use gatekey_core::oauth::store::TokenStore;
use gatekey_core::oauth::token::{CodeRecord, CodeRedemption};
use gatekey_core::secret::{Secret, SecretKind};
use gatekey_core::store::SessionStore;
use gatekey_server::testing::{ClientSpec, REDIRECT};
use reqwest::header::LOCATION;
use reqwest::Method;
use time::{Duration, OffsetDateTime};

use crate::harness::{
    each_backend, hidden_inputs, seed, send_text, sign_in, Browser, Client, Seeded, TestApp,
    TextAnswer, PASSWORD,
};

fn authorize_path(client_id: &str, extra: &str) -> String {
    format!(
        "/oauth/authorize?client_id={client_id}&redirect_uri=https%3A%2F%2Fclient.example.com%2Fcb&response_type=code&scope=read&state=s%201{extra}"
    )
}

fn query_of(location: &str) -> Vec<(String, String)> {
    let url = url::Url::parse(location).expect("absolute redirect");
    url.query_pairs().into_owned().collect()
}

fn param<'a>(pairs: &'a [(String, String)], name: &str) -> Option<&'a str> {
    pairs
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

/// The redirect to the client a GET of `path` answers: its query, after checking that it goes
/// to the client with `state` and `iss`.
async fn client_answer(
    app: &TestApp,
    browser: Option<&Browser>,
    path: &str,
) -> Vec<(String, String)> {
    let request = match browser {
        Some(browser) => browser.request(app, Method::GET, path),
        None => app.http.get(app.url(path)),
    };
    let (status, headers, body) = send_text(request).await;
    assert_eq!(status, 302, "{path}: {body}");
    let location = headers[LOCATION].to_str().unwrap().to_owned();
    assert!(location.starts_with(REDIRECT), "{location}");
    let pairs = query_of(&location);
    assert_eq!(param(&pairs, "state"), Some("s 1"), "{location}");
    assert_eq!(param(&pairs, "iss"), Some(app.server.url().as_str()));
    pairs
}

/// The stored code the client was sent.
async fn redeemed(app: &TestApp, code: &str) -> CodeRecord {
    let hash = Secret::parse(SecretKind::AuthorizationCode, code)
        .unwrap()
        .hash();
    match app.store().redeem_code(&hash, app.now()).await.unwrap() {
        CodeRedemption::Redeemed(record) => *record,
        other => panic!("expected a fresh code, got {other:?}"),
    }
}

/// The stored session of `browser`.
async fn session_of(app: &TestApp, browser: &Browser) -> gatekey_core::session::Session {
    let hash = Secret::parse(SecretKind::Session, &browser.session)
        .unwrap()
        .hash();
    app.store()
        .session_by_hash(&hash)
        .await
        .unwrap()
        .expect("stored session")
}

/// An ID token for `sub` signed with the server's current RS256 key, expired long ago (a
/// hint may be).
fn hint_for(app: &TestApp, sub: &str) -> String {
    let signer = app
        .server
        .state
        .signing_keys
        .loaded()
        .signer(SigningAlgorithm::Rs256, app.now())
        .expect("the server has an RS256 key");
    let claims = serde_json::json!({
        "iss": app.server.state.issuer,
        "sub": sub,
        "aud": "app",
        "iat": 1,
        "exp": 2,
    });
    signer.sign("JWT", &claims).expect("signs")
}

/// A token of the form of an ID token for `sub`, signed by no key of the server.
fn forged_hint_for(sub: &str) -> String {
    format!(
        "{}.{}.c2lnbmF0dXJl",
        URL_SAFE_NO_PAD.encode(br#"{"alg":"RS256","typ":"JWT","kid":"x"}"#),
        URL_SAFE_NO_PAD.encode(format!(r#"{{"sub":"{sub}","exp":1}}"#))
    )
}

async fn start(backend: gatekey_store::Backend) -> (TestApp, Arc<ManualClock>) {
    let clock = Arc::new(ManualClock::new(OffsetDateTime::now_utc()));
    let app = TestApp::start_with_clock(backend, clock.clone(), |_| {}).await;
    (app, clock)
}

/// [`start`], seeded, with a confidential client of `acme`: where most of these tests begin.
async fn start_with_client(
    backend: gatekey_store::Backend,
) -> (TestApp, Arc<ManualClock>, Seeded, Client) {
    let (app, clock) = start(backend).await;
    let seeded = seed(&app).await;
    let client = app
        .register_client(seeded.acme.id, ClientSpec::confidential())
        .await;
    (app, clock, seeded, client)
}

/// The page `browser` is shown for `client`'s authorization request with `extra` parameters.
async fn authorize_page(
    app: &TestApp,
    browser: &Browser,
    client: &Client,
    extra: &str,
) -> TextAnswer {
    send_text(browser.request(app, Method::GET, &authorize_path(&client.id, extra))).await
}

#[tokio::test]
async fn prompt_none_answers_without_a_page_or_with_the_error() {
    each_backend(|backend| async move {
        let (app, _clock) = start(backend).await;
        let seeded = seed(&app).await;
        let client = app.register_client(seeded.acme.id, ClientSpec::confidential()).await;
        let none = authorize_path(&client.id, "&prompt=none&nonce=n-1");

        let anonymous = client_answer(&app, None, &none).await;
        assert_eq!(param(&anonymous, "error"), Some("login_required"));

        let browser = sign_in(&app, "owner@acme.test", PASSWORD).await;
        let unconsented = client_answer(&app, Some(&browser), &none).await;
        assert_eq!(param(&unconsented, "error"), Some("consent_required"));

        // Consent once; then prompt=none answers with a code at once.
        let page = send_text(browser.request(&app, Method::GET, &authorize_path(&client.id, ""))).await;
        assert_eq!(page.0, 200, "{}", page.2);
        browser.decide_consent(&app, &page.2, "allow").await;
        let answered = client_answer(&app, Some(&browser), &none).await;
        assert_eq!(param(&answered, "error"), None, "{answered:?}");
        let code = param(&answered, "code").expect("a code");

        let record = redeemed(&app, code).await;
        let session = session_of(&app, &browser).await;
        assert_eq!(record.nonce.as_deref(), Some("n-1"));
        assert_eq!(
            record.auth_time.map(gatekey_core::clock::to_millis),
            Some(gatekey_core::clock::to_millis(session.created_at)),
            "auth_time is the sign-in's"
        );
        assert_eq!(record.sid, Some(session_sid(&session.hash)));
        assert_ne!(record.sid.as_deref(), Some(browser.session.as_str()));

        // A public client is always asked, so prompt=none always needs consent.
        let public = app.register_client(seeded.acme.id, ClientSpec::public()).await;
        let public_none = format!(
            "{}&code_challenge=E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM&code_challenge_method=S256",
            authorize_path(&public.id, "&prompt=none")
        );
        let asked = client_answer(&app, Some(&browser), &public_none).await;
        assert_eq!(param(&asked, "error"), Some("consent_required"));
        app.stop().await;
    })
    .await;
}

#[tokio::test]
async fn bad_openid_parameters_are_invalid_request_at_the_client() {
    each_backend(|backend| async move {
        let (app, _clock, _seeded, client) = start_with_client(backend).await;
        let browser = sign_in(&app, "owner@acme.test", PASSWORD).await;
        for extra in [
            "&prompt=sometimes",
            "&prompt=none%20login",
            "&max_age=-1",
            "&max_age=soon",
            "&nonce=%01",
            "&id_token_hint=not-a-token",
        ] {
            let pairs =
                client_answer(&app, Some(&browser), &authorize_path(&client.id, extra)).await;
            assert_eq!(param(&pairs, "error"), Some("invalid_request"), "{extra}");
        }
        let long_nonce = format!("&nonce={}", "n".repeat(513));
        let pairs = client_answer(&app, None, &authorize_path(&client.id, &long_nonce)).await;
        assert_eq!(param(&pairs, "error"), Some("invalid_request"));
        // Accepted and ignored.
        let ignored = "&ui_locales=de&claims_locales=fr&acr_values=x&display=popup";
        let page =
            send_text(browser.request(&app, Method::GET, &authorize_path(&client.id, ignored)))
                .await;
        assert_eq!(page.0, 200, "{}", page.2);
        app.stop().await;
    })
    .await;
}

#[tokio::test]
async fn prompt_login_shows_the_sign_in_form_and_continues_with_the_new_session() {
    each_backend(|backend| async move {
        let (app, clock, _seeded, client) = start_with_client(backend).await;
        let browser = sign_in(&app, "owner@acme.test", PASSWORD).await;
        let page = authorize_page(&app, &browser, &client, "&prompt=login&nonce=abc").await;
        assert_eq!(page.0, 200, "{}", page.2);
        assert!(
            page.2.contains("action=\"/login\""),
            "the sign-in form: {}",
            page.2
        );
        assert!(page.2.contains("value=\"owner@acme.test\""), "pre-filled");
        let next = hidden_inputs(&page.2)
            .into_iter()
            .find(|(name, _)| name == "next")
            .map(|(_, value)| value)
            .expect("the form returns to the request");
        assert!(next.starts_with("/oauth/authorize?"), "{next}");
        assert!(!next.contains("prompt=login"), "no endless sign-in: {next}");
        assert!(next.contains("nonce=abc"), "{next}");

        // Signed in again (later), the request goes on to consent with the new session.
        clock.advance(Duration::minutes(5));
        let again = sign_in(&app, "owner@acme.test", PASSWORD).await;
        let consent = send_text(again.request(&app, Method::GET, &next)).await;
        assert_eq!(consent.0, 200, "{}", consent.2);
        let location = again.decide_consent(&app, &consent.2, "allow").await;
        let record = redeemed(&app, param(&query_of(&location), "code").unwrap()).await;
        let fresh = session_of(&app, &again).await;
        assert_eq!(
            record.auth_time.map(gatekey_core::clock::to_millis),
            Some(gatekey_core::clock::to_millis(fresh.created_at))
        );
        assert_eq!(record.nonce.as_deref(), Some("abc"));
        app.stop().await;
    })
    .await;
}

#[tokio::test]
async fn max_age_asks_for_a_sign_in_once_the_session_is_older() {
    each_backend(|backend| async move {
        let (app, clock, _seeded, client) = start_with_client(backend).await;
        let browser = sign_in(&app, "owner@acme.test", PASSWORD).await;
        let path = authorize_path(&client.id, "&max_age=300");
        let fresh = send_text(browser.request(&app, Method::GET, &path)).await;
        assert!(fresh.2.contains("Allow"), "young enough: {}", fresh.2);

        clock.advance(Duration::seconds(301));
        let stale = send_text(browser.request(&app, Method::GET, &path)).await;
        assert_eq!(stale.0, 200);
        assert!(
            stale.2.contains("action=\"/login\"") && !stale.2.contains("Allow"),
            "{}",
            stale.2
        );
        let none = client_answer(
            &app,
            Some(&browser),
            &authorize_path(&client.id, "&max_age=300&prompt=none"),
        )
        .await;
        assert_eq!(param(&none, "error"), Some("login_required"));
        let zero = authorize_page(&app, &browser, &client, "&max_age=0").await;
        assert!(
            zero.2.contains("action=\"/login\""),
            "max_age=0 is prompt=login"
        );
        app.stop().await;
    })
    .await;
}

#[tokio::test]
async fn select_account_shows_the_choice_even_with_one_account() {
    each_backend(|backend| async move {
        let (app, _clock, _seeded, client) = start_with_client(backend).await;
        let browser = sign_in(&app, "owner@acme.test", PASSWORD).await;
        let page = authorize_page(&app, &browser, &client, "&prompt=select_account").await;
        assert_eq!(page.0, 200);
        assert!(
            page.2.contains("Choose an account") && page.2.contains("value=\"acme\""),
            "{}",
            page.2
        );
        let carried = hidden_inputs(&page.2);
        assert!(
            !carried.iter().any(|(name, _)| name == "prompt"),
            "choosing does not ask again: {carried:?}"
        );
        app.stop().await;
    })
    .await;
}

#[tokio::test]
async fn login_hint_prefills_the_email_escaped() {
    each_backend(|backend| async move {
        let (app, _clock, _seeded, client) = start_with_client(backend).await;
        let hint = "&login_hint=%22%3E%3Cscript%3Ealert(1)%3C%2Fscript%3E";
        let to_login = send_text(app.http.get(app.url(&authorize_path(&client.id, hint)))).await;
        assert_eq!(to_login.0, 303);
        let login = to_login.1[LOCATION].to_str().unwrap().to_owned();
        assert!(login.starts_with("/login?next="), "{login}");
        let page = send_text(app.http.get(app.url(&login))).await;
        assert_eq!(page.0, 200);
        assert!(!page.2.contains("<script>alert"), "escaped: {}", page.2);
        assert!(
            page.2.contains("&quot;&gt;&lt;script&gt;alert(1)"),
            "{}",
            page.2
        );

        let plain = send_text(
            app.http
                .get(app.url(&authorize_path(&client.id, "&login_hint=ann%40example.com"))),
        )
        .await;
        let page = send_text(app.http.get(app.url(plain.1[LOCATION].to_str().unwrap()))).await;
        assert!(page.2.contains("value=\"ann@example.com\""), "{}", page.2);
        app.stop().await;
    })
    .await;
}

#[tokio::test]
async fn an_id_token_hint_for_another_user_is_login_required_with_prompt_none() {
    each_backend(|backend| async move {
        let (app, _clock, seeded, client) = start_with_client(backend).await;
        app.consent(&seeded.owner, &client, "read").await;
        let browser = sign_in(&app, "owner@acme.test", PASSWORD).await;
        let other = format!("&prompt=none&id_token_hint={}", hint_for(&app, "999999"));
        let pairs = client_answer(&app, Some(&browser), &authorize_path(&client.id, &other)).await;
        assert_eq!(param(&pairs, "error"), Some("login_required"));
        let owner = seeded.owner.user.id.to_string();
        let forged = format!("&prompt=none&id_token_hint={}", forged_hint_for(&owner));
        let pairs = client_answer(&app, Some(&browser), &authorize_path(&client.id, &forged)).await;
        assert_eq!(
            param(&pairs, "error"),
            Some("invalid_request"),
            "a hint the server did not sign"
        );
        let pairs = client_answer(&app, None, &authorize_path(&client.id, &forged)).await;
        assert_eq!(
            param(&pairs, "error"),
            Some("invalid_request"),
            "even without a session"
        );
        let mine = format!("&prompt=none&id_token_hint={}", hint_for(&app, &owner));
        let pairs = client_answer(&app, Some(&browser), &authorize_path(&client.id, &mine)).await;
        assert!(param(&pairs, "code").is_some(), "{pairs:?}");
        app.stop().await;
    })
    .await;
}

#[tokio::test]
async fn refresh_tokens_and_device_codes_keep_the_sign_in() {
    each_backend(|backend| async move {
        let (app, clock, seeded, client) = start_with_client(backend).await;
        let browser = sign_in(&app, "owner@acme.test", PASSWORD).await;
        let signed_in_at = session_of(&app, &browser).await.created_at;
        let page =
            send_text(browser.request(&app, Method::GET, &authorize_path(&client.id, ""))).await;
        let location = browser.decide_consent(&app, &page.2, "allow").await;
        let code = param(&query_of(&location), "code").unwrap().to_owned();
        let tokens = app
            .token(
                &client,
                &[
                    ("grant_type", "authorization_code"),
                    ("code", &code),
                    ("redirect_uri", REDIRECT),
                ],
            )
            .await;
        assert_eq!(tokens.0, 200, "{}", tokens.2);
        let mut refresh = tokens.2["refresh_token"].as_str().unwrap().to_owned();
        for _ in 0..2 {
            clock.advance(Duration::hours(1));
            let hash = Secret::parse(SecretKind::RefreshToken, &refresh)
                .unwrap()
                .hash();
            let stored = app.store().refresh_token(&hash).await.unwrap().unwrap();
            assert_eq!(
                stored.auth_time.map(gatekey_core::clock::to_millis),
                Some(gatekey_core::clock::to_millis(signed_in_at))
            );
            assert!(stored.sid.is_some());
            let rotated = app
                .token(
                    &client,
                    &[("grant_type", "refresh_token"), ("refresh_token", &refresh)],
                )
                .await;
            assert_eq!(rotated.0, 200, "{}", rotated.2);
            refresh = rotated.2["refresh_token"].as_str().unwrap().to_owned();
        }
        let hash = Secret::parse(SecretKind::RefreshToken, &refresh)
            .unwrap()
            .hash();
        let last = app.store().refresh_token(&hash).await.unwrap().unwrap();
        assert_eq!(
            last.auth_time.map(gatekey_core::clock::to_millis),
            Some(gatekey_core::clock::to_millis(signed_in_at)),
            "a rotated token keeps the sign-in's time, not the refresh's"
        );

        let device_client = app
            .register_client(
                seeded.acme.id,
                ClientSpec {
                    grant_types: vec![gatekey_core::oauth::application::GrantType::DeviceCode],
                    ..ClientSpec::public()
                },
            )
            .await;
        let user_code = app
            .start_device_authorization(&device_client.application)
            .await;
        app.approve_device("owner@acme.test", &user_code, "acme")
            .await;
        let device = app.device_code(&user_code).await;
        assert!(
            device.auth_time.is_some() && device.sid.is_some(),
            "{device:?}"
        );
        app.stop().await;
    })
    .await;
}
