//! Signing keys as a verifier sees them: the JWKS at `/oauth/jwks`, named by the metadata's
//! `jwks_uri`, served from memory with a cache lifetime shorter than a new key's publication
//! ahead of signing; rotation on schedule adds the next keys before they sign and drops the old
//! ones once their tokens have expired; a key-encryption key that does not open the stored keys
//! stops the start.

use std::sync::Arc;

use gatekey_core::oauth::signing_key_material::KeyEncryptionKey;
use gatekey_core::SystemClock;
use gatekey_server::signing::refresh_signing_keys;
use gatekey_server::testing::{each_backend, test_config, TestApp};
use gatekey_store::testing::TestDatabase;
use serde_json::Value;
use time::Duration;

async fn jwks(app: &TestApp) -> (String, Vec<Value>) {
    let answer = app
        .http
        .get(app.url("/oauth/jwks"))
        .send()
        .await
        .expect("jwks");
    assert_eq!(answer.status(), 200);
    let cache = answer
        .headers()
        .get("cache-control")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let body: Value = answer.json().await.expect("json");
    (cache, body["keys"].as_array().cloned().unwrap_or_default())
}

fn algorithms(keys: &[Value]) -> Vec<String> {
    let mut found: Vec<String> = keys
        .iter()
        .map(|key| key["alg"].as_str().unwrap_or_default().to_owned())
        .collect();
    found.sort();
    found
}

#[tokio::test]
async fn the_metadata_names_a_jwks_with_one_key_per_algorithm() {
    each_backend(|backend| async move {
        let app = TestApp::start(backend).await;
        let metadata: Value = app
            .http
            .get(app.url("/.well-known/oauth-authorization-server"))
            .send()
            .await
            .expect("metadata")
            .json()
            .await
            .expect("json");
        assert_eq!(metadata["jwks_uri"], app.url("/oauth/jwks"));

        let (cache, keys) = jwks(&app).await;
        assert_eq!(cache, "public, max-age=3600");
        assert_eq!(algorithms(&keys), ["ES256", "EdDSA", "RS256"]);
        for key in &keys {
            assert_eq!(key["use"], "sig");
            assert!(
                key["kid"].as_str().is_some_and(|kid| kid.len() == 43),
                "{key}"
            );
            for private in ["d", "p", "q", "dp", "dq", "qi"] {
                assert!(key.get(private).is_none(), "no private member: {key}");
            }
        }
        app.stop().await;
    })
    .await;
}

#[tokio::test]
async fn the_jwks_is_served_from_memory_without_reading_the_database() {
    each_backend(|backend| async move {
        let app = TestApp::start(backend).await;
        let database = app.second_connection().await;
        sqlx::query("DELETE FROM signing_keys")
            .execute(&database)
            .await
            .expect("deleted");
        database.close().await;
        let (_, keys) = jwks(&app).await;
        assert_eq!(algorithms(&keys), ["ES256", "EdDSA", "RS256"]);
        app.stop().await;
    })
    .await;
}

#[tokio::test]
async fn scheduled_rotation_publishes_the_next_keys_ahead_and_retires_the_old_ones() {
    each_backend(|backend| async move {
        let (app, clock) = TestApp::start_with_manual_clock(backend, |_| {}).await;
        let state = &app.server.state;
        let (_, first) = jwks(&app).await;
        let first_kids: Vec<Value> = first.iter().map(|key| key["kid"].clone()).collect();

        // 29 days on: rotation is due (30 days less the day of publication ahead).
        clock.advance(Duration::days(29));
        refresh_signing_keys(state).await.expect("refresh");
        let (_, during) = jwks(&app).await;
        assert_eq!(
            algorithms(&during),
            ["ES256", "ES256", "EdDSA", "EdDSA", "RS256", "RS256"]
        );

        // A day later the new keys sign; the old stay published for the access token lifetime.
        clock.advance(Duration::days(1));
        refresh_signing_keys(state).await.expect("refresh");
        assert_eq!(jwks(&app).await.1.len(), 6);
        clock.advance(Duration::hours(1));
        refresh_signing_keys(state).await.expect("refresh");
        let (_, after) = jwks(&app).await;
        assert_eq!(algorithms(&after), ["ES256", "EdDSA", "RS256"]);
        assert!(after.iter().all(|key| !first_kids.contains(&key["kid"])));
        app.stop().await;
    })
    .await;
}

#[tokio::test]
async fn a_key_encryption_key_that_does_not_open_the_stored_keys_stops_the_start() {
    each_backend(|backend| async move {
        let db = TestDatabase::create(backend).await;
        let config = test_config(&db.url);
        let first = gatekey_server::start(config.clone(), Arc::new(SystemClock))
            .await
            .expect("first start");
        first.shutdown().await.expect("stopped");

        let mut other = config;
        other.signing.key_encryption_key = Some(KeyEncryptionKey::generate().to_base64());
        let message = match gatekey_server::start(other, Arc::new(SystemClock)).await {
            Ok(_) => panic!("a server started with a key-encryption key that opens nothing"),
            Err(error) => error.to_string(),
        };
        assert!(
            message.contains("key-encryption key does not decrypt signing key"),
            "{message}"
        );
        db.drop_database().await;
    })
    .await;
}

#[tokio::test]
async fn on_sqlite_a_lost_key_file_stops_the_start_and_no_new_file_is_left() {
    let db = TestDatabase::create(gatekey_store::Backend::Sqlite).await;
    let mut config = test_config(&db.url);
    config.signing.key_encryption_key = None;
    let first = gatekey_server::start(config.clone(), Arc::new(SystemClock))
        .await
        .expect("first start makes a key file");
    let folder = first.state.store.data_folder().expect("sqlite folder");
    first.shutdown().await.expect("stopped");
    let file = folder.join(gatekey_server::signing::kek::GENERATED_KEK_FILE);
    assert!(file.is_file(), "made beside the database");

    std::fs::remove_file(&file).expect("lost");
    let message = match gatekey_server::start(config.clone(), Arc::new(SystemClock)).await {
        Ok(_) => panic!("started with keys it cannot open"),
        Err(error) => error.to_string(),
    };
    assert!(
        message.contains("does not decrypt signing key"),
        "{message}"
    );
    assert!(!file.exists(), "no wrong key file is left behind");
    db.drop_database().await;
}
