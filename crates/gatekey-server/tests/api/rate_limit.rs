//! Per-account rate limits: the `X-Ratelimit-*` headers, and 429 with `Retry-After` past them.
//!
//! The limiter counts in fixed windows of the wall clock, so a test that crosses a window's end
//! sees the count start over. Each test detects that and tries again on a fresh account.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use gatekey_core::role::Role;
use reqwest::header::HeaderMap;
use reqwest::Method;
use serde_json::Value;

use crate::harness::{assert_error, each_backend, send, TestApp};

/// Attempts before a test gives up on finding a quiet window.
const ATTEMPTS: usize = 4;

fn header(headers: &HeaderMap, name: &str) -> i64 {
    headers
        .get(name)
        .unwrap_or_else(|| panic!("header {name} missing: {headers:?}"))
        .to_str()
        .unwrap()
        .parse()
        .unwrap_or_else(|_| panic!("header {name} is not a number"))
}

fn unix_now() -> Duration {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap()
}

/// A fresh account with an admin and a key.
async fn fresh_account(app: &TestApp, slug: &str) -> String {
    let account = app.account(slug).await;
    let admin = app
        .person(&account, &format!("admin@{slug}.test"), Role::Admin)
        .await;
    app.key(&admin, None).await
}

type Response = (u16, HeaderMap, Value);

#[tokio::test]
async fn the_minute_limit_counts_down_then_refuses() {
    each_backend(|backend| async move {
        let app = TestApp::start_with(backend, |c| {
            c.rate_limit.per_minute = 5;
            c.rate_limit.per_second = 1_000;
        })
        .await;
        let mut run: Option<Vec<Response>> = None;
        for attempt in 0..ATTEMPTS {
            let key = fresh_account(&app, &format!("minute-{attempt}")).await;
            let mut responses = Vec::new();
            for _ in 0..6 {
                responses.push(send(app.request(Method::GET, "/api/v1/me", &key)).await);
            }
            let resets: Vec<i64> = responses
                .iter()
                .map(|r| header(&r.1, "x-ratelimit-reset"))
                .collect();
            if resets.iter().all(|r| *r == resets[0]) {
                run = Some(responses);
                break;
            }
        }
        let responses = run.expect("a run within one minute window");

        let before = i64::try_from(unix_now().as_secs()).unwrap();
        for (n, response) in responses[..5].iter().enumerate() {
            assert_eq!(response.0, 200, "request {n}: {}", response.2);
            assert_eq!(header(&response.1, "x-ratelimit-limit"), 5);
            assert_eq!(
                header(&response.1, "x-ratelimit-remaining"),
                4 - i64::try_from(n).unwrap(),
                "request {n}"
            );
        }
        let reset = header(&responses[0].1, "x-ratelimit-reset");
        assert!(
            reset > before - 60 && reset <= before + 60 && reset % 60 == 0,
            "reset {reset} is the end of the current minute (now {before})"
        );

        let refused = &responses[5];
        assert_error(refused, 429, "rate_limited");
        let retry_after = header(&refused.1, "retry-after");
        assert!((1..=60).contains(&retry_after), "retry-after {retry_after}");
        assert_eq!(header(&refused.1, "x-ratelimit-remaining"), 0);
        assert_eq!(header(&refused.1, "x-ratelimit-limit"), 5);

        let other_key = fresh_account(&app, "bystander").await;
        let other = send(app.request(Method::GET, "/api/v1/me", &other_key)).await;
        assert_eq!(other.0, 200, "another account is not limited: {}", other.2);
        assert_eq!(header(&other.1, "x-ratelimit-remaining"), 4);
        app.stop().await;
    })
    .await;
}

#[tokio::test]
async fn the_second_limit_refuses_for_one_second() {
    each_backend(|backend| async move {
        let app = TestApp::start_with(backend, |c| {
            c.rate_limit.per_second = 3;
            c.rate_limit.per_minute = 1_000;
        })
        .await;
        let mut run: Option<(String, u64, Vec<Response>)> = None;
        for attempt in 0..ATTEMPTS {
            let key = fresh_account(&app, &format!("second-{attempt}")).await;
            let started = unix_now().as_secs();
            let mut responses = Vec::new();
            for _ in 0..4 {
                responses.push(send(app.request(Method::GET, "/api/v1/me", &key)).await);
            }
            // Every request was counted within [started, now]: one second window if both agree.
            if unix_now().as_secs() == started {
                run = Some((key, started, responses));
                break;
            }
        }
        let (key, started, responses) = run.expect("a run within one second window");

        for (n, response) in responses[..3].iter().enumerate() {
            assert_eq!(response.0, 200, "request {n}: {}", response.2);
        }
        let refused = &responses[3];
        assert_error(refused, 429, "rate_limited");
        assert_eq!(header(&refused.1, "retry-after"), 1);
        // The headers describe the limit that refused: the second, not the minute.
        assert_eq!(header(&refused.1, "x-ratelimit-limit"), 3);
        assert_eq!(header(&refused.1, "x-ratelimit-remaining"), 0);
        assert_eq!(
            header(&refused.1, "x-ratelimit-reset"),
            i64::try_from(started + 1).unwrap(),
            "the end of the second that refused"
        );

        // Retry-After is honest: once the second is over, requests go through again.
        let next_second = Duration::from_secs(unix_now().as_secs() + 1);
        tokio::time::sleep(next_second.saturating_sub(unix_now()) + Duration::from_millis(20))
            .await;
        let again = send(app.request(Method::GET, "/api/v1/me", &key)).await;
        assert_eq!(again.0, 200, "{}", again.2);
        app.stop().await;
    })
    .await;
}

#[tokio::test]
async fn limits_off_send_no_headers() {
    each_backend(|backend| async move {
        let app = TestApp::start_with(backend, |c| {
            c.rate_limit.per_second = 0;
            c.rate_limit.per_minute = 0;
        })
        .await;
        let key = fresh_account(&app, "unlimited").await;
        for _ in 0..3 {
            let response = send(app.request(Method::GET, "/api/v1/me", &key)).await;
            assert_eq!(response.0, 200, "{}", response.2);
            assert!(response.1.get("x-ratelimit-limit").is_none());
        }
        app.stop().await;
    })
    .await;
}
