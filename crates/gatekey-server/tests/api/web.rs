//! The web pages: sign-in with CSRF and brute-force protection, the key page, sign-out, the
//! JSON API used with the session cookie, and the headers every page carries.

use gatekey_core::role::Role;
use reqwest::header::{HeaderMap, COOKIE, LOCATION};
use reqwest::Method;
use serde_json::{json, Value};

use crate::harness::{
    assert_error, cookie_value, csrf_token_in, each_backend, login_form, seed, send, send_text,
    set_cookie, sign_in, submit_login, TestApp, PASSWORD,
};
use crate::harness::{Browser, Seeded};

#[track_caller]
fn assert_security_headers(headers: &HeaderMap) {
    let csp = headers["content-security-policy"].to_str().unwrap();
    assert!(csp.contains("frame-ancestors 'none'"), "{csp}");
    assert_eq!(headers["x-frame-options"], "DENY");
    assert_eq!(headers["referrer-policy"], "no-referrer");
    assert_eq!(headers["x-content-type-options"], "nosniff");
}

/// The audit events of acme, newest first, as its owner reads them.
async fn audits(app: &TestApp, seeded: &Seeded) -> Vec<Value> {
    let key = app.key(&seeded.owner, None).await;
    let listed = send(app.request(Method::GET, "/api/v1/audits?per_page=200", &key)).await;
    assert_eq!(listed.0, 200, "{}", listed.2);
    listed.2["audits"].as_array().unwrap().clone()
}

/// The first `gk_key_…` secret in a page.
fn secret_in(html: &str) -> String {
    let start = html.find("gk_key_").expect("a secret on the page");
    html[start..]
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
        .collect()
}

#[tokio::test]
async fn the_login_form_carries_a_csrf_token() {
    each_backend(|backend| async move {
        let app = TestApp::start(backend).await;
        let (status, headers, html) = send_text(app.http.get(app.url("/login"))).await;
        assert_eq!(status, 200);
        assert!(headers["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html"));
        assert_security_headers(&headers);
        assert!(
            html.contains(r#"<form method="post" action="/login">"#),
            "{html}"
        );
        let token = csrf_token_in(&html);
        assert!(token.len() >= 32, "{token}");
        let cookie = set_cookie(&headers, "gatekey_login_csrf").expect("CSRF cookie");
        assert_eq!(cookie_value(cookie), token, "double submit: {cookie}");
        assert!(
            cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax"),
            "{cookie}"
        );
        assert!(
            !cookie.contains("Secure"),
            "no Secure on an http issuer: {cookie}"
        );

        let (_, _, again) = send_text(app.http.get(app.url("/login"))).await;
        assert_ne!(csrf_token_in(&again), token, "a fresh token every time");
        app.stop().await;
    })
    .await;
}

#[tokio::test]
async fn login_refusals_csrf_password_and_throttle() {
    each_backend(|backend| async move {
        let app = TestApp::start_with(backend, |c| c.login.max_failures_per_email = 3).await;
        let seeded = seed(&app).await;
        app.person(&seeded.acme, "member@acme.test", Role::Member)
            .await;
        let (cookie, token) = login_form(&app).await;

        let forged = submit_login(
            &app,
            (&cookie, "not-the-token"),
            "owner@acme.test",
            PASSWORD,
        )
        .await;
        assert_eq!(forged.0, 403, "{}", forged.2);
        assert!(set_cookie(&forged.1, "gatekey_session").is_none());
        assert_security_headers(&forged.1);
        let no_cookie = send_text(app.http.post(app.url("/login")).form(&[
            ("email", "owner@acme.test"),
            ("password", PASSWORD),
            ("csrf_token", token.as_str()),
        ]))
        .await;
        assert_eq!(no_cookie.0, 403, "{}", no_cookie.2);
        assert!(set_cookie(&no_cookie.1, "gatekey_session").is_none());

        let wrong = submit_login(
            &app,
            (&cookie, &token),
            "owner@acme.test",
            "wrong password!",
        )
        .await;
        assert_eq!(wrong.0, 401, "{}", wrong.2);
        assert!(set_cookie(&wrong.1, "gatekey_session").is_none());
        assert!(wrong.2.contains("Wrong email or password"), "{}", wrong.2);
        let failed = audits(&app, &seeded).await;
        let event = failed
            .iter()
            .find(|e| e["action"] == "login.failed")
            .unwrap_or_else(|| panic!("login.failed recorded: {failed:?}"));
        assert_eq!(event["outcome"], "failure");
        assert_eq!(event["actor_user_id"], seeded.owner.user.id);
        assert_eq!(event["ip"], "127.0.0.1");

        for attempt in 0..3 {
            let wrong =
                submit_login(&app, (&cookie, &token), "member@acme.test", "still wrong!!").await;
            assert_eq!(wrong.0, 401, "attempt {attempt}: {}", wrong.2);
        }
        for password in ["still wrong!!", PASSWORD] {
            let throttled =
                submit_login(&app, (&cookie, &token), "member@acme.test", password).await;
            assert_eq!(throttled.0, 429, "{}", throttled.2);
            assert!(set_cookie(&throttled.1, "gatekey_session").is_none());
            let retry_after: u64 = throttled.1["retry-after"]
                .to_str()
                .unwrap()
                .parse()
                .unwrap();
            assert!(retry_after >= 1, "{retry_after}");
        }
        let events = audits(&app, &seeded).await;
        assert!(
            events
                .iter()
                .any(|e| e["action"] == "login.throttled" && e["outcome"] == "failure"),
            "login.throttled recorded: {events:?}"
        );

        // The throttle is per email: the owner still signs in.
        let owner = submit_login(&app, (&cookie, &token), "owner@acme.test", PASSWORD).await;
        assert_eq!(owner.0, 303, "{}", owner.2);
        app.stop().await;
    })
    .await;
}

#[tokio::test]
async fn a_signed_in_user_manages_keys_in_the_browser() {
    each_backend(|backend| async move {
        let (app, seeded) = TestApp::start_seeded(backend).await;
        let owner_key = app.key(&seeded.owner, None).await;
        let named = app
            .send_json(
                Method::POST,
                "/api/v1/api_keys",
                &owner_key,
                json!({"name": "nightly-export"}),
            )
            .await;
        assert_eq!(named.0, 201, "{}", named.2);

        let (cookie, token) = login_form(&app).await;
        let signed_in = submit_login(&app, (&cookie, &token), "owner@acme.test", PASSWORD).await;
        assert_eq!(signed_in.0, 303, "{}", signed_in.2);
        assert_eq!(signed_in.1[LOCATION], "/");
        assert_security_headers(&signed_in.1);
        let session_cookie = set_cookie(&signed_in.1, "gatekey_session").expect("session cookie");
        assert!(
            cookie_value(session_cookie).starts_with("gk_ss_")
                && session_cookie.contains("HttpOnly")
                && session_cookie.contains("SameSite=Lax")
                && session_cookie.contains("Path=/")
                && !session_cookie.contains("Secure"),
            "{session_cookie}"
        );
        let browser = Browser {
            session: cookie_value(session_cookie).to_owned(),
            csrf: String::new(),
        };

        let (status, headers, home) = send_text(browser.request(&app, Method::GET, "/")).await;
        assert_eq!(status, 200, "{home}");
        assert_security_headers(&headers);
        assert!(home.contains("nightly-export"), "{home}");
        assert!(home.contains(named.2["prefix"].as_str().unwrap()), "{home}");
        assert!(
            !home.contains(named.2["secret"].as_str().unwrap()),
            "no secret in a list"
        );
        let browser = Browser {
            csrf: csrf_token_in(&home),
            ..browser
        };

        let forged = send_text(
            browser
                .request(&app, Method::POST, "/keys")
                .form(&[("csrf_token", "forged"), ("name", "forged")]),
        )
        .await;
        assert_eq!(forged.0, 403, "{}", forged.2);
        assert_security_headers(&forged.1);

        let (status, headers, page) =
            send_text(browser.request(&app, Method::POST, "/keys").form(&[
                ("csrf_token", browser.csrf.as_str()),
                ("name", "from-the-browser"),
                ("scope_read", "on"),
                ("scope_write", "on"),
                ("expires_in_days", "30"),
            ]))
            .await;
        assert_eq!(status, 201, "{page}");
        assert_security_headers(&headers);
        assert_eq!(headers["cache-control"], "no-store");
        let secret = secret_in(&page);
        assert_eq!(secret.len(), "gk_key_".len() + 49, "{secret}");

        let me = send(app.request(Method::GET, "/api/v1/me", &secret)).await;
        assert_eq!(me.0, 200, "{}", me.2);
        assert_eq!(me.2["user"]["email"], "owner@acme.test");
        assert_eq!(me.2["scopes"], json!(["read", "write"]));
        assert!(me.2["credential"]["expires_at"].is_string(), "{}", me.2);
        let id = me.2["credential"]["id"].as_i64().unwrap();

        let (_, _, home) = send_text(browser.request(&app, Method::GET, "/")).await;
        assert!(home.contains("from-the-browser"), "{home}");
        assert!(!home.contains(&secret), "the secret is shown once");

        let revoke_path = format!("/keys/{id}/revoke");
        let forged = send_text(
            browser
                .request(&app, Method::POST, &revoke_path)
                .form(&[("csrf_token", "forged")]),
        )
        .await;
        assert_eq!(forged.0, 403, "{}", forged.2);
        let still = send(app.request(Method::GET, "/api/v1/me", &secret)).await;
        assert_eq!(still.0, 200, "a forged revoke did nothing: {}", still.2);

        let revoked = send_text(
            browser
                .request(&app, Method::POST, &revoke_path)
                .form(&[("csrf_token", browser.csrf.as_str())]),
        )
        .await;
        assert_eq!(revoked.0, 303, "{}", revoked.2);
        assert_eq!(revoked.1[LOCATION], "/");
        let refused = send(app.request(Method::GET, "/api/v1/me", &secret)).await;
        assert_error(&refused, 401, "invalid_token");
        app.stop().await;
    })
    .await;
}

#[tokio::test]
async fn a_user_cannot_revoke_someone_elses_key_in_the_browser() {
    each_backend(|backend| async move {
        let (app, seeded) = TestApp::start_seeded(backend).await;
        app.person(&seeded.acme, "member@acme.test", Role::Member)
            .await;
        let owner_key = app.key(&seeded.owner, None).await;
        let owner_key_id = app.key_id(&owner_key).await;

        let member = sign_in(&app, "member@acme.test", PASSWORD).await;
        let refused = send_text(
            member
                .request(&app, Method::POST, &format!("/keys/{owner_key_id}/revoke"))
                .form(&[("csrf_token", member.csrf.as_str())]),
        )
        .await;
        assert_eq!(refused.0, 404, "{}", refused.2);
        let still = send(app.request(Method::GET, "/api/v1/me", &owner_key)).await;
        assert_eq!(still.0, 200, "{}", still.2);
        app.stop().await;
    })
    .await;
}

#[tokio::test]
async fn the_json_api_with_the_session_cookie_needs_the_csrf_header_to_change_things() {
    each_backend(|backend| async move {
        let (app, seeded) = TestApp::start_seeded(backend).await;
        let browser = sign_in(&app, "owner@acme.test", PASSWORD).await;

        let me = send(browser.request(&app, Method::GET, "/api/v1/me")).await;
        assert_eq!(me.0, 200, "{}", me.2);
        assert_eq!(me.2["credential"]["type"], "session");
        assert_eq!(me.2["user"]["id"], seeded.owner.user.id);
        assert_security_headers(&me.1);

        let body = json!({"name": "from the web UI"});
        let missing = send(
            browser
                .request(&app, Method::POST, "/api/v1/api_keys")
                .json(&body),
        )
        .await;
        assert_error(&missing, 403, "forbidden");
        let wrong = send(
            browser
                .request(&app, Method::POST, "/api/v1/api_keys")
                .header("x-csrf-token", "not-the-token")
                .json(&body),
        )
        .await;
        assert_error(&wrong, 403, "forbidden");
        let listed = send(browser.request(&app, Method::GET, "/api/v1/api_keys")).await;
        assert_eq!(listed.2["pagination"]["total_records"], 0, "{}", listed.2);

        let created = send(
            browser
                .request(&app, Method::POST, "/api/v1/api_keys")
                .header("x-csrf-token", &browser.csrf)
                .json(&body),
        )
        .await;
        assert_eq!(created.0, 201, "{}", created.2);
        let id = created.2["id"].as_i64().unwrap();

        let revoke_without =
            send(browser.request(&app, Method::DELETE, &format!("/api/v1/api_keys/{id}"))).await;
        assert_error(&revoke_without, 403, "forbidden");
        app.stop().await;
    })
    .await;
}

#[tokio::test]
async fn logout_ends_the_session() {
    each_backend(|backend| async move {
        let app = TestApp::start(backend).await;
        seed(&app).await;
        let browser = sign_in(&app, "owner@acme.test", PASSWORD).await;

        let forged = send_text(
            browser
                .request(&app, Method::POST, "/logout")
                .form(&[("csrf_token", "forged")]),
        )
        .await;
        assert_eq!(forged.0, 403, "{}", forged.2);
        let me = send(browser.request(&app, Method::GET, "/api/v1/me")).await;
        assert_eq!(me.0, 200, "a forged logout did nothing: {}", me.2);

        let (status, headers, body) = send_text(
            browser
                .request(&app, Method::POST, "/logout")
                .form(&[("csrf_token", browser.csrf.as_str())]),
        )
        .await;
        assert_eq!(status, 303, "{body}");
        assert_eq!(headers[LOCATION], "/login");
        let cleared = set_cookie(&headers, "gatekey_session").expect("cookie cleared");
        assert!(
            cookie_value(cleared).is_empty() && cleared.contains("Max-Age=0"),
            "{cleared}"
        );

        let me = send(browser.request(&app, Method::GET, "/api/v1/me")).await;
        assert_eq!(me.0, 401, "{}", me.2);
        let (status, headers, _) = send_text(browser.request(&app, Method::GET, "/")).await;
        assert_eq!(status, 303);
        assert_eq!(headers[LOCATION], "/login");
        let replayed = send_text(
            app.http
                .post(app.url("/keys"))
                .header(COOKIE, browser.cookie())
                .form(&[
                    ("csrf_token", browser.csrf.as_str()),
                    ("name", "after logout"),
                ]),
        )
        .await;
        assert_eq!(replayed.0, 303, "{}", replayed.2);
        assert_eq!(replayed.1[LOCATION], "/login");
        app.stop().await;
    })
    .await;
}

#[tokio::test]
async fn cookies_are_secure_when_the_issuer_is_https() {
    each_backend(|backend| async move {
        let app = TestApp::start_with(backend, |c| {
            c.issuer = Some("https://auth.example.test".into());
        })
        .await;
        seed(&app).await;
        let (status, headers, _) = send_text(app.http.get(app.url("/login"))).await;
        assert_eq!(status, 200);
        let csrf_cookie = set_cookie(&headers, "gatekey_login_csrf").expect("CSRF cookie");
        assert!(csrf_cookie.contains("; Secure"), "{csrf_cookie}");

        let (cookie, token) = login_form(&app).await;
        let signed_in = submit_login(&app, (&cookie, &token), "owner@acme.test", PASSWORD).await;
        assert_eq!(signed_in.0, 303, "{}", signed_in.2);
        let session = set_cookie(&signed_in.1, "gatekey_session").expect("session cookie");
        assert!(
            session.contains("; Secure") && session.contains("HttpOnly"),
            "{session}"
        );
        app.stop().await;
    })
    .await;
}

#[tokio::test]
async fn a_person_changes_their_password_and_other_sessions_end() {
    each_backend(|backend| async move {
        let (app, seeded) = TestApp::start_seeded(backend).await;
        let here = sign_in(&app, "owner@acme.test", PASSWORD).await;
        let elsewhere = sign_in(&app, "owner@acme.test", PASSWORD).await;
        let form = |current: &str, new: &str, csrf: &str| {
            here.request(&app, Method::POST, "/password").form(&[
                ("csrf_token", csrf.to_owned()),
                ("current_password", current.to_owned()),
                ("new_password", new.to_owned()),
            ])
        };

        let forged = send_text(form(PASSWORD, "a whole new password", "forged")).await;
        assert_eq!(forged.0, 403);
        let wrong = send_text(form("not my password", "a whole new password", &here.csrf)).await;
        assert_eq!(wrong.0, 400);
        assert!(
            wrong.2.contains("current password is not right"),
            "{}",
            wrong.2
        );
        let short = send_text(form(PASSWORD, "short", &here.csrf)).await;
        assert_eq!(short.0, 400);
        assert!(short.2.contains("12"), "{}", short.2);

        let changed = send_text(form(PASSWORD, "a whole new password", &here.csrf)).await;
        assert_eq!(changed.0, 200, "{}", changed.2);
        assert!(changed.2.contains("password has been changed"));
        assert_eq!(
            send_text(here.request(&app, Method::GET, "/")).await.0,
            200,
            "this session goes on"
        );
        let other = send_text(elsewhere.request(&app, Method::GET, "/")).await;
        assert_eq!(other.0, 303, "the other session has ended");

        let (cookie, token) = login_form(&app).await;
        assert_eq!(
            submit_login(&app, (&cookie, &token), "owner@acme.test", PASSWORD)
                .await
                .0,
            401
        );
        sign_in(&app, "owner@acme.test", "a whole new password").await;
        let actions: Vec<String> = audits(&app, &seeded)
            .await
            .iter()
            .map(|a| a["action"].as_str().unwrap().to_owned())
            .collect();
        assert!(
            actions.contains(&"user.password_changed".to_owned()),
            "{actions:?}"
        );
        app.stop().await;
    })
    .await;
}

#[tokio::test]
async fn a_person_in_two_accounts_switches_between_them() {
    each_backend(|backend| async move {
        let (app, seeded) = TestApp::start_seeded(backend).await;
        let now = time::OffsetDateTime::now_utc();
        let audit = gatekey_core::audit::AuditEntry::new(
            now,
            &gatekey_core::audit::Actor::operator(),
            gatekey_core::audit::AuditAction::MembershipCreated,
            "membership",
        );
        gatekey_core::store::UserStore::add_membership(
            app.store(),
            seeded.owner.user.id,
            seeded.other.id,
            Role::Viewer,
            now,
            audit,
        )
        .await
        .unwrap();
        let browser = sign_in(&app, "owner@acme.test", PASSWORD).await;
        let me = send(browser.request(&app, Method::GET, "/api/v1/me")).await;
        assert_eq!(me.2["account"]["slug"], "acme");

        let switch = |slug: &str, csrf: &str| {
            browser
                .request(&app, Method::POST, "/account")
                .form(&[("csrf_token", csrf), ("account", slug)])
        };
        assert_eq!(send_text(switch("other", "forged")).await.0, 403);
        assert_eq!(send_text(switch("nowhere", &browser.csrf)).await.0, 404);
        assert_eq!(send_text(switch("other", &browser.csrf)).await.0, 303);
        let me = send(browser.request(&app, Method::GET, "/api/v1/me")).await;
        assert_eq!(
            (me.2["account"]["slug"].as_str(), me.2["role"].as_str()),
            (Some("other"), Some("viewer"))
        );
        app.stop().await;
    })
    .await;
}
