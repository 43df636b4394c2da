//! The authorization endpoint as a browser drives it: sign-in, account choice, consent, and
//! the answer at the redirect URI; then the user's list of authorized applications.

use gatekey_core::oauth::application::{Application, ApplicationSettings, ClientType, GrantType};
use gatekey_core::oauth::store::TokenStore;
use gatekey_core::oauth::token::CodeRedemption;
use gatekey_core::role::Role;
use gatekey_core::scope::ScopeSet;
use gatekey_core::secret::{Secret, SecretKind};
use gatekey_store::testing::application_settings;
use reqwest::header::LOCATION;
use reqwest::Method;
use time::OffsetDateTime;

use crate::harness::{
    assert_error, consent_form, csrf_token_in, each_backend, send, send_text, sign_in, Browser,
    TestApp, PASSWORD,
};

const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";
const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
const REDIRECT: &str = "https://client.example.com/cb";

async fn register(
    app: &TestApp,
    account_id: i64,
    client_id: &str,
    client_type: ClientType,
    implicit: bool,
) -> Application {
    let settings = ApplicationSettings {
        redirect_uris: vec![REDIRECT.into(), "http://127.0.0.1/cb".into()],
        scopes: ScopeSet::parse("read write").unwrap(),
        implicit_allowed: implicit,
        name: format!("App {client_id}"),
        ..application_settings("", &[GrantType::AuthorizationCode, GrantType::RefreshToken])
    };
    app.store_application(account_id, client_id, client_type, settings)
        .await
}

fn authorize_path(client_id: &str, extra: &str) -> String {
    format!(
        "/oauth/authorize?client_id={client_id}&redirect_uri=https%3A%2F%2Fclient.example.com%2Fcb&response_type=code&state=xyz%20%26%201&code_challenge={CHALLENGE}&code_challenge_method=S256{extra}"
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

async fn consent(app: &TestApp, browser: &Browser, path: &str, decision: &str) -> String {
    let page = send_text(browser.request(app, Method::GET, path)).await;
    assert_eq!(page.0, 200, "{}", page.2);
    assert!(
        page.2.contains("Allow") && page.2.contains("read"),
        "{}",
        page.2
    );
    browser.decide_consent(app, &page.2, decision).await
}

#[tokio::test]
async fn sign_in_consent_and_a_code_bound_to_the_request() {
    each_backend(|backend| async move {
        let (app, seeded) = TestApp::start_seeded(backend).await;
        register(
            &app,
            seeded.acme.id,
            "app_public",
            ClientType::Public,
            false,
        )
        .await;

        // No session: sign in first, then come back.
        let path = authorize_path("app_public", "&scope=read");
        let to_login = send_text(app.http.get(app.url(&path))).await;
        assert_eq!(to_login.0, 303);
        let login_location = to_login.1[LOCATION].to_str().unwrap().to_owned();
        assert!(
            login_location.starts_with("/login?next=%2Foauth%2Fauthorize"),
            "{login_location}"
        );
        let login_page = send_text(app.http.get(app.url(&login_location))).await;
        assert!(
            login_page.2.contains("name=\"next\""),
            "the login form carries where to go next"
        );

        let browser = sign_in(&app, "owner@acme.test", PASSWORD).await;
        let page = send_text(browser.request(&app, Method::GET, &path)).await;
        assert_eq!(page.1["x-frame-options"], "DENY");
        let csp = page.1["content-security-policy"].to_str().unwrap();
        assert!(csp.contains("frame-ancestors 'none'"), "{csp}");
        // Browsers apply form-action to the redirect that answers the consent form.
        assert!(
            csp.contains("form-action 'self' https://client.example.com;"),
            "{csp}"
        );
        assert!(
            page.1.get("access-control-allow-origin").is_none(),
            "no CORS on the authorization endpoint"
        );
        assert!(
            page.2.contains("App app_public") && page.2.contains("acme"),
            "names the application and the account"
        );

        let location = consent(&app, &browser, &path, "allow").await;
        assert!(location.starts_with(REDIRECT), "{location}");
        let answer = query_of(&location);
        assert_eq!(
            param(&answer, "state"),
            Some("xyz & 1"),
            "state comes back byte for byte"
        );
        assert_eq!(
            param(&answer, "iss"),
            Some(app.server.url().as_str()),
            "RFC 9207 iss"
        );
        let code = param(&answer, "code").expect("a code").to_owned();
        assert!(code.starts_with("gk_ac_"));

        let hash = Secret::parse(SecretKind::AuthorizationCode, &code)
            .unwrap()
            .hash();
        match app
            .store()
            .redeem_code(&hash, OffsetDateTime::now_utc())
            .await
            .unwrap()
        {
            CodeRedemption::Redeemed(record) => {
                assert_eq!(record.redirect_uri, REDIRECT);
                assert_eq!(record.code_challenge.as_deref(), Some(CHALLENGE));
                assert_eq!(record.scopes.to_string(), "read");
                assert_eq!(
                    (record.grant.user_id, record.grant.account_id),
                    (seeded.owner.user.id, seeded.acme.id)
                );
                assert!(gatekey_core::oauth::pkce::verifier_matches(
                    VERIFIER,
                    record.code_challenge.as_deref().unwrap()
                ));
            }
            other => panic!("expected a fresh code, got {other:?}"),
        }

        // A public client is asked again every time.
        let again = send_text(browser.request(&app, Method::GET, &path)).await;
        assert_eq!(again.0, 200, "a public client always asks");
        app.stop().await;
    })
    .await;
}

#[tokio::test]
async fn untrusted_requests_are_shown_and_never_redirected() {
    each_backend(|backend| async move {
        let (app, seeded) = TestApp::start_seeded(backend).await;
        register(&app, seeded.acme.id, "app_c", ClientType::Confidential, false).await;
        let browser = sign_in(&app, "owner@acme.test", PASSWORD).await;
        for path in [
            authorize_path("app_nope", ""),
            "/oauth/authorize?client_id=app_c&redirect_uri=https%3A%2F%2Fevil.example%2Fcb&response_type=code".to_owned(),
            "/oauth/authorize?client_id=app_c&response_type=code".to_owned(),
            "/oauth/authorize?client_id=app_c&client_id=app_c&redirect_uri=https%3A%2F%2Fclient.example.com%2Fcb&response_type=code".to_owned(),
        ] {
            let answer = send_text(browser.request(&app, Method::GET, &path)).await;
            assert_eq!(answer.0, 400, "{path}: {}", answer.2);
            assert!(answer.1.get(LOCATION).is_none(), "{path} must not redirect");
        }
        app.stop().await;
    })
    .await;
}

#[tokio::test]
async fn other_errors_go_back_to_the_client() {
    each_backend(|backend| async move {
        let (app, seeded) = TestApp::start_seeded(backend).await;
        register(&app, seeded.acme.id, "app_public", ClientType::Public, false).await;
        let base = "/oauth/authorize?client_id=app_public&redirect_uri=https%3A%2F%2Fclient.example.com%2Fcb&state=s1";
        for (extra, error) in [
            ("&response_type=code", "invalid_request"),
            (&*format!("&response_type=code&code_challenge={CHALLENGE}&code_challenge_method=plain"), "invalid_request"),
            (&*format!("&response_type=code&code_challenge={CHALLENGE}&code_challenge_method=S256&scope=admin"), "invalid_scope"),
            ("&response_type=token", "unsupported_response_type"),
            ("&response_type=id_token", "unsupported_response_type"),
            (&*format!("&response_type=code&code_challenge={CHALLENGE}&code_challenge_method=S256&state=twice"), "invalid_request"),
        ] {
            let answer = send_text(app.http.get(app.url(&format!("{base}{extra}")))).await;
            assert_eq!(answer.0, 302, "{extra}: {}", answer.2);
            let location = answer.1[LOCATION].to_str().unwrap();
            let pairs = query_of(location);
            assert_eq!(param(&pairs, "error"), Some(error), "{extra}: {location}");
            assert_eq!(param(&pairs, "state"), Some("s1"));
            assert_eq!(param(&pairs, "iss"), Some(app.server.url().as_str()));
        }
        app.stop().await;
    })
    .await;
}

#[tokio::test]
async fn deny_choice_of_account_remembered_consent_and_csrf() {
    each_backend(|backend| async move {
        let (app, seeded) = TestApp::start_seeded(backend).await;
        register(
            &app,
            seeded.acme.id,
            "app_conf",
            ClientType::Confidential,
            false,
        )
        .await;
        app.join(seeded.owner.user.id, seeded.other.id, Role::Member)
            .await;
        let browser = sign_in(&app, "owner@acme.test", PASSWORD).await;

        // Two accounts: the user chooses.
        let path = authorize_path("app_conf", "");
        let choice = send_text(browser.request(&app, Method::GET, &path)).await;
        assert_eq!(choice.0, 200);
        assert!(
            choice.2.contains("Choose an account") && choice.2.contains("value=\"other\""),
            "{}",
            choice.2
        );

        let denied = consent(&app, &browser, &format!("{path}&account=other"), "deny").await;
        assert_eq!(param(&query_of(&denied), "error"), Some("access_denied"));

        let allowed = consent(&app, &browser, &format!("{path}&account=other"), "allow").await;
        assert!(param(&query_of(&allowed), "code").is_some());
        // A confidential client the user already allowed is answered at once.
        let remembered =
            send_text(browser.request(&app, Method::GET, &format!("{path}&account=other"))).await;
        assert_eq!(remembered.0, 302, "{}", remembered.2);
        assert!(param(&query_of(remembered.1[LOCATION].to_str().unwrap()), "code").is_some());

        // The consent form needs the session's CSRF token.
        let page =
            send_text(browser.request(&app, Method::GET, &format!("{path}&account=acme"))).await;
        let mut forged = consent_form(&page.2, "allow");
        for (name, value) in forged.iter_mut() {
            if name == "csrf_token" {
                *value = "forged".into();
            }
        }
        let refused = send_text(
            browser
                .request(&app, Method::POST, "/oauth/authorize")
                .form(&forged),
        )
        .await;
        assert_eq!(refused.0, 403);
        assert!(refused.1.get(LOCATION).is_none());
        assert!(csrf_token_in(&page.2).len() > 20);
        app.stop().await;
    })
    .await;
}

#[tokio::test]
async fn implicit_only_when_allowed_and_in_the_fragment() {
    each_backend(|backend| async move {
        let (app, seeded) = TestApp::start_seeded(backend).await;
        register(&app, seeded.acme.id, "app_implicit", ClientType::Public, true).await;
        let browser = sign_in(&app, "owner@acme.test", PASSWORD).await;
        let path = "/oauth/authorize?client_id=app_implicit&redirect_uri=https%3A%2F%2Fclient.example.com%2Fcb&response_type=token&state=st";
        let location = consent(&app, &browser, path, "allow").await;
        let fragment = location.split_once('#').expect("answer in the fragment").1.to_owned();
        let pairs: Vec<(String, String)> = url::form_urlencoded::parse(fragment.as_bytes()).into_owned().collect();
        let token = param(&pairs, "access_token").expect("token").to_owned();
        assert_eq!(param(&pairs, "token_type"), Some("Bearer"));
        assert_eq!(param(&pairs, "state"), Some("st"));
        assert!(param(&pairs, "refresh_token").is_none(), "never a refresh token in the implicit flow");
        assert!(!location.split('#').next().unwrap().contains("access_token"), "never in the query");
        let hash = Secret::parse(SecretKind::AccessToken, &token).unwrap().hash();
        assert!(app.store().access_token(&hash).await.unwrap().is_some());
        app.stop().await;
    })
    .await;
}

#[tokio::test]
async fn users_list_and_revoke_their_authorized_applications() {
    each_backend(|backend| async move {
        let (app, seeded) = TestApp::start_seeded(backend).await;
        register(
            &app,
            seeded.acme.id,
            "app_one",
            ClientType::Confidential,
            false,
        )
        .await;
        register(
            &app,
            seeded.acme.id,
            "app_two",
            ClientType::Confidential,
            false,
        )
        .await;
        let browser = sign_in(&app, "owner@acme.test", PASSWORD).await;
        for client in ["app_one", "app_two"] {
            consent(&app, &browser, &authorize_path(client, ""), "allow").await;
        }
        let key = app.key(&seeded.owner, None).await;
        let listed = send(app.request(Method::GET, "/api/v1/authorizations", &key)).await;
        assert_eq!(listed.0, 200, "{}", listed.2);
        let ids: Vec<&str> = listed.2["authorizations"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a["client_id"].as_str().unwrap())
            .collect();
        assert_eq!(ids, ["app_two", "app_one"]);
        assert_eq!(listed.2["pagination"]["total_records"], 2);

        let page =
            send_text(browser.request(&app, Method::GET, "/oauth/authorized_applications")).await;
        assert!(page.2.contains("app_one") && page.2.contains("app_two"));
        let revoke = browser
            .request(
                &app,
                Method::POST,
                "/oauth/authorized_applications/app_one/revoke",
            )
            .form(&[("csrf_token", browser.csrf.as_str())]);
        assert_eq!(send_text(revoke).await.0, 303);
        let after = send(app.request(Method::GET, "/api/v1/authorizations", &key)).await;
        assert_eq!(
            after.2["authorizations"].as_array().unwrap().len(),
            1,
            "only that application is revoked"
        );

        assert_eq!(
            send(app.request(Method::DELETE, "/api/v1/authorizations/app_two", &key))
                .await
                .0,
            204
        );
        assert_error(
            &send(app.request(Method::DELETE, "/api/v1/authorizations/app_two", &key)).await,
            404,
            "not_found",
        );
        let read_only = app.key(&seeded.owner, Some("read")).await;
        assert_error(
            &send(app.request(Method::DELETE, "/api/v1/authorizations/app_one", &read_only)).await,
            403,
            "insufficient_scope",
        );
        let actions = app.audit_actions(&key).await;
        assert!(
            actions.iter().any(|a| a == "grant.revoked")
                && actions.iter().any(|a| a == "consent.granted"),
            "{actions:?}"
        );
        app.stop().await;
    })
    .await;
}
