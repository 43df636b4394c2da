//! `/readyz` fails when the server cannot hear of revocations: its database does not answer,
//! or its invalidation feed has not been read for longer than the bound.

use std::time::Duration as StdDuration;

use gatekey_server::config::ConfigError;
use gatekey_server::{Config, ConfigOverrides};
use time::Duration;

use crate::harness::{each_backend, eventually, send_text, TestApp};
use crate::operations_metrics::{scrape, storage_errors, unlabelled};
use crate::page_failures::break_table;

/// Whether the feed's poller has counted a failure.
async fn poll_failed(app: &TestApp) -> bool {
    storage_errors(&scrape(app).await, "invalidation_poll") >= Some(1.0)
}

#[tokio::test]
async fn a_stale_invalidation_feed_makes_the_server_unready() {
    each_backend(|backend| async move {
        let (app, clock) = TestApp::start_with_manual_clock(backend, |_| {}).await;
        let ready = send_text(app.http.get(app.url("/readyz"))).await;
        assert_eq!((ready.0, ready.2.trim()), (200, "ready"));

        // The feed's table goes away; the database itself still answers.
        break_table(&app, "invalidations").await;
        assert!(
            eventually(StdDuration::from_secs(5), || poll_failed(&app)).await,
            "the poller fails from now on"
        );
        let ready = send_text(app.http.get(app.url("/readyz"))).await;
        assert_eq!(
            ready.0, 200,
            "within the bound (10 s by default) the server stays ready: {}",
            ready.2
        );

        clock.advance(Duration::seconds(11));
        let (status, _, body) = send_text(app.http.get(app.url("/readyz"))).await;
        assert_eq!(status, 503, "{body}");
        assert_eq!(body.trim(), "invalidation feed stale: last read 11 s ago");
        let metrics = scrape(&app).await;
        let age = unlabelled(&metrics, "gatekey_invalidation_feed_age_seconds");
        assert!(age >= Some(11.0), "{metrics}");
        app.stop().await;
    })
    .await;
}

#[tokio::test]
async fn the_feeds_bound_can_be_configured() {
    each_backend(|backend| async move {
        let (app, clock) = TestApp::start_with_manual_clock(backend, |c| {
            c.operations.invalidation_feed_max_age_ms = Some(60_000);
        })
        .await;
        break_table(&app, "invalidations").await;
        assert!(eventually(StdDuration::from_secs(5), || poll_failed(&app)).await);
        clock.advance(Duration::seconds(59));
        assert_eq!(send_text(app.http.get(app.url("/readyz"))).await.0, 200);
        clock.advance(Duration::seconds(2));
        assert_eq!(send_text(app.http.get(app.url("/readyz"))).await.0, 503);
        app.stop().await;
    })
    .await;
}

/// Loads a configuration file holding `toml`, over the defaults.
pub(crate) fn load_config_file(name: &str, toml: &str) -> Result<Config, ConfigError> {
    let path = std::env::temp_dir().join(format!("gatekey-{name}-{}.toml", std::process::id()));
    std::fs::write(&path, toml).expect("config written");
    let loaded = Config::load(Some(&path), &ConfigOverrides::default());
    let _ = std::fs::remove_file(&path);
    loaded
}

#[test]
fn a_bound_within_one_poll_interval_is_refused() {
    let error = load_config_file(
        "feed-bound",
        "[cache]\ninvalidation_poll_ms = 1000\n[operations]\ninvalidation_feed_max_age_ms = 1000\n",
    )
    .expect_err("refused");
    assert!(
        error
            .to_string()
            .contains("operations.invalidation_feed_max_age_ms (1000) must be more than"),
        "{error}"
    );
}
