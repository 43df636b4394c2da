//! Where a key was last used (its client address, by the same rules as the audit log's) and
//! which keys expire soon (`?expiring_within=`), over HTTP.

use gatekey_core::role::Role;
use reqwest::Method;
use serde_json::{json, Value};

use crate::harness::{assert_error, each_backend, seed, send, TestApp};

/// The ids of the keys `path` lists for `key`.
async fn listed_ids(app: &TestApp, key: &str, path: &str) -> Vec<i64> {
    let answer = send(app.request(Method::GET, path, key)).await;
    assert_eq!(answer.0, 200, "{path}: {}", answer.2);
    let keys = answer.2["api_keys"].as_array().expect("a list");
    assert_eq!(answer.2["pagination"]["total_records"], keys.len());
    keys.iter().map(|k| k["id"].as_i64().unwrap()).collect()
}

/// The key `id` as `GET /api/v1/api_keys` shows it to `key`.
async fn listed(app: &TestApp, key: &str, id: i64) -> Value {
    let answer = send(app.request(Method::GET, "/api/v1/api_keys", key)).await;
    let keys = answer.2["api_keys"].as_array().expect("a list").clone();
    keys.into_iter().find(|k| k["id"] == id).expect("listed")
}

#[tokio::test]
async fn a_key_shows_the_address_it_was_last_used_from() {
    each_backend(|backend| async move {
        let app = TestApp::start_with(backend, |config| {
            config.http.trust_forwarded_for = true;
        })
        .await;
        let seeded = seed(&app).await;
        let key = app.key(&seeded.owner, None).await;
        let id = app.key_id(&key).await;
        let lister = app.key(&seeded.owner, None).await;
        assert_eq!(listed(&app, &lister, id).await["last_used_ip"], "127.0.0.1");

        // Behind a trusted proxy, the address the proxy added counts, not what the client
        // wrote to its left.
        let behind_proxy = app
            .request(Method::GET, "/api/v1/me", &key)
            .header("x-forwarded-for", "6.6.6.6, 203.0.113.9");
        assert_eq!(send(behind_proxy).await.0, 200);
        let shown = listed(&app, &lister, id).await;
        assert_eq!(shown["last_used_ip"], "203.0.113.9", "{shown}");
        assert!(shown["last_used_at"].is_string());
        app.stop().await;
    })
    .await;
}

#[tokio::test]
async fn keys_expiring_within_a_window_are_listed() {
    each_backend(|backend| async move {
        let (app, seeded) = TestApp::start_seeded(backend).await;
        let owner = app.key(&seeded.owner, None).await;
        let create = |name: &str, expires_in: Option<i64>| {
            let mut body = json!({"name": name});
            if let Some(seconds) = expires_in {
                body["expires_in"] = json!(seconds);
            }
            app.create("/api/v1/api_keys", &owner, body)
        };
        let day = 86_400;
        let soon = create("soon", Some(2 * day)).await["id"].as_i64().unwrap();
        let _later = create("later", Some(30 * day)).await;
        let _never = create("never", None).await;
        let revoked = create("revoked", Some(day)).await["id"].as_i64().unwrap();
        let path = format!("/api/v1/api_keys/{revoked}");
        assert_eq!(
            send(app.request(Method::DELETE, &path, &owner)).await.0,
            204
        );

        let mine = "/api/v1/api_keys";
        assert_eq!(
            listed_ids(&app, &owner, &format!("{mine}?expiring_within=7d")).await,
            [soon]
        );
        assert_eq!(
            listed_ids(
                &app,
                &owner,
                &format!("{mine}?expiring_within=49h&per_page=1")
            )
            .await,
            [soon]
        );
        assert!(
            listed_ids(&app, &owner, &format!("{mine}?expiring_within=47h"))
                .await
                .is_empty()
        );
        assert_eq!(
            listed_ids(&app, &owner, mine).await.len(),
            5,
            "without it, every key"
        );
        for bad in [
            "7",
            "7w",
            "-1d",
            "1.5d",
            "3651d",
            "",
            "99999999999999999999d",
        ] {
            let answer = send(app.request(
                Method::GET,
                &format!("{mine}?expiring_within={bad}"),
                &owner,
            ))
            .await;
            assert_error(&answer, 400, "invalid_request");
        }

        // An admin's view of a service account's keys takes the same window.
        let robot = app
            .service_account(&seeded.acme, "robot", Role::Member)
            .await;
        let users = format!("/api/v1/users/{}/api_keys", robot.user.id);
        let robots = app
            .create(&users, &owner, json!({"name": "robot", "expires_in": 3600}))
            .await["id"]
            .as_i64()
            .unwrap();
        app.create(&users, &owner, json!({"name": "lasting"})).await;
        assert_eq!(
            listed_ids(&app, &owner, &format!("{users}?expiring_within=90m")).await,
            [robots]
        );
        let bad = send(app.request(
            Method::GET,
            &format!("{users}?expiring_within=soon"),
            &owner,
        ))
        .await;
        assert_error(&bad, 400, "invalid_request");
        app.stop().await;
    })
    .await;
}
