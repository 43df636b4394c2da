//! Limits shared by replicas through Redis (`rate_limit.backend = "redis"`): an account gets
//! its limit in total across replicas, exactly, even when its requests arrive at once; wrong
//! passwords count toward one budget wherever they are sent; while Redis is down each replica
//! counts on its own (and says so in `/metrics`), and counting is shared again once it is back.
//! An API key's own limits are shared the same way.
//!
//! Each test runs its own `redis-server` on a free port; without `redis-server` on the PATH the
//! tests are skipped with a note, unless `GATEKEY_TEST_REDIS=1` (set by CI) makes that a
//! failure. The replicas share one SQLite database and one clock: the limits are the subject
//! here, not the database.

use std::sync::Arc;
use std::time::{Duration, Instant};

use gatekey_core::role::Role;
use gatekey_core::{Clock, ManualClock};
use gatekey_server::config::{Config, LimitBackend, RedisUrl};
use gatekey_server::RunningServer;
use gatekey_store::Backend;
use reqwest::header::COOKIE;
use time::OffsetDateTime;
use tokio::task::JoinSet;

use crate::harness::{login_form, seed, RedisServer, TestApp, PASSWORD};

/// Whether the tests can run: `redis-server` is installed, or CI says it must be.
fn redis_available() -> bool {
    let installed = std::process::Command::new("redis-server")
        .arg("--version")
        .output()
        .is_ok_and(|output| output.status.success());
    if !installed {
        assert!(
            std::env::var("GATEKEY_TEST_REDIS").is_err(),
            "GATEKEY_TEST_REDIS is set but redis-server is not installed"
        );
        eprintln!("redis-server is not installed; the shared-limit tests are skipped");
    }
    installed
}

/// Two replicas on one database and one clock, counting in `redis`.
struct Replicas {
    first: TestApp,
    second: RunningServer,
}

impl Replicas {
    async fn start(redis: &RedisServer, configure: impl FnOnce(&mut Config)) -> Self {
        let clock: Arc<dyn Clock> = Arc::new(ManualClock::new(OffsetDateTime::now_utc()));
        let url = redis.url();
        let first = TestApp::start_with_clock(Backend::Sqlite, clock.clone(), |config| {
            config.rate_limit.backend = LimitBackend::Redis;
            config.rate_limit.redis_url = Some(RedisUrl::parse(&url).unwrap());
            configure(config);
        })
        .await;
        let second = gatekey_server::start(first.server.state.config.clone(), clock)
            .await
            .expect("the second replica starts");
        Self { first, second }
    }

    /// The base URLs of both replicas.
    fn urls(&self) -> [String; 2] {
        [
            self.first.base_url(),
            format!("http://{}", self.second.addr),
        ]
    }

    async fn stop(self) {
        let _ = self.second.shutdown().await;
        self.first.stop().await;
    }
}

/// `GET /api/v1/me` with `key` on each of `urls` in turn, `count` times at once; the statuses.
async fn me_at_once(urls: &[String], key: &str, count: usize) -> Vec<u16> {
    let http = reqwest::Client::new();
    let mut running = JoinSet::new();
    for n in 0..count {
        let request = http
            .get(format!("{}/api/v1/me", urls[n % urls.len()]))
            .bearer_auth(key);
        running.spawn(async move { request.send().await.expect("sent").status().as_u16() });
    }
    running.join_all().await
}

fn count(statuses: &[u16], status: u16) -> usize {
    statuses.iter().filter(|s| **s == status).count()
}

/// A new account's admin key.
async fn fresh_key(app: &TestApp, slug: &str) -> String {
    let account = app.account(slug).await;
    let admin = app
        .person(&account, &format!("admin@{slug}.test"), Role::Admin)
        .await;
    app.key(&admin, None).await
}

/// One sign-in with a wrong password for `email` at `url`; the status.
async fn wrong_sign_in(app: &TestApp, url: &str, email: &str) -> u16 {
    let (cookie, token) = login_form(app).await;
    app.http
        .post(format!("{url}/login"))
        .header(COOKIE, format!("gatekey_login_csrf={cookie}"))
        .form(&[
            ("email", email),
            ("password", "not the password"),
            ("csrf_token", token.as_str()),
        ])
        .send()
        .await
        .expect("sent")
        .status()
        .as_u16()
}

/// The value of the series `name` on `/metrics` of `url`.
async fn metric(url: &str, name: &str) -> Option<f64> {
    let text = reqwest::get(format!("{url}/metrics"))
        .await
        .expect("metrics")
        .text()
        .await
        .expect("text");
    text.lines()
        .find_map(|line| line.strip_prefix(name)?.strip_prefix(' ')?.parse().ok())
}

#[tokio::test]
async fn an_account_gets_its_limit_in_total_across_replicas() {
    if !redis_available() {
        return;
    }
    let redis = RedisServer::start().await;
    let replicas = Replicas::start(&redis, |config| {
        config.rate_limit.per_minute = 50;
        config.rate_limit.per_second = 0;
    })
    .await;
    seed(&replicas.first).await;
    let key = fresh_key(&replicas.first, "limited").await;

    // 150 requests at once over both replicas: exactly 50 pass, however they interleave.
    let statuses = me_at_once(&replicas.urls(), &key, 150).await;
    assert_eq!(count(&statuses, 200), 50, "{statuses:?}");
    assert_eq!(count(&statuses, 429), 100, "{statuses:?}");

    // Another account has its own budget.
    let other = fresh_key(&replicas.first, "other-limited").await;
    let statuses = me_at_once(&replicas.urls(), &other, 10).await;
    assert_eq!(count(&statuses, 200), 10, "{statuses:?}");
    replicas.stop().await;
}

#[tokio::test]
async fn a_keys_own_limit_holds_in_total_across_replicas() {
    if !redis_available() {
        return;
    }
    let redis = RedisServer::start().await;
    let replicas = Replicas::start(&redis, |config| {
        config.rate_limit.per_minute = 0;
        config.rate_limit.per_second = 0;
    })
    .await;
    let seeded = seed(&replicas.first).await;
    let usage = gatekey_core::api_key_usage::KeyUsageSettings {
        limits: gatekey_core::api_key_usage::KeyLimits {
            per_hour: Some(30),
            ..Default::default()
        },
        ..Default::default()
    };
    let key = replicas.first.metered_key(&seeded.owner, usage).await;
    let statuses = me_at_once(&replicas.urls(), &key, 90).await;
    assert_eq!(count(&statuses, 200), 30, "{statuses:?}");
    assert_eq!(count(&statuses, 429), 60, "{statuses:?}");
    replicas.stop().await;
}

#[tokio::test]
async fn wrong_passwords_count_toward_one_budget_on_every_replica() {
    if !redis_available() {
        return;
    }
    let redis = RedisServer::start().await;
    let replicas = Replicas::start(&redis, |config| {
        config.login.max_failures_per_email = 4;
        config.login.max_failures_per_ip = 100;
    })
    .await;
    let app = &replicas.first;
    seed(app).await;
    let urls = replicas.urls();
    let mut statuses = Vec::new();
    for n in 0..8 {
        statuses.push(wrong_sign_in(app, &urls[n % 2], "owner@acme.test").await);
    }
    assert_eq!(
        statuses,
        [401, 401, 401, 401, 429, 429, 429, 429],
        "four wrong passwords in all, then both replicas refuse"
    );
    // The right password waits too, on either replica: the budget is spent.
    let (cookie, token) = login_form(app).await;
    let right = app
        .http
        .post(format!("{}/login", urls[1]))
        .header(COOKIE, format!("gatekey_login_csrf={cookie}"))
        .form(&[
            ("email", "owner@acme.test"),
            ("password", PASSWORD),
            ("csrf_token", token.as_str()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(right.status(), 429);
    replicas.stop().await;
}

#[tokio::test]
async fn without_redis_each_replica_counts_alone_until_redis_is_back() {
    if !redis_available() {
        return;
    }
    let mut redis = RedisServer::start().await;
    let replicas = Replicas::start(&redis, |config| {
        config.rate_limit.per_minute = 5;
        config.rate_limit.per_second = 0;
        config.login.max_failures_per_email = 3;
    })
    .await;
    let app = &replicas.first;
    seed(app).await;
    let urls = replicas.urls();
    assert_eq!(
        metric(&urls[0], "gatekey_shared_limits_up").await,
        Some(1.0)
    );

    redis.stop();
    let key = fresh_key(app, "outage").await;
    for url in &urls {
        let statuses = me_at_once(std::slice::from_ref(url), &key, 8).await;
        assert_eq!(
            count(&statuses, 200),
            5,
            "{url} counts the account's limit on its own: {statuses:?}"
        );
        assert_eq!(count(&statuses, 429), 3, "{statuses:?}");
    }
    let mut wrong = Vec::new();
    for _ in 0..4 {
        wrong.push(wrong_sign_in(app, &urls[0], "owner@acme.test").await);
    }
    assert_eq!(
        wrong,
        [401, 401, 401, 429],
        "the sign-in throttle still holds, per replica"
    );
    for url in &urls {
        assert_eq!(metric(url, "gatekey_shared_limits_up").await, Some(0.0));
        let fallbacks = metric(url, "gatekey_shared_limits_fallbacks_total").await;
        assert!(fallbacks.is_some_and(|n| n >= 5.0), "{url}: {fallbacks:?}");
    }

    // Back: within a few seconds, one probe finds it and the count is shared again.
    redis.resume().await;
    let back = Instant::now();
    let probe = fresh_key(app, "probe").await;
    loop {
        me_at_once(&urls, &probe, 2).await;
        let up = [
            metric(&urls[0], "gatekey_shared_limits_up").await,
            metric(&urls[1], "gatekey_shared_limits_up").await,
        ];
        if up == [Some(1.0), Some(1.0)] {
            break;
        }
        assert!(back.elapsed() < Duration::from_secs(5), "still {up:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    eprintln!("shared again {:?} after Redis returned", back.elapsed());
    let key = fresh_key(app, "after").await;
    let statuses = me_at_once(&urls, &key, 12).await;
    assert_eq!(count(&statuses, 200), 5, "{statuses:?}");
    replicas.stop().await;
}

#[tokio::test]
async fn a_replica_does_not_start_without_the_redis_it_was_told_to_use() {
    if !redis_available() {
        return;
    }
    let mut redis = RedisServer::start().await;
    let url = redis.url();
    redis.stop();
    let db = gatekey_store::testing::TestDatabase::create(Backend::Sqlite).await;
    let mut config = gatekey_server::testing::test_config(&db.url);
    config.rate_limit.backend = LimitBackend::Redis;
    config.rate_limit.redis_url = Some(RedisUrl::parse(&url.replace("//", "//:secret@")).unwrap());
    let started = Instant::now();
    let Err(error) = gatekey_server::start(config, Arc::new(gatekey_core::SystemClock)).await
    else {
        panic!("no server without its Redis");
    };
    let error = error.to_string();
    assert!(error.contains("cannot reach Redis"), "{error}");
    assert!(!error.contains("secret"), "the password stays out: {error}");
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
    db.drop_database().await;
}
