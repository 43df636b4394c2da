//! Nothing an unauthenticated client sends grows the server without bound: metrics labels,
//! audit details, device authorizations.

use std::collections::BTreeSet;

use gatekey_core::audit::{MAX_DETAIL_BYTES, MAX_IP_BYTES, MAX_USER_AGENT_BYTES};
use gatekey_core::oauth::application::{ClientType, GrantType};
use gatekey_store::Backend;
use reqwest::Method;
use sqlx::any::AnyPoolOptions;

use crate::captured_logs::CapturedLogs;
use crate::harness::{
    assert_error, each_backend, login_form, seed, send, send_text, submit_login, TestApp,
};
use crate::oauth_fixture::ClientSpec;

/// Every series of `/metrics` (the sample lines without their values).
async fn series(app: &TestApp) -> BTreeSet<String> {
    let (status, _, body) = send_text(app.http.get(app.url("/metrics"))).await;
    assert_eq!(status, 200);
    body.lines()
        .filter(|line| !line.starts_with('#'))
        .filter_map(|line| line.rsplit_once(' ').map(|(series, _)| series.to_owned()))
        .collect()
}

#[tokio::test]
async fn made_up_methods_and_paths_add_no_metrics_series() {
    each_backend(|backend| async move {
        let app = TestApp::start(backend).await;
        let paths = ["/healthz", "/api/v1/me", "/no/such/path"];
        let send_all = |method: Method| {
            let app = &app;
            async move {
                for path in paths {
                    let (status, _, _) =
                        send_text(app.http.request(method.clone(), app.url(path))).await;
                    assert!(
                        status == 405 || status == 404 || status == 401,
                        "{path}: {status}"
                    );
                }
            }
        };
        // The series a made-up method may create: `method="other"` on each route.
        send_all(Method::from_bytes(b"FOO").unwrap()).await;
        send_text(app.http.get(app.url("/no/such/path"))).await;
        // `/metrics` counts itself once it has answered.
        series(&app).await;
        let before = series(&app).await;
        let before_size = before.iter().map(String::len).sum::<usize>();
        for letter in ["X", "Y"] {
            let huge = Method::from_bytes(letter.repeat(20_000).as_bytes()).unwrap();
            send_all(huge).await;
        }
        let random_path = format!("/{}", "z".repeat(10_000));
        let (status, _, _) = send_text(app.http.get(app.url(&random_path))).await;
        assert_eq!(status, 404);
        let after = series(&app).await;
        assert_eq!(
            after.difference(&before).collect::<Vec<_>>(),
            Vec::<&String>::new(),
            "no new series"
        );
        let after_size = after.iter().map(String::len).sum::<usize>();
        assert_eq!(before_size, after_size);
        assert!(after.iter().any(|s| s.contains("method=\"other\"")));
        app.stop().await;
    })
    .await;
}

/// The longest `detail`, `ip` and `user_agent` the audit table holds, in bytes.
async fn longest_audit_fields(app: &TestApp) -> (i64, i64, i64, i64) {
    let pool = AnyPoolOptions::new()
        .max_connections(1)
        .connect(app.store().url())
        .await
        .expect("a second connection to the database");
    let row: (i64, i64, i64, i64) = sqlx::query_as(
        "SELECT CAST(COUNT(*) AS BIGINT), CAST(COALESCE(MAX(LENGTH(detail)), 0) AS BIGINT), \
         CAST(COALESCE(MAX(LENGTH(ip)), 0) AS BIGINT), CAST(COALESCE(MAX(LENGTH(user_agent)), 0) AS BIGINT) \
         FROM audit_events WHERE action LIKE 'login.%'",
    )
    .fetch_one(&pool)
    .await
    .expect("audit lengths");
    pool.close().await;
    row
}

#[tokio::test]
async fn failed_and_throttled_logins_store_a_bounded_amount_of_what_was_sent() {
    each_backend(|backend| async move {
        let app = TestApp::start_with(backend, |config| {
            config.login.max_failures_per_email = 1;
            config.http.trust_forwarded_for = true;
        })
        .await;
        let huge_email = format!("{}@example.com", "a".repeat(60_000));
        let forwarded = vec!["203.0.113.7"; 800].join("");
        for _ in 0..3 {
            let (cookie, token) = login_form(&app).await;
            let (status, _, _) = send_text(
                app.http
                    .post(app.url("/login"))
                    .header(
                        reqwest::header::COOKIE,
                        format!("gatekey_login_csrf={cookie}"),
                    )
                    .header(reqwest::header::USER_AGENT, "ü".repeat(4_000))
                    .header("x-forwarded-for", &forwarded)
                    .form(&[
                        ("email", huge_email.as_str()),
                        ("password", "wrong"),
                        ("csrf_token", token.as_str()),
                    ]),
            )
            .await;
            assert!([400, 401, 429].contains(&status), "{status}");
        }
        let (events, detail, ip, user_agent) = longest_audit_fields(&app).await;
        // LENGTH counts characters; a character is at least one byte.
        assert!(
            detail <= MAX_DETAIL_BYTES as i64,
            "{events} events, detail {detail}"
        );
        assert!(ip <= MAX_IP_BYTES as i64, "ip {ip}");
        assert!(
            user_agent <= MAX_USER_AGENT_BYTES as i64,
            "user agent {user_agent}"
        );
        app.stop().await;
    })
    .await;
}

fn device_spec() -> ClientSpec {
    ClientSpec {
        client_type: ClientType::Public,
        grant_types: vec![GrantType::DeviceCode],
        scopes: "read",
        introspect: false,
        service_account_id: None,
        access_token_format: gatekey_core::oauth::application::AccessTokenFormat::Opaque,
    }
}

/// Device codes stored, by reading the table on a connection of its own.
async fn device_codes(app: &TestApp) -> i64 {
    let pool = AnyPoolOptions::new()
        .max_connections(1)
        .connect(app.store().url())
        .await
        .expect("a second connection to the database");
    let count: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM device_codes")
        .fetch_one(&pool)
        .await
        .expect("count");
    pool.close().await;
    count
}

#[track_caller]
fn assert_too_many(answer: &(u16, reqwest::header::HeaderMap, serde_json::Value), most: u64) {
    assert_error(answer, 429, "temporarily_unavailable");
    let retry_after: u64 = answer.1["retry-after"]
        .to_str()
        .ok()
        .and_then(|v| v.parse().ok())
        .expect("Retry-After in seconds");
    assert!(
        (1..=most).contains(&retry_after),
        "Retry-After {retry_after}"
    );
    assert_eq!(answer.1["cache-control"], "no-store");
}

#[tokio::test]
async fn device_authorization_is_limited_per_client_address() {
    each_backend(|backend| async move {
        let app = TestApp::start_with(backend, |config| {
            config.device_authorization.per_ip_per_minute = 3;
        })
        .await;
        let seeded = seed(&app).await;
        let device = app.register_client(seeded.acme.id, device_spec()).await;
        for _ in 0..3 {
            let started = app
                .post_as(&device, "/oauth/device_authorization", &[])
                .await;
            assert_eq!(started.0, 200, "{}", started.2);
        }
        let refused = app
            .post_as(&device, "/oauth/device_authorization", &[])
            .await;
        assert_too_many(&refused, 60);
        // Made-up client ids from the same address are refused before anything is looked up.
        let unknown = app
            .post_form(
                "/oauth/device_authorization",
                None,
                &[("client_id", "app_nobody")],
            )
            .await;
        assert_too_many(&unknown, 60);
        assert_eq!(device_codes(&app).await, 3);
        app.stop().await;
    })
    .await;
}

#[tokio::test]
async fn an_application_holds_a_bounded_number_of_pending_device_codes() {
    each_backend(|backend| async move {
        let app = TestApp::start_with(backend, |config| {
            config.device_authorization.per_ip_per_minute = 0;
            config.device_authorization.max_pending_per_client = 2;
        })
        .await;
        let seeded = seed(&app).await;
        let device = app.register_client(seeded.acme.id, device_spec()).await;
        let other = app.register_client(seeded.acme.id, device_spec()).await;
        for _ in 0..2 {
            let started = app
                .post_as(&device, "/oauth/device_authorization", &[])
                .await;
            assert_eq!(started.0, 200, "{}", started.2);
        }
        let full = app
            .post_as(&device, "/oauth/device_authorization", &[])
            .await;
        // A slot frees when the oldest pending code expires: within the code's lifetime.
        assert_too_many(&full, 600);
        let elsewhere = app
            .post_as(&other, "/oauth/device_authorization", &[])
            .await;
        assert_eq!(elsewhere.0, 200, "another application has its own slots");
        assert_eq!(device_codes(&app).await, 3);
        app.stop().await;
    })
    .await;
}

#[tokio::test]
async fn an_email_longer_than_any_address_is_refused_before_anything_else() {
    each_backend(|backend| async move {
        let app = TestApp::start(backend).await;
        let too_long = format!("{}@example.com", "a".repeat(250));
        let (cookie, token) = login_form(&app).await;
        let (status, _, page) = submit_login(&app, (&cookie, &token), &too_long, "wrong").await;
        assert_eq!(status, 400);
        assert!(page.contains("too long"), "{page}");
        assert!(!page.contains(&too_long), "the input is not echoed back");
        let (events, _, _, _) = longest_audit_fields(&app).await;
        assert_eq!(events, 0, "nothing was audited");
        app.stop().await;
    })
    .await;
}

#[tokio::test]
async fn long_methods_and_paths_are_cut_in_the_logs() {
    let (logs, _capturing) = CapturedLogs::start();
    let app = TestApp::start(Backend::Sqlite).await;
    let path = format!("/{}", "p".repeat(10_000));
    let (status, _, _) = send_text(app.http.get(app.url(&path))).await;
    assert_eq!(status, 404);
    let method = Method::from_bytes("M".repeat(10_000).as_bytes()).unwrap();
    send_text(app.http.request(method, app.url("/healthz"))).await;
    app.stop().await;

    let text = logs.text();
    assert!(
        text.contains("ppppp") && text.contains("MMMMM"),
        "requests were logged:\n{}",
        &text[..text.len().min(2_000)]
    );
    assert!(!text.contains(&"p".repeat(300)), "a path is cut");
    assert!(!text.contains(&"M".repeat(20)), "a method is cut");
}

#[tokio::test]
async fn one_address_cannot_take_all_of_a_public_clients_device_codes() {
    each_backend(|backend| async move {
        let app = TestApp::start_with(backend, |config| {
            config.http.trust_forwarded_for = true;
            config.device_authorization.per_ip_per_minute = 0;
            config.device_authorization.max_pending_per_client = 6;
            config.device_authorization.max_pending_per_address = 2;
        })
        .await;
        let seeded = seed(&app).await;
        let device = app.register_client(seeded.acme.id, device_spec()).await;
        let start_from = |ip: &'static str| {
            send(
                app.http
                    .post(app.url("/oauth/device_authorization"))
                    .header("x-forwarded-for", ip)
                    .form(&[("client_id", device.id.as_str())]),
            )
        };
        for _ in 0..2 {
            let started = start_from("198.51.100.7").await;
            assert_eq!(started.0, 200, "{}", started.2);
        }
        let flooding = start_from("198.51.100.7").await;
        assert_too_many(&flooding, 600);
        let rotated = start_from("2001:db8:1:2::1").await;
        assert_eq!(rotated.0, 200, "{}", rotated.2);
        let same_block = start_from("2001:db8:1:2::ffff").await;
        assert_eq!(same_block.0, 200, "{}", same_block.2);
        assert_too_many(&start_from("2001:db8:1:2::9").await, 600);
        let real_device = start_from("203.0.113.5").await;
        assert_eq!(real_device.0, 200, "another address still gets a code");
        assert_eq!(device_codes(&app).await, 5);
        app.stop().await;
    })
    .await;
}
