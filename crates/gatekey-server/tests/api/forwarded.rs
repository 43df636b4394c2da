//! `X-Forwarded-For` behind trusted proxies: the address added by the outermost trusted proxy
//! counts, not whatever the client wrote to the left of it.

use gatekey_core::role::Role;
use gatekey_core::user::Member;
use reqwest::header::COOKIE;
use reqwest::Method;
use serde_json::Value;

use crate::harness::{each_backend, login_form, seed, send, send_text, TestApp};

async fn wrong_login(app: &TestApp, email: &str, forwarded_for: &str) -> u16 {
    let (cookie, token) = login_form(app).await;
    let request = app
        .http
        .post(app.url("/login"))
        .header(COOKIE, format!("gatekey_login_csrf={cookie}"))
        .header("x-forwarded-for", forwarded_for)
        .form(&[
            ("email", email),
            ("password", "wrong password!"),
            ("csrf_token", token.as_str()),
        ]);
    send_text(request).await.0
}

#[tokio::test]
async fn the_nearest_proxys_entry_counts_and_garbage_is_ignored() {
    each_backend(|backend| async move {
        let app = TestApp::start_with(backend, |c| {
            c.http.trust_forwarded_for = true;
            c.login.max_failures_per_ip = 3;
        })
        .await;
        let seeded = seed(&app).await;
        for n in 0..5 {
            app.person(&seeded.acme, &format!("p{n}@acme.test"), Role::Member)
                .await;
        }
        // Rotating the client-written part does not escape the per-IP limit.
        for n in 0..3 {
            let status = wrong_login(
                &app,
                &format!("p{n}@acme.test"),
                &format!("10.9.8.{n}, 198.51.100.7"),
            )
            .await;
            assert_eq!(status, 401);
        }
        let rotated = wrong_login(&app, "p3@acme.test", "10.9.8.200, 198.51.100.7").await;
        assert_eq!(rotated, 429, "the proxy-added address reached its limit");
        // Not an IP: the socket peer is used instead, whole values are never stored.
        let garbage = "x".repeat(8000);
        assert_eq!(wrong_login(&app, "p4@acme.test", &garbage).await, 401);

        let events = audit_events(&app, &seeded.owner).await;
        assert_eq!(ip_of(&events, "p0@acme.test"), "198.51.100.7");
        assert_eq!(ip_of(&events, "p4@acme.test"), "127.0.0.1");
        app.stop().await;
    })
    .await;
}

/// A wrong sign-in whose request carries these `X-Forwarded-For` lines, byte for byte.
async fn wrong_login_with_lines(app: &TestApp, email: &str, lines: &[&[u8]]) -> u16 {
    let (cookie, token) = login_form(app).await;
    let mut request = app
        .http
        .post(app.url("/login"))
        .header(COOKIE, format!("gatekey_login_csrf={cookie}"));
    for line in lines {
        let value = reqwest::header::HeaderValue::from_bytes(line).expect("a header value");
        request = request.header("x-forwarded-for", value);
    }
    let request = request.form(&[
        ("email", email),
        ("password", "wrong password!"),
        ("csrf_token", token.as_str()),
    ]);
    send_text(request).await.0
}

#[tokio::test]
async fn a_client_written_non_ascii_entry_does_not_hide_the_proxys_entry() {
    each_backend(|backend| async move {
        let app = TestApp::start_with(backend, |c| c.http.trust_forwarded_for = true).await;
        let seeded = seed(&app).await;
        for n in 0..2 {
            app.person(&seeded.acme, &format!("q{n}@acme.test"), Role::Member)
                .await;
        }
        let split: &[&[u8]] = &[b"\xc3\xa9vil", b"198.51.100.9"];
        assert_eq!(
            wrong_login_with_lines(&app, "q0@acme.test", split).await,
            401
        );
        let one_line: &[&[u8]] = &[b"\xff\xfe, 198.51.100.10"];
        assert_eq!(
            wrong_login_with_lines(&app, "q1@acme.test", one_line).await,
            401
        );

        let events = audit_events(&app, &seeded.owner).await;
        assert_eq!(ip_of(&events, "q0@acme.test"), "198.51.100.9");
        assert_eq!(ip_of(&events, "q1@acme.test"), "198.51.100.10");
        app.stop().await;
    })
    .await;
}

/// The audit events of the owner's account, as the API lists them.
async fn audit_events(app: &TestApp, owner: &Member) -> Vec<Value> {
    let key = app.key(owner, None).await;
    let listed = send(app.request(Method::GET, "/api/v1/audits?per_page=200", &key)).await;
    listed.2["audits"].as_array().unwrap().clone()
}

/// The address recorded on the failed sign-in of `email` among `events`.
fn ip_of(events: &[Value], email: &str) -> Value {
    events
        .iter()
        .find(|e| e["detail"] == format!("email {email}").as_str())
        .map(|e| e["ip"].clone())
        .unwrap_or_else(|| panic!("an event for {email}: {events:?}"))
}
