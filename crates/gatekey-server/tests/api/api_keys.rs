//! The API key lifecycle over HTTP: create, use, last use recorded, revoke, refused.

use reqwest::Method;
use serde_json::json;

use crate::harness::{assert_error, each_backend, send, TestApp};

#[tokio::test]
async fn create_use_record_and_revoke() {
    each_backend(|backend| async move {
        let (app, seeded) = TestApp::start_seeded(backend).await;
        let bootstrap_key = app.key(&seeded.owner, None).await;

        let created = app
            .send_json(
                Method::POST,
                "/api/v1/api_keys",
                &bootstrap_key,
                json!({"name": "reporting", "scopes": ["read"], "expires_in": 3600}),
            )
            .await;
        assert_eq!(created.0, 201, "{}", created.2);
        let secret = created.2["secret"]
            .as_str()
            .expect("secret shown once")
            .to_owned();
        let id = created.2["id"].as_i64().expect("id");
        assert!(secret.starts_with("gk_key_"));
        assert_eq!(created.2["scopes"], json!(["read"]));
        assert!(created.2["expires_at"].is_string());
        assert!(secret.starts_with(created.2["prefix"].as_str().unwrap()));

        let me = send(app.request(Method::GET, "/api/v1/me", &secret)).await;
        assert_eq!(me.0, 200, "{}", me.2);
        assert_eq!(me.2["user"]["email"], "owner@acme.test");
        assert_eq!(me.2["account"]["slug"], "acme");
        assert_eq!(
            me.2["credential"],
            json!({"type": "api_key", "id": id, "expires_at": created.2["expires_at"]})
        );
        assert_eq!(me.2["scopes"], json!(["read"]));

        let listed = send(app.request(Method::GET, "/api/v1/api_keys", &secret)).await;
        assert_eq!(listed.0, 200);
        let mine = listed.2["api_keys"]
            .as_array()
            .unwrap()
            .iter()
            .find(|k| k["id"] == id)
            .cloned()
            .expect("listed");
        assert!(
            mine["last_used_at"].is_string(),
            "last_used_at set after use: {mine}"
        );
        assert!(mine.get("secret").is_none(), "a list never shows secrets");
        assert_eq!(
            listed.2["pagination"],
            json!({"total_records": 2, "total_pages": 1, "current_page": 1})
        );

        let revoked = send(app.request(
            Method::DELETE,
            &format!("/api/v1/api_keys/{id}"),
            &bootstrap_key,
        ))
        .await;
        assert_eq!(revoked.0, 204);
        let refused = send(app.request(Method::GET, "/api/v1/me", &secret)).await;
        assert_error(&refused, 401, "invalid_token");
        let challenge = refused.1["www-authenticate"].to_str().unwrap();
        assert!(
            challenge.starts_with("Bearer realm=\"gatekey\"")
                && challenge.contains("error=\"invalid_token\""),
            "{challenge}"
        );

        let after = send(app.request(Method::GET, "/api/v1/api_keys", &bootstrap_key)).await;
        let row = after.2["api_keys"]
            .as_array()
            .unwrap()
            .iter()
            .find(|k| k["id"] == id)
            .cloned()
            .unwrap();
        assert!(row["revoked_at"].is_string());
        app.stop().await;
    })
    .await;
}

#[tokio::test]
async fn missing_malformed_and_unknown_credentials() {
    each_backend(|backend| async move {
        let (app, seeded) = TestApp::start_seeded(backend).await;
        let key = app.key(&seeded.owner, None).await;

        let none = send(app.http.get(app.url("/api/v1/me"))).await;
        assert_eq!(none.0, 401);
        assert_eq!(none.1["www-authenticate"], "Bearer realm=\"gatekey\"");

        let last = if key.ends_with('x') { 'y' } else { 'x' };
        let typo = format!("{}{last}", &key[..key.len() - 1]);
        assert_error(
            &send(app.request(Method::GET, "/api/v1/me", &typo)).await,
            401,
            "invalid_token",
        );
        assert_error(
            &send(app.request(Method::GET, "/api/v1/me", "gk_key_nonsense")).await,
            401,
            "invalid_token",
        );
        let unknown = app
            .key(&seeded.owner, None)
            .await
            .replace("gk_key_", "gk_at_");
        assert_error(
            &send(app.request(Method::GET, "/api/v1/me", &unknown)).await,
            401,
            "invalid_token",
        );

        let in_query = send(
            app.http
                .get(app.url(&format!("/api/v1/me?access_token={key}"))),
        )
        .await;
        assert_error(&in_query, 400, "invalid_request");
        let in_query = send(app.http.get(app.url(&format!("/api/v1/me?api_key={key}")))).await;
        assert_error(&in_query, 400, "invalid_request");
        app.stop().await;
    })
    .await;
}
