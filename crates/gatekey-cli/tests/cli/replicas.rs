//! Two servers on one database: a revocation on one reaches the other's cache within a second.

use std::time::{Duration, Instant};

use gatekey_store::testing::{backends, TestDatabase};

use crate::process::{admin_json, seed_owner_key, Server};

/// Polls `url` with `key` until it is refused; returns how long that took.
async fn time_until_refused(
    http: &reqwest::Client,
    url: &str,
    key: &str,
    started: Instant,
) -> Duration {
    loop {
        let status = http
            .get(format!("{url}/api/v1/me"))
            .bearer_auth(key)
            .send()
            .await
            .unwrap()
            .status();
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
        let created: serde_json::Value = http
            .post(format!("{}/api/v1/api_keys", a.url))
            .bearer_auth(&owner_key)
            .json(&serde_json::json!({"name": "replicated"}))
            .send()
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
            let status = http
                .get(format!("{}/api/v1/me", server.url))
                .bearer_auth(&secret)
                .send()
                .await
                .unwrap()
                .status();
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
        let on_a = http
            .get(format!("{}/api/v1/me", a.url))
            .bearer_auth(&secret)
            .send()
            .await
            .unwrap()
            .status();
        assert_eq!(on_a, 401, "revocation is immediate on the revoking server");
        let elapsed = time_until_refused(&http, &b.url, &secret, started).await;
        assert!(
            elapsed < Duration::from_secs(1),
            "{backend}: took {elapsed:?}"
        );

        // Revoked by an operator command, which no server sees directly.
        let key = admin_json(
            &db.url,
            &[
                "api-key",
                "create",
                "--email",
                "ada@acme.test",
                "--account",
                "acme",
                "--name",
                "op",
            ],
        );
        let secret = key["secret"].as_str().unwrap().to_owned();
        for server in [&a, &b] {
            let status = http
                .get(format!("{}/api/v1/me", server.url))
                .bearer_auth(&secret)
                .send()
                .await
                .unwrap()
                .status();
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
