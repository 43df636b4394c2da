//! Two servers on one database: a revocation on one reaches the other's cache within a second.

use std::time::{Duration, Instant};

use gatekey_store::testing::{backends, TestDatabase};

use crate::fixtures::{create_api_key, seed_owner_key};
use crate::process::{admin_json, Server};
use crate::web::{me_status, post_json};

/// Polls `url` with `key` until it is refused; returns how long that took.
async fn time_until_refused(
    http: &reqwest::Client,
    url: &str,
    key: &str,
    started: Instant,
) -> Duration {
    loop {
        let status = me_status(http, url, key).await;
        if status == 401 {
            return started.elapsed();
        }
        assert_eq!(status, 200);
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "revocation never reached the other server"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[tokio::test]
async fn revocation_reaches_the_other_replica_within_a_second() {
    for backend in backends() {
        let db = TestDatabase::create(backend).await;
        let owner_key = seed_owner_key(&db.url);
        // Without invalidation, the cached key would stay valid for a minute.
        let envs = [
            ("GATEKEY_CACHE__CREDENTIAL_TTL", "60"),
            ("GATEKEY_CACHE__INVALIDATION_POLL_MS", "250"),
        ];
        let a = Server::start(&db.url, &envs);
        let b = Server::start(&db.url, &envs);
        let http = reqwest::Client::new();

        // Revoked over HTTP on server A.
        let body = serde_json::json!({"name": "replicated"});
        let created: serde_json::Value =
            post_json(&http, &a.url, "/api/v1/api_keys", &owner_key, &body)
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
        let (id, secret) = (
            created["id"].as_i64().unwrap(),
            created["secret"].as_str().unwrap().to_owned(),
        );
        for server in [&a, &b] {
            let status = me_status(&http, &server.url, &secret).await;
            assert_eq!(
                status, 200,
                "the key works and is now cached on {}",
                server.url
            );
        }
        let started = Instant::now();
        let revoked = http
            .delete(format!("{}/api/v1/api_keys/{id}", a.url))
            .bearer_auth(&owner_key)
            .send()
            .await
            .unwrap();
        assert_eq!(revoked.status(), 204);
        let on_a = me_status(&http, &a.url, &secret).await;
        assert_eq!(on_a, 401, "revocation is immediate on the revoking server");
        let elapsed = time_until_refused(&http, &b.url, &secret, started).await;
        assert!(
            elapsed < Duration::from_secs(1),
            "{backend}: took {elapsed:?}"
        );

        // Revoked by an operator command, which no server sees directly.
        let key = create_api_key(&db.url, ["--email", "ada@acme.test"], "acme", "op", &[]);
        let secret = key["secret"].as_str().unwrap().to_owned();
        for server in [&a, &b] {
            let status = me_status(&http, &server.url, &secret).await;
            assert_eq!(status, 200);
        }
        let started = Instant::now();
        admin_json(&db.url, &["api-key", "revoke", &key["id"].to_string()]);
        for server in [&a, &b] {
            let elapsed = time_until_refused(&http, &server.url, &secret, started).await;
            assert!(
                elapsed < Duration::from_secs(1),
                "{backend}: operator revocation took {elapsed:?}"
            );
        }
        drop((a, b));
        db.drop_database().await;
    }
}
