//! An API key's own rate limits, on top of its account's: the `X-Ratelimit-*` headers describe
//! the tightest window, a full window answers `429` with `Retry-After`, and a request the
//! key's limit refuses is not counted against the account. The clock is a `ManualClock` set
//! just after the start of an hour, so no window ends unless the test moves it.

use std::sync::Arc;

use gatekey_core::api_key_usage::{KeyLimits, KeyUsageSettings};
use gatekey_core::ManualClock;
use gatekey_store::Backend;
use reqwest::header::HeaderMap;
use reqwest::Method;
use time::{Duration, OffsetDateTime};

use crate::harness::{assert_error, each_backend, seed, send, Answer, Seeded, TestApp};

fn header(headers: &HeaderMap, name: &str) -> i64 {
    headers
        .get(name)
        .unwrap_or_else(|| panic!("header {name} missing: {headers:?}"))
        .to_str()
        .unwrap()
        .parse()
        .unwrap()
}

/// `(limit, remaining, reset)` of an answer.
fn limits(answer: &Answer) -> (i64, i64, i64) {
    (
        header(&answer.1, "x-ratelimit-limit"),
        header(&answer.1, "x-ratelimit-remaining"),
        header(&answer.1, "x-ratelimit-reset"),
    )
}

/// Ten seconds into the current hour.
fn start_of_an_hour() -> OffsetDateTime {
    let now = OffsetDateTime::now_utc();
    let hour = now.unix_timestamp().div_euclid(3600) * 3600;
    OffsetDateTime::from_unix_timestamp(hour + 10).unwrap()
}

/// The app on a `ManualClock` at [`start_of_an_hour`], with the account limits given.
async fn app_at_an_hour(
    backend: Backend,
    per_minute: u32,
    per_second: u32,
) -> (TestApp, Seeded, Arc<ManualClock>) {
    let clock = Arc::new(ManualClock::new(start_of_an_hour()));
    let app = TestApp::start_with_clock(backend, clock.clone(), |config| {
        config.rate_limit.per_minute = per_minute;
        config.rate_limit.per_second = per_second;
    })
    .await;
    let seeded = seed(&app).await;
    (app, seeded, clock)
}

fn limited(
    per_second: Option<u32>,
    per_minute: Option<u32>,
    per_hour: Option<u32>,
) -> KeyUsageSettings {
    KeyUsageSettings {
        limits: KeyLimits {
            per_second,
            per_minute,
            per_hour,
        },
        ..KeyUsageSettings::default()
    }
}

#[tokio::test]
async fn the_headers_follow_the_tightest_window_and_a_full_one_refuses() {
    each_backend(|backend| async move {
        let (app, seeded, clock) = app_at_an_hour(backend, 100_000, 10_000).await;
        let key = app
            .metered_key(&seeded.owner, limited(Some(3), None, Some(5)))
            .await;
        let me = || send(app.request(Method::GET, "/api/v1/me", &key));
        let t = app.now().unix_timestamp();
        let mut seen = Vec::new();
        for _ in 0..3 {
            let answer = me().await;
            assert_eq!(answer.0, 200, "{}", answer.2);
            seen.push(limits(&answer));
        }
        assert_eq!(
            seen,
            [(3, 2, t + 1), (3, 1, t + 1), (3, 0, t + 1)],
            "the second has fewer left than the hour or the account"
        );
        let refused = me().await;
        assert_error(&refused, 429, "rate_limited");
        assert_eq!(header(&refused.1, "retry-after"), 1);
        assert_eq!(limits(&refused), (3, 0, t + 1));

        clock.advance(Duration::seconds(1));
        let fourth = me().await;
        assert_eq!(fourth.0, 200);
        let hour_end = (t.div_euclid(3600) + 1) * 3600;
        assert_eq!(
            limits(&fourth),
            (5, 1, hour_end),
            "now the hour is tightest"
        );
        clock.advance(Duration::seconds(1));
        assert_eq!(me().await.0, 200);
        clock.advance(Duration::seconds(1));
        let hour_full = me().await;
        assert_error(&hour_full, 429, "rate_limited");
        assert_eq!(limits(&hour_full), (5, 0, hour_end));
        assert_eq!(
            header(&hour_full.1, "retry-after"),
            hour_end - app.now().unix_timestamp()
        );

        // Another key of the same account has no limit of its own: the account's headers.
        let plain = app.key(&seeded.owner, None).await;
        let other = send(app.request(Method::GET, "/api/v1/me", &plain)).await;
        assert_eq!(other.0, 200);
        assert_eq!(header(&other.1, "x-ratelimit-limit"), 100_000);
        app.stop().await;
    })
    .await;
}

#[tokio::test]
async fn the_account_limit_still_applies_and_a_keys_refusals_do_not_count_against_it() {
    each_backend(|backend| async move {
        let (app, seeded, clock) = app_at_an_hour(backend, 4, 1_000).await;
        let key = app
            .metered_key(&seeded.owner, limited(Some(1), Some(50), None))
            .await;
        let plain = app.key(&seeded.owner, None).await;
        let me = |key: &str| send(app.request(Method::GET, "/api/v1/me", key));
        let first = me(&key).await;
        assert_eq!(first.0, 200);
        assert_eq!(
            (limits(&first).0, limits(&first).1),
            (1, 0),
            "the key's second: 1, none left"
        );
        assert_error(&me(&key).await, 429, "rate_limited");
        assert_error(&me(&key).await, 429, "rate_limited");
        // The account counted one request, not three.
        let plains = me(&plain).await;
        assert_eq!(plains.0, 200);
        assert_eq!((limits(&plains).0, limits(&plains).1), (4, 2));
        clock.advance(Duration::seconds(1));
        let second = me(&key).await;
        assert_eq!(second.0, 200);
        assert_eq!(
            (limits(&second).0, limits(&second).1),
            (1, 0),
            "the key's second (0 left) is tighter than the account's minute (1 left)"
        );
        clock.advance(Duration::seconds(1));
        let third = me(&key).await;
        assert_eq!(third.0, 200);
        assert_eq!(
            (limits(&third).0, limits(&third).1),
            (4, 0),
            "ties go to the account"
        );
        clock.advance(Duration::seconds(1));
        let over = me(&key).await;
        assert_error(&over, 429, "rate_limited");
        assert_eq!(limits(&over).0, 4, "the account's minute refused");
        app.stop().await;
    })
    .await;
}
