//! Service accounts over the API: created by an admin, given keys, disabled.

use reqwest::Method;
use serde_json::json;

use crate::harness::{assert_error, each_backend, send, TestApp};

#[tokio::test]
async fn create_key_and_disable_a_service_account() {
    each_backend(|backend| async move {
        let (app, seeded) = TestApp::start_seeded(backend).await;
        let admin_key = app.key(&seeded.owner, None).await;

        let created = app
            .send_json(
                Method::POST,
                "/api/v1/service_accounts",
                &admin_key,
                json!({"name": "Nightly sync"}),
            )
            .await;
        assert_eq!(created.0, 201, "{}", created.2);
        assert_eq!(
            (created.2["kind"].as_str(), created.2["role"].as_str()),
            (Some("service"), Some("member"))
        );
        let id = created.2["id"].as_i64().unwrap();
        assert!(created.2["email"]
            .as_str()
            .unwrap()
            .ends_with("@acme.service.invalid"));

        let key = send(
            app.request(
                Method::POST,
                &format!("/api/v1/users/{id}/api_keys"),
                &admin_key,
            )
            .json(&json!({"name": "sync"})),
        )
        .await;
        assert_eq!(key.0, 201, "{}", key.2);
        assert_eq!(
            key.2["scopes"],
            json!(["read", "write"]),
            "limited by the service account's role"
        );
        let secret = key.2["secret"].as_str().unwrap().to_owned();
        let me = send(app.request(Method::GET, "/api/v1/me", &secret)).await;
        assert_eq!(
            (me.2["user"]["kind"].as_str(), me.2["user"]["id"].as_i64()),
            (Some("service"), Some(id))
        );

        let listed = send(app.request(Method::GET, "/api/v1/service_accounts", &admin_key)).await;
        assert_eq!(listed.2["service_accounts"].as_array().unwrap().len(), 1);
        assert_eq!(listed.2["pagination"]["total_records"], 1);

        let person_id = seeded.owner.user.id;
        let not_service = send(app.request(
            Method::DELETE,
            &format!("/api/v1/service_accounts/{person_id}"),
            &admin_key,
        ))
        .await;
        assert_error(&not_service, 404, "not_found");
        let disabled = send(app.request(
            Method::DELETE,
            &format!("/api/v1/service_accounts/{id}"),
            &admin_key,
        ))
        .await;
        assert_eq!(disabled.0, 204);
        assert_error(
            &send(app.request(Method::GET, "/api/v1/me", &secret)).await,
            401,
            "invalid_token",
        );

        let actions = app.audit_actions(&admin_key).await;
        assert_eq!(
            &actions[..3],
            [
                "user.disabled",
                "api_key.created",
                "service_account.created"
            ]
        );
        app.stop().await;
    })
    .await;
}
