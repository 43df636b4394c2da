//! A database outage is answered at once: once the server knows PostgreSQL is down, requests
//! that need it get `503` with `Retry-After` without waiting for a connection, cached
//! credentials keep working, `/readyz` says so within a second, and the first request after the
//! database returns is served within a second. The outage is a proxy between the server and
//! PostgreSQL that the test cuts and restores.
//!
//! SQLite has no such outage: the database is a file in the process, and a failing query fails
//! on its own, at once. These tests run on PostgreSQL only.

use std::sync::Arc;
use std::time::Duration;

use gatekey_store::Backend;
use reqwest::Method;
use tokio::time::Instant;

use crate::harness::{assert_error, seed, send, DatabaseProxy, TestApp};

/// Whether the PostgreSQL tests are configured; SQLite has nothing to cut.
pub fn postgres_configured() -> bool {
    let configured = gatekey_store::testing::backends().contains(&Backend::Postgres);
    if !configured {
        eprintln!("database outages are tested on PostgreSQL only; it is not configured");
    }
    configured
}

/// An app on PostgreSQL behind a proxy the test controls.
pub struct BehindProxy {
    /// The app, whose database connections all go through the proxy.
    pub app: TestApp,
    /// The proxy.
    pub proxy: Arc<DatabaseProxy>,
    /// The app's database, reached directly: another replica's or an operator's way in.
    pub direct_url: String,
}

/// Starts the app on PostgreSQL through a proxy the test controls.
pub async fn start_behind_proxy(
    configure: impl FnOnce(&mut gatekey_server::Config),
) -> BehindProxy {
    let url = std::env::var(gatekey_store::testing::POSTGRES_URL_VAR).expect("PostgreSQL");
    let proxy = DatabaseProxy::start(&url).await;
    let mut direct_url = String::new();
    let app = TestApp::start_with(Backend::Postgres, |config| {
        direct_url.clone_from(&config.database_url);
        config.database_url = proxy.route(&config.database_url);
        configure(config);
    })
    .await;
    BehindProxy {
        app,
        proxy,
        direct_url,
    }
}

/// Asks `path` (with `key`, unless empty) until it answers `status`; how long that took, or
/// `None` after 10 seconds.
pub async fn time_until(app: &TestApp, path: &str, key: &str, status: u16) -> Option<Duration> {
    let started = Instant::now();
    while started.elapsed() < Duration::from_secs(10) {
        let request = match key {
            "" => app.http.get(app.url(path)),
            key => app.request(Method::GET, path, key),
        };
        let answer = request.send().await.expect("sent");
        if answer.status().as_u16() == status {
            return Some(started.elapsed());
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    None
}

fn median(mut times: Vec<Duration>) -> Duration {
    times.sort();
    times[times.len() / 2]
}

#[tokio::test]
async fn an_outage_is_answered_at_once_and_recovery_is_quick() {
    if !postgres_configured() {
        return;
    }
    let BehindProxy { app, proxy, .. } = start_behind_proxy(|_| {}).await;
    let seeded = seed(&app).await;
    let cached = app.key(&seeded.owner, None).await;

    let (mut unready, mut refused, mut recovered) = (Vec::new(), Vec::new(), Vec::new());
    for outage in 0..5 {
        let uncached = app.key(&seeded.owner, None).await;
        let status = send(app.request(Method::GET, "/api/v1/me", &cached))
            .await
            .0;
        assert_eq!(status, 200, "the key works and is cached");
        proxy.cut();
        let took = time_until(&app, "/readyz", "", 503).await;
        unready.push(took.expect("/readyz fails during the outage"));

        for _ in 0..5 {
            let started = Instant::now();
            let answer = send(app.request(Method::GET, "/api/v1/me", &uncached)).await;
            refused.push(started.elapsed());
            assert_error(&answer, 503, "temporarily_unavailable");
            assert_eq!(
                answer.1.get("retry-after").map(|v| v.as_bytes()),
                Some(&b"1"[..])
            );
        }
        let create = app
            .send_json(
                Method::POST,
                "/api/v1/api_keys",
                &cached,
                serde_json::json!({"name": format!("outage {outage}")}),
            )
            .await;
        assert_error(&create, 503, "temporarily_unavailable");
        assert_eq!(
            send(app.request(Method::GET, "/api/v1/me", &cached))
                .await
                .0,
            200,
            "a cached credential keeps working"
        );

        proxy.restore().await;
        let took = time_until(&app, "/api/v1/me", &uncached, 200).await;
        recovered.push(took.expect("served again once the database is back"));
        let ready = time_until(&app, "/readyz", "", 200).await;
        assert!(
            ready.is_some_and(|t| t < Duration::from_secs(1)),
            "ready again within a second: {ready:?}"
        );
    }
    let slowest = refused.iter().max().copied().unwrap_or_default();
    assert!(
        slowest < Duration::from_secs(1),
        "the slowest 503 took {slowest:?}"
    );
    let (unready, refused, recovered) = (median(unready), median(refused), median(recovered));
    eprintln!(
        "median over 5 outages: /readyz 503 after {unready:?}, 503 answered in {refused:?}, \
         first 200 after the return in {recovered:?}"
    );
    assert!(
        unready < Duration::from_secs(1),
        "/readyz failed after {unready:?}"
    );
    assert!(refused < Duration::from_millis(100), "503 took {refused:?}");
    assert!(
        recovered < Duration::from_secs(1),
        "recovery took {recovered:?}"
    );
    app.stop().await;
}
