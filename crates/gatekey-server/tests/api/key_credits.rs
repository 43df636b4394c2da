//! An API key's credits: every authenticated request spends one, exactly, however many arrive
//! at once; at zero the key gets `429 usage_exceeded`; a refill replaces the balance when the
//! day turns (by the `ManualClock`); a request a rate limit refuses spends nothing; setting the
//! balance drops what a server leased of the old one; and a restart keeps the balance.

use std::sync::Arc;

use gatekey_core::api_key_usage::{CreditRefill, KeyLimits, KeyUsageSettings, RefillInterval};
use gatekey_core::store::ApiKeyStore;
use gatekey_core::ManualClock;
use reqwest::Method;
use serde_json::json;
use time::{Duration, OffsetDateTime};

use crate::harness::{assert_error, each_backend, eventually, seed, send, TestApp};

fn credited(credits: i64, refill: Option<CreditRefill>) -> KeyUsageSettings {
    KeyUsageSettings {
        credits: Some(credits),
        refill,
        ..KeyUsageSettings::default()
    }
}

/// What the database holds of key `id`'s credits.
async fn stored_credits(app: &TestApp, id: i64) -> i64 {
    let key = app.store().api_key_by_id(id).await.unwrap().expect("key");
    key.credits.expect("credited").remaining
}

#[tokio::test]
async fn a_thousand_concurrent_requests_on_a_hundred_credits_let_exactly_a_hundred_through() {
    each_backend(|backend| async move {
        let (app, seeded) = TestApp::start_seeded(backend).await;
        let key = app.metered_key(&seeded.owner, credited(100, None)).await;
        let requests = (0..1_000).map(|_| {
            let request = app.request(Method::GET, "/api/v1/me", &key);
            tokio::spawn(async move { send(request).await })
        });
        let mut answers = Vec::new();
        for request in requests {
            answers.push(request.await.expect("task"));
        }
        let ok = answers.iter().filter(|a| a.0 == 200).count();
        let refused = answers
            .iter()
            .filter(|a| a.0 == 429 && a.2["error"] == "usage_exceeded")
            .count();
        assert_eq!((ok, refused), (100, 900), "every other answer: none");
        let key_id = app
            .store()
            .list_api_keys(Default::default(), Default::default())
            .await
            .unwrap()
            .items[0]
            .id;
        assert_eq!(stored_credits(&app, key_id).await, 0);
        app.stop().await;
    })
    .await;
}

#[tokio::test]
async fn at_zero_the_key_is_refused_until_its_refill() {
    each_backend(|backend| async move {
        let (app, clock) = TestApp::start_with_manual_clock(backend, |_| {}).await;
        let seeded = seed(&app).await;
        let once = app.metered_key(&seeded.owner, credited(1, None)).await;
        let me = |key: &str| send(app.request(Method::GET, "/api/v1/me", key));
        assert_eq!(me(&once).await.0, 200);
        let spent = me(&once).await;
        assert_error(&spent, 429, "usage_exceeded");
        assert!(
            spent.1.get("retry-after").is_none(),
            "no refill: no wait helps"
        );
        assert!(spent.1.get("x-ratelimit-limit").is_some(), "{:?}", spent.1);

        let daily = CreditRefill {
            amount: 3,
            interval: RefillInterval::Daily,
        };
        let key = app
            .metered_key(&seeded.owner, credited(1, Some(daily)))
            .await;
        assert_eq!(me(&key).await.0, 200);
        let dry = me(&key).await;
        assert_error(&dry, 429, "usage_exceeded");
        let now = app.now();
        let midnight = (now.unix_timestamp().div_euclid(86_400) + 1) * 86_400;
        let wait: i64 = dry.1["retry-after"].to_str().unwrap().parse().unwrap();
        assert!(
            (midnight - now.unix_timestamp() - wait).abs() <= 1,
            "Retry-After {wait} is the time to the next 00:00 UTC"
        );
        clock.advance(Duration::days(1));
        for _ in 0..3 {
            assert_eq!(me(&key).await.0, 200, "the refill replaced the balance");
        }
        assert_error(&me(&key).await, 429, "usage_exceeded");
        app.stop().await;
    })
    .await;
}

#[tokio::test]
async fn a_request_a_rate_limit_refuses_spends_no_credit() {
    each_backend(|backend| async move {
        let clock = Arc::new(ManualClock::new(OffsetDateTime::now_utc()));
        let app = TestApp::start_with_clock(backend, clock, |_| {}).await;
        let seeded = seed(&app).await;
        let usage = KeyUsageSettings {
            limits: KeyLimits {
                per_second: Some(2),
                ..KeyLimits::default()
            },
            ..credited(10, None)
        };
        let key = app.metered_key(&seeded.owner, usage).await;
        let mut statuses = Vec::new();
        for _ in 0..5 {
            statuses.push(send(app.request(Method::GET, "/api/v1/me", &key)).await.0);
        }
        assert_eq!(statuses, [200, 200, 429, 429, 429]);
        // Listing gives this server's unspent credits back first: the database is exact.
        let lister = app.key(&seeded.owner, None).await;
        let (status, _, keys) = send(app.request(Method::GET, "/api/v1/api_keys", &lister)).await;
        assert_eq!(status, 200);
        let metered = keys["api_keys"]
            .as_array()
            .unwrap()
            .iter()
            .find(|k| k["credits_remaining"].is_number())
            .expect("the metered key")
            .clone();
        assert_eq!(metered["credits_remaining"], 8);
        assert_eq!(metered["rate_per_second"], 2);
        app.stop().await;
    })
    .await;
}

#[tokio::test]
async fn setting_the_balance_drops_what_was_leased_of_the_old_one() {
    each_backend(|backend| async move {
        let (app, seeded) = TestApp::start_seeded(backend).await;
        let key = app.metered_key(&seeded.owner, credited(100, None)).await;
        let admin = app.key(&seeded.owner, None).await;
        let me = || send(app.request(Method::GET, "/api/v1/me", &key));
        assert_eq!(me().await.0, 200);
        let id = app.key_id(&key).await;
        assert_eq!(stored_credits(&app, id).await, 90, "a lease of 10 is held");
        let path = format!("/api/v1/api_keys/{id}");
        let (status, _, changed) = app
            .send_json(
                Method::PATCH,
                &path,
                &admin,
                json!({"credits_remaining": 3}),
            )
            .await;
        assert_eq!(status, 200, "{changed}");
        assert_eq!(changed["credits_remaining"], 3);
        for _ in 0..3 {
            assert_eq!(me().await.0, 200);
        }
        assert_error(&me().await, 429, "usage_exceeded");
        let events = app.audit_events_of(&admin, "api_key.updated").await;
        assert_eq!(events[0]["detail"], "changed credits_remaining");
        assert_eq!(events[0]["target_id"], id.to_string());
        app.stop().await;
    })
    .await;
}

#[tokio::test]
async fn a_restart_keeps_the_balance() {
    each_backend(|backend| async move {
        let (mut app, seeded) = TestApp::start_seeded(backend).await;
        let key = app.metered_key(&seeded.owner, credited(50, None)).await;
        let id = app.key_id(&key).await;
        for _ in 0..2 {
            assert_eq!(
                send(app.request(Method::GET, "/api/v1/me", &key)).await.0,
                200
            );
        }
        assert_eq!(
            stored_credits(&app, id).await,
            41,
            "a lease of 5 and, as it ran low, the next of 4 are held"
        );
        app.restart().await;
        assert_eq!(
            stored_credits(&app, id).await,
            47,
            "the stopping server gave its unspent credits back"
        );
        let mut ok = 0;
        loop {
            let answer = send(app.request(Method::GET, "/api/v1/me", &key)).await;
            if answer.0 != 200 {
                assert_error(&answer, 429, "usage_exceeded");
                break;
            }
            ok += 1;
        }
        assert_eq!(ok, 47);
        app.stop().await;
    })
    .await;
}

#[tokio::test]
async fn an_idle_keys_unspent_credits_go_back_after_the_flush_interval() {
    each_backend(|backend| async move {
        let (app, clock) = TestApp::start_with_manual_clock(backend, |config| {
            config.cache.last_used_flush = 1;
        })
        .await;
        let seeded = seed(&app).await;
        let key = app.metered_key(&seeded.owner, credited(100, None)).await;
        let id = app.key_id(&key).await;
        assert_eq!(
            stored_credits(&app, id).await,
            90,
            "a lease of 10, one spent"
        );
        tokio::time::sleep(std::time::Duration::from_millis(1_500)).await;
        assert_eq!(
            stored_credits(&app, id).await,
            90,
            "not idle by the clock yet: the lease stays"
        );
        clock.advance(Duration::seconds(2));
        let back = eventually(std::time::Duration::from_secs(5), || async {
            stored_credits(&app, id).await == 99
        })
        .await;
        assert!(back, "the 9 unspent credits went back");
        app.stop().await;
    })
    .await;
}

#[tokio::test]
async fn two_servers_on_one_database_never_spend_a_credit_twice() {
    each_backend(|backend| async move {
        let (app, seeded) = TestApp::start_seeded(backend).await;
        let second = gatekey_server::start(
            app.server.state.config.clone(),
            Arc::new(gatekey_core::SystemClock),
        )
        .await
        .expect("the second server starts");
        let urls = [app.base_url(), format!("http://{}", second.addr)];
        let key = app.metered_key(&seeded.owner, credited(100, None)).await;
        let requests = (0..600).map(|n| {
            let request = app
                .http
                .get(format!("{}/api/v1/me", urls[n % 2]))
                .bearer_auth(&key);
            tokio::spawn(async move { send(request).await.0 })
        });
        let mut ok = [0, 0];
        for (n, request) in requests.enumerate() {
            if request.await.expect("task") == 200 {
                ok[n % 2] += 1;
            }
        }
        assert_eq!(ok[0] + ok[1], 100, "{ok:?}");
        assert!(ok[0] > 0 && ok[1] > 0, "both servers spent: {ok:?}");
        second.shutdown().await.expect("stops");
        app.stop().await;
    })
    .await;
}
