//! The server's own upkeep of its signing keys: the keys it makes at start and by schedule, and
//! those it retires, are audited as the server's; its retention purge deletes the keys retired
//! longer than `retention.retired_signing_key_days`, never one still in the JWKS, and the JWKS
//! and signing are unchanged by it.

use gatekey_core::oauth::signing_key_store::SigningKeyStore;
use gatekey_server::signing::{purge_retired_signing_keys, refresh_signing_keys};
use gatekey_server::testing::{each_backend, TestApp};
use serde_json::Value;
use sqlx::any::AnyPoolOptions;
use time::Duration;

async fn jwks_kids(app: &TestApp) -> Vec<String> {
    let body: Value = app
        .http
        .get(app.url("/oauth/jwks"))
        .send()
        .await
        .expect("jwks")
        .json()
        .await
        .expect("json");
    let mut kids: Vec<String> = body["keys"]
        .as_array()
        .expect("keys")
        .iter()
        .map(|key| key["kid"].as_str().expect("kid").to_owned())
        .collect();
    kids.sort();
    kids
}

/// `(action, credential type)` of each signing key event, with how many.
async fn key_events(app: &TestApp) -> Vec<(String, String, i64)> {
    let pool = AnyPoolOptions::new()
        .max_connections(1)
        .connect(app.store().url())
        .await
        .expect("a second connection to the database");
    let rows: Vec<(String, String, i64)> = sqlx::query_as(
        "SELECT action, credential_type, CAST(COUNT(*) AS BIGINT) FROM audit_events \
         WHERE target_type = 'signing_key' GROUP BY action, credential_type \
         ORDER BY action, credential_type",
    )
    .fetch_all(&pool)
    .await
    .expect("events");
    pool.close().await;
    rows
}

fn count(action: &str, credential: &str, n: i64) -> (String, String, i64) {
    (action.into(), credential.into(), n)
}

#[tokio::test]
async fn the_retention_purge_deletes_keys_retired_long_ago_and_nothing_in_the_jwks() {
    each_backend(|backend| async move {
        let (app, clock) = TestApp::start_with_manual_clock(backend, |_| {}).await;
        let state = &app.server.state;
        // Rotate, let the new keys sign, and retire the old ones.
        clock.advance(Duration::days(29));
        refresh_signing_keys(state).await.expect("refresh");
        clock.advance(Duration::days(1) + Duration::hours(1));
        refresh_signing_keys(state).await.expect("refresh");
        let published = jwks_kids(&app).await;
        assert_eq!(published.len(), 3);
        assert_eq!(app.store().signing_keys().await.expect("keys").len(), 6);
        assert_eq!(
            key_events(&app).await,
            [
                count("signing_key.created", "server", 6),
                count("signing_key.retired", "server", 3)
            ]
        );

        // Retired a day ago: kept (30 days by default).
        clock.advance(Duration::days(1));
        let none = purge_retired_signing_keys(state).await.expect("purge");
        assert!(none.is_empty());

        clock.advance(Duration::days(30));
        let purged = purge_retired_signing_keys(state).await.expect("purge");
        assert_eq!(purged.len(), 3);
        let left: Vec<String> = {
            let mut kids: Vec<String> = app
                .store()
                .signing_keys()
                .await
                .expect("keys")
                .into_iter()
                .map(|key| key.schedule.kid)
                .collect();
            kids.sort();
            kids
        };
        assert_eq!(left, published, "only retired keys went");
        assert_eq!(jwks_kids(&app).await, published);
        assert_eq!(
            key_events(&app).await,
            [
                count("signing_key.created", "server", 6),
                count("signing_key.purged", "server", 3),
                count("signing_key.retired", "server", 3)
            ]
        );
        app.stop().await;
    })
    .await;
}

#[tokio::test]
async fn a_retention_of_zero_keeps_retired_keys() {
    each_backend(|backend| async move {
        let (app, clock) = TestApp::start_with_manual_clock(backend, |config| {
            config.retention.retired_signing_key_days = 0;
        })
        .await;
        let state = &app.server.state;
        clock.advance(Duration::days(29));
        refresh_signing_keys(state).await.expect("refresh");
        clock.advance(Duration::days(1) + Duration::hours(1));
        refresh_signing_keys(state).await.expect("refresh");
        clock.advance(Duration::days(3650));
        let purged = purge_retired_signing_keys(state).await.expect("purge");
        assert!(purged.is_empty());
        assert_eq!(app.store().signing_keys().await.expect("keys").len(), 6);
        app.stop().await;
    })
    .await;
}
