//! What the consent pages offer and the token responses say: only the scopes the user's role
//! holds in the account, never more. A member asked for `admin` is not shown `admin`, the
//! grant does not record it, and every token response, `/me` and the CLI agree on what the
//! token may do (RFC 6749 §5.1: `scope` is required when it differs from the request).

use gatekey_core::oauth::application::GrantType;
use gatekey_core::role::Role;
use reqwest::header::LOCATION;
use reqwest::Method;
use serde_json::json;

use crate::harness::{
    csrf_token_in, each_backend, send, send_text, sign_in, Answer, Browser, Client, ClientSpec,
    TestApp, PASSWORD, REDIRECT,
};

const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";
const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";

/// An application of `acme` that may ask for every built-in scope, `admin` included.
fn asking_for_admin(grant_types: Vec<GrantType>) -> ClientSpec {
    ClientSpec {
        scopes: "read write admin",
        grant_types,
        ..ClientSpec::public()
    }
}

/// The authorization request of `client` for `scope` (URL-encoded), with PKCE.
pub(crate) fn authorize_path(client: &Client, scope: &str) -> String {
    format!(
        "/oauth/authorize?client_id={}&redirect_uri=https%3A%2F%2Fclient.example.com%2Fcb&response_type=code&scope={scope}&state=s&code_challenge={CHALLENGE}&code_challenge_method=S256",
        client.id
    )
}

/// The scope names a consent page lists.
fn listed_scopes(page: &str) -> Vec<&str> {
    page.split("<li><code>")
        .skip(1)
        .filter_map(|item| item.split_once("</code>").map(|(name, _)| name))
        .collect()
}

fn query_param(location: &str, name: &str) -> Option<String> {
    url::Url::parse(location)
        .expect("absolute redirect")
        .query_pairs()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

/// Exchanges `code` (of a request with [`CHALLENGE`] for [`REDIRECT`]) as `client`.
pub(crate) async fn exchange(app: &TestApp, client: &Client, code: &str) -> Answer {
    let form = [
        ("grant_type", "authorization_code"),
        ("code", code),
        ("redirect_uri", REDIRECT),
        ("code_verifier", VERIFIER),
    ];
    app.token(client, &form).await
}

/// Opens the consent page as `browser`, allows, and returns the code sent back.
pub(crate) async fn allow(app: &TestApp, browser: &Browser, path: &str) -> String {
    let page = send_text(browser.request(app, Method::GET, path)).await;
    let location = browser.decide_consent(app, &page.2, "allow").await;
    query_param(&location, "code").expect("a code")
}

#[tokio::test]
async fn a_member_is_never_offered_admin_and_the_token_says_what_it_may_do() {
    each_backend(|backend| async move {
        let (app, seeded, _admin, _member) = TestApp::start_with_team(backend).await;
        let grants = vec![GrantType::AuthorizationCode, GrantType::RefreshToken];
        let client = app
            .register_client(seeded.acme.id, asking_for_admin(grants))
            .await;
        let path = authorize_path(&client, "read%20write%20admin");

        let member = sign_in(&app, "member@acme.test", PASSWORD).await;
        let page = send_text(member.request(&app, Method::GET, &path)).await;
        assert_eq!(page.0, 200, "{}", page.2);
        assert_eq!(listed_scopes(&page.2), ["read", "write"]);
        assert!(!page.2.contains("administer"), "{}", page.2);
        let admin = sign_in(&app, "admin@acme.test", PASSWORD).await;
        let admins_page = send_text(admin.request(&app, Method::GET, &path)).await;
        assert_eq!(listed_scopes(&admins_page.2), ["read", "write", "admin"]);

        let code = allow(&app, &member, &path).await;
        let tokens = exchange(&app, &client, &code).await;
        assert_eq!(tokens.0, 200, "{}", tokens.2);
        assert_eq!(tokens.2["scope"], "read write");
        let access = tokens.2["access_token"].as_str().unwrap();
        let me = send(app.request(Method::GET, "/api/v1/me", access)).await;
        assert_eq!(me.2["scopes"], json!(["read", "write"]));
        let refreshed = app
            .refresh(&client, tokens.2["refresh_token"].as_str().unwrap())
            .await;
        assert_eq!(refreshed.2["scope"], "read write", "{}", refreshed.2);
        app.stop().await;
    })
    .await;
}

#[tokio::test]
async fn a_request_the_role_allows_nothing_of_is_refused_with_invalid_scope() {
    each_backend(|backend| async move {
        let (app, seeded) = TestApp::start_seeded(backend).await;
        app.person(&seeded.acme, "viewer@acme.test", Role::Viewer)
            .await;
        let grants = vec![GrantType::AuthorizationCode];
        let client = app
            .register_client(seeded.acme.id, asking_for_admin(grants))
            .await;
        let viewer = sign_in(&app, "viewer@acme.test", PASSWORD).await;
        let answer =
            send_text(viewer.request(&app, Method::GET, &authorize_path(&client, "write%20admin")))
                .await;
        assert_eq!(answer.0, 302, "{}", answer.2);
        let location = answer.1[LOCATION].to_str().unwrap();
        assert_eq!(
            query_param(location, "error").as_deref(),
            Some("invalid_scope")
        );
        assert!(location.starts_with(REDIRECT), "{location}");
        app.stop().await;
    })
    .await;
}

/// Starts a device authorization as `client` for `scope`: its device code and user code.
async fn device_authorization(app: &TestApp, client: &Client, scope: &str) -> (String, String) {
    let started = app
        .post_as(client, "/oauth/device_authorization", &[("scope", scope)])
        .await;
    assert_eq!(started.0, 200, "{}", started.2);
    let text = |name: &str| started.2[name].as_str().unwrap().to_owned();
    (text("device_code"), text("user_code"))
}

#[tokio::test]
async fn the_device_page_offers_each_account_what_the_role_holds_there() {
    each_backend(|backend| async move {
        let (app, seeded, _admin, member) = TestApp::start_with_team(backend).await;
        let client = app
            .register_client(
                seeded.acme.id,
                asking_for_admin(vec![GrantType::DeviceCode]),
            )
            .await;
        let (device_code, user_code) =
            device_authorization(&app, &client, "read write admin").await;

        let browser = sign_in(&app, "member@acme.test", PASSWORD).await;
        let page = send_text(browser.request(
            &app,
            Method::GET,
            &format!("/device?user_code={user_code}"),
        ))
        .await;
        let csrf = csrf_token_in(&page.2);
        let consent = send_text(
            browser
                .request(&app, Method::POST, "/device")
                .form(&[("csrf_token", csrf.as_str()), ("user_code", &user_code)]),
        )
        .await;
        assert_eq!(consent.0, 200, "{}", consent.2);
        assert_eq!(listed_scopes(&consent.2), ["read", "write"]);
        assert!(!consent.2.contains("administer"), "{}", consent.2);

        // As an admin of another account, the page says what each account would give.
        app.join(member.user.id, seeded.other.id, Role::Admin).await;
        let both = send_text(
            browser
                .request(&app, Method::POST, "/device")
                .form(&[("csrf_token", csrf.as_str()), ("user_code", &user_code)]),
        )
        .await;
        assert_eq!(
            listed_scopes(&both.2),
            ["read", "write", "read", "write", "admin"]
        );
        let acme_part = both.2.split("<strong>other</strong>").next().unwrap();
        assert!(!acme_part.contains("administer"), "{}", both.2);

        let decided = browser.allow_device(&app, &csrf, &user_code, "acme").await;
        assert_eq!(decided.0, 200, "{}", decided.2);
        let tokens = app
            .token(
                &client,
                &[
                    ("grant_type", "urn:ietf:params:oauth:grant-type:device_code"),
                    ("device_code", &device_code),
                ],
            )
            .await;
        assert_eq!(tokens.0, 200, "{}", tokens.2);
        assert_eq!(tokens.2["scope"], "read write");
        assert_eq!(tokens.2["account"], "acme");
        app.stop().await;
    })
    .await;
}
