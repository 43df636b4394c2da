//! Redirect URIs (issue 8, point 3): a URI list with a smuggled line break, whitespace,
//! control characters or a code-running scheme is refused at registration, through the API
//! and the admin page; `/oauth/authorize` redirects only to a registered URI, and lets the
//! port of a loopback URI vary only for a public (native) client.

use gatekey_core::oauth::application::{ApplicationSettings, ClientType, GrantType};
use gatekey_store::testing::application_settings;
use reqwest::header::LOCATION;
use reqwest::Method;
use serde_json::{json, Value};

use crate::harness::{assert_error, each_backend, send, send_text, sign_in, TestApp, PASSWORD};

const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

/// URI lists the attack of issue 8 and its relatives tried to register.
fn hostile_lists() -> Vec<(&'static str, Value, &'static str)> {
    vec![
        (
            "a line break joining two URIs",
            json!(["https://ok.example/cb\nhttp://evil.example/cb"]),
            "whitespace or a control character",
        ),
        (
            "CR LF",
            json!(["https://ok.example/cb\r\nhttp://evil.example/cb"]),
            "whitespace or a control character",
        ),
        (
            "a tab the URL parser would drop",
            json!(["https://ok.example/c\tb"]),
            "whitespace or a control character",
        ),
        (
            "a trailing space",
            json!(["https://ok.example/cb "]),
            "whitespace or a control character",
        ),
        (
            "a NUL",
            json!(["https://ok.example/cb\u{0}"]),
            "whitespace or a control character",
        ),
        (
            "javascript smuggled after a good URI",
            json!(["https://ok.example/cb\njavascript:alert(document.cookie)"]),
            "whitespace or a control character",
        ),
        (
            "javascript",
            json!(["JavaScript:alert(1)"]),
            "javascript: scheme is not allowed",
        ),
        (
            "data",
            json!(["data:text/html,<script>alert(1)</script>"]),
            "data: scheme is not allowed",
        ),
        (
            "file",
            json!(["file:///etc/passwd"]),
            "file: scheme is not allowed",
        ),
        (
            "vbscript",
            json!(["VBScript:msgbox(1)"]),
            "vbscript: scheme is not allowed",
        ),
    ]
}

fn signed_in_authorize(client_id: &str, redirect_uri: &str) -> String {
    let mut query = url::form_urlencoded::Serializer::new(String::new());
    query
        .append_pair("client_id", client_id)
        .append_pair("redirect_uri", redirect_uri)
        .append_pair("response_type", "code")
        .append_pair("state", "s1")
        .append_pair("code_challenge", CHALLENGE)
        .append_pair("code_challenge_method", "S256");
    format!("/oauth/authorize?{}", query.finish())
}

#[tokio::test]
async fn smuggled_redirect_uris_are_refused_at_registration() {
    each_backend(|backend| async move {
        let (app, seeded) = TestApp::start_seeded(backend).await;
        let key = app.key(&seeded.owner, None).await;

        for (case, uris, hint) in hostile_lists() {
            let body = json!({"name": "Evil", "client_type": "public", "redirect_uris": uris});
            let answer = send(
                app.request(Method::POST, "/api/v1/applications", &key)
                    .json(&body),
            )
            .await;
            assert_error(&answer, 400, "invalid_redirect_uri");
            let description = answer.2["error_description"].as_str().unwrap();
            assert!(description.contains(hint), "{case}: {description}");
        }
        let listed = send(app.request(Method::GET, "/api/v1/applications", &key)).await;
        assert_eq!(
            listed.2["pagination"]["total_records"], 0,
            "nothing was registered: {}",
            listed.2
        );

        // Changing the list of a registered application follows the same rules.
        let made = send(
            app.request(Method::POST, "/api/v1/applications", &key)
                .json(&json!({"name": "Good", "client_type": "public",
                              "redirect_uris": ["https://ok.example/cb"]})),
        )
        .await;
        assert_eq!(made.0, 201, "{}", made.2);
        let path = format!("/api/v1/applications/{}", made.2["id"]);
        for (case, uris, hint) in hostile_lists() {
            let answer = app
                .send_json(Method::PATCH, &path, &key, json!({"redirect_uris": uris}))
                .await;
            assert_error(&answer, 400, "invalid_redirect_uri");
            let description = answer.2["error_description"].as_str().unwrap();
            assert!(description.contains(hint), "{case}: {description}");
        }
        let shown = send(app.request(Method::GET, &path, &key)).await;
        assert_eq!(shown.2["redirect_uris"], json!(["https://ok.example/cb"]));

        // The application the attack aimed at sends no code to the smuggled URI.
        let browser = sign_in(&app, "owner@acme.test", PASSWORD).await;
        let client_id = made.2["client_id"].as_str().unwrap();
        for target in [
            "http://evil.example/cb",
            "https://ok.example/cb\nhttp://evil.example/cb",
            "javascript:alert(document.cookie)",
        ] {
            let answer = send_text(browser.request(
                &app,
                Method::GET,
                &signed_in_authorize(client_id, target),
            ))
            .await;
            assert_eq!(answer.0, 400, "{target:?}: {}", answer.2);
            assert!(answer.1.get(LOCATION).is_none(), "{target:?} redirected");
        }
        app.stop().await;
    })
    .await;
}

#[tokio::test]
async fn the_admin_page_refuses_smuggled_redirect_uris() {
    each_backend(|backend| async move {
        let (app, seeded) = TestApp::start_seeded(backend).await;
        let browser = sign_in(&app, "owner@acme.test", PASSWORD).await;
        for (uris, hint) in [
            (
                "https://ok.example/c\tb",
                "whitespace or a control character",
            ),
            (
                "https://ok.example/cb\u{b}http://evil.example/cb",
                "whitespace",
            ),
            ("javascript:alert(1)", "javascript: scheme is not allowed"),
            ("https://ok.example/cb\r\nDATA:text/html,x", "data: scheme"),
        ] {
            let form = [
                ("csrf_token", browser.csrf.as_str()),
                ("name", "Portal"),
                ("client_type", "public"),
                ("redirect_uris", uris),
                ("grant_authorization_code", "on"),
                ("scope_read", "on"),
                ("service_account_id", ""),
            ];
            let (status, _, page) = send_text(
                browser
                    .request(&app, Method::POST, "/applications")
                    .form(&form),
            )
            .await;
            assert_eq!(status, 400, "{uris:?}: {page}");
            assert!(page.contains(hint), "{uris:?}: {page}");
        }
        let key = app.key(&seeded.owner, None).await;
        let listed = send(app.request(Method::GET, "/api/v1/applications", &key)).await;
        assert_eq!(listed.2["pagination"]["total_records"], 0, "{}", listed.2);
        app.stop().await;
    })
    .await;
}

#[tokio::test]
async fn only_a_public_client_may_vary_a_loopback_port() {
    each_backend(|backend| async move {
        let (app, seeded) = TestApp::start_seeded(backend).await;
        let key = app.key(&seeded.owner, None).await;
        let browser = sign_in(&app, "owner@acme.test", PASSWORD).await;
        let mut client_ids = Vec::new();
        for client_type in ["public", "confidential"] {
            let made = send(
                app.request(Method::POST, "/api/v1/applications", &key)
                    .json(&json!({"name": format!("Loopback {client_type}"),
                                  "client_type": client_type,
                                  "redirect_uris": ["http://127.0.0.1:8000/cb"]})),
            )
            .await;
            assert_eq!(made.0, 201, "{}", made.2);
            client_ids.push(made.2["client_id"].as_str().unwrap().to_owned());
        }
        let (public, confidential) = (&client_ids[0], &client_ids[1]);

        // A native app's port changes from run to run (RFC 8252 §7.3).
        let native = send_text(browser.request(
            &app,
            Method::GET,
            &signed_in_authorize(public, "http://127.0.0.1:51234/cb"),
        ))
        .await;
        assert_eq!(native.0, 200, "the consent page: {}", native.2);

        // A server-side client's URI matches exactly (RFC 9700 §2.1).
        let moved = send_text(browser.request(
            &app,
            Method::GET,
            &signed_in_authorize(confidential, "http://127.0.0.1:51234/cb"),
        ))
        .await;
        assert_eq!(moved.0, 400, "{}", moved.2);
        assert!(moved.1.get(LOCATION).is_none(), "never redirected");
        let exact = send_text(browser.request(
            &app,
            Method::GET,
            &signed_in_authorize(confidential, "http://127.0.0.1:8000/cb"),
        ))
        .await;
        assert_eq!(exact.0, 200, "the registered URI itself: {}", exact.2);

        for (client_id, near) in [
            (public, "http://127.0.0.1:51234/cb/"),
            (public, "http://127.0.0.1:51234/cb?x=1"),
            (public, "http://[::1]:51234/cb"),
            (public, "http://127.0.0.1:51234@evil.example/cb"),
            (public, "http://127.0.0.1:51234/c\tb"),
            (confidential, "http://127.0.0.1/cb"),
        ] {
            let answer = send_text(browser.request(
                &app,
                Method::GET,
                &signed_in_authorize(client_id, near),
            ))
            .await;
            assert_eq!(answer.0, 400, "{near:?}: {}", answer.2);
            assert!(answer.1.get(LOCATION).is_none(), "{near:?} redirected");
        }
        app.stop().await;
    })
    .await;
}

#[tokio::test]
async fn a_stored_uri_that_breaks_the_rules_is_never_redirected_to() {
    each_backend(|backend| async move {
        let (app, seeded) = TestApp::start_seeded(backend).await;
        // As a database written before these rules could hold it.
        let settings = ApplicationSettings {
            redirect_uris: vec![ "javascript:alert(document.cookie)".into(), "https://evil.example/cb\r".into(), ],
            ..application_settings("Legacy", &[GrantType::AuthorizationCode])
        };
        app.store_application(seeded.acme.id, "app_legacy", ClientType::Public, settings).await;
        let browser = sign_in(&app, "owner@acme.test", PASSWORD).await;
        for presented in [
            "javascript:alert(document.cookie)",
            "https://evil.example/cb\r",
        ] {
            let answer = send_text(browser.request(
                &app,
                Method::GET,
                &signed_in_authorize("app_legacy", presented),
            ))
            .await;
            assert_eq!(answer.0, 400, "{presented:?}: {}", answer.2);
            assert!(answer.1.get(LOCATION).is_none(), "{presented:?} redirected");
        }
        // Without a redirect_uri there is no usable registered URI to fall back on either.
        let bare = send_text(browser.request(
            &app,
            Method::GET,
            &format!(
                "/oauth/authorize?client_id=app_legacy&response_type=code&code_challenge={CHALLENGE}&code_challenge_method=S256"
            ),
        ))
        .await;
        assert_eq!(bare.0, 400, "{}", bare.2);
        assert!(bare.1.get(LOCATION).is_none());
        app.stop().await;
    })
    .await;
}
