//! The audit log as an administrator reads it: who did what, with which credential, from where.

use gatekey_core::role::Role;
use reqwest::header::USER_AGENT;
use reqwest::Method;
use serde_json::json;

use crate::harness::{each_backend, send, TestApp};

const AGENT: &str = "audit-test/1.0 (integration)";

#[tokio::test]
async fn key_creation_and_revocation_are_recorded_newest_first() {
    each_backend(|backend| async move {
        let (app, seeded) = TestApp::start_seeded(backend).await;
        let owner_key = app.key(&seeded.owner, None).await;
        let owner_key_id = app.key_id(&owner_key).await;

        let created = send(
            app.request(Method::POST, "/api/v1/api_keys", &owner_key)
                .header(USER_AGENT, AGENT)
                .json(&json!({"name": "audited", "scopes": ["read"]})),
        )
        .await;
        assert_eq!(created.0, 201, "{}", created.2);
        let new_id = created.2["id"].as_i64().unwrap();
        let revoked = send(
            app.request(
                Method::DELETE,
                &format!("/api/v1/api_keys/{new_id}"),
                &owner_key,
            )
            .header(USER_AGENT, AGENT),
        )
        .await;
        assert_eq!(revoked.0, 204, "{}", revoked.2);

        let listed = send(app.request(Method::GET, "/api/v1/audits", &owner_key)).await;
        assert_eq!(listed.0, 200, "{}", listed.2);
        let audits = listed.2["audits"].as_array().expect("a list of audits");
        assert!(audits.len() >= 2, "{}", listed.2);
        for (event, action) in audits[..2]
            .iter()
            .zip(["api_key.revoked", "api_key.created"])
        {
            assert_eq!(event["action"], action, "newest first: {}", listed.2);
            assert_eq!(event["actor_user_id"], seeded.owner.user.id, "{event}");
            assert_eq!(event["actor_email"], "owner@acme.test", "{event}");
            assert_eq!(
                event["credential"],
                json!({"type": "api_key", "id": owner_key_id}),
                "{event}"
            );
            assert_eq!(event["target_type"], "api_key", "{event}");
            assert_eq!(event["target_id"], new_id.to_string(), "{event}");
            assert_eq!(event["ip"], "127.0.0.1", "{event}");
            assert_eq!(event["user_agent"], AGENT, "{event}");
            assert_eq!(event["outcome"], "success", "{event}");
            assert!(event["at"].is_string(), "{event}");
        }
        assert!(
            audits[0]["id"].as_i64() > audits[1]["id"].as_i64(),
            "ids grow with time: {}",
            listed.2
        );

        let total = listed.2["pagination"]["total_records"].as_u64().unwrap();
        assert_eq!(total, audits.len() as u64, "{}", listed.2);
        assert_eq!(
            listed.2["pagination"],
            json!({"total_records": total, "total_pages": 1, "current_page": 1})
        );
        let paged =
            send(app.request(Method::GET, "/api/v1/audits?per_page=1&page=2", &owner_key)).await;
        assert_eq!(paged.0, 200, "{}", paged.2);
        assert_eq!(paged.2["audits"].as_array().unwrap().len(), 1);
        assert_eq!(paged.2["audits"][0]["action"], "api_key.created");
        assert_eq!(
            paged.2["pagination"],
            json!({"total_records": total, "total_pages": total, "current_page": 2})
        );
        app.stop().await;
    })
    .await;
}

#[tokio::test]
async fn only_administrators_read_the_audit_log() {
    each_backend(|backend| async move {
        let (app, seeded) = TestApp::start_seeded(backend).await;
        let (_, member_key) = app
            .person_with_key(&seeded.acme, "member@acme.test", Role::Member)
            .await;
        let refused = send(app.request(Method::GET, "/api/v1/audits", &member_key)).await;
        assert_eq!(refused.0, 403, "{}", refused.2);
        assert!(refused.2["error"].is_string(), "{}", refused.2);
        assert!(refused.2.get("audits").is_none());

        let owner_read_only = app.key(&seeded.owner, Some("read")).await;
        let narrow = send(app.request(Method::GET, "/api/v1/audits", &owner_read_only)).await;
        assert_eq!(narrow.0, 403, "the admin scope is needed too: {}", narrow.2);
        assert_eq!(narrow.2["error"], "insufficient_scope");

        let (_, admin_key) = app
            .person_with_key(&seeded.acme, "admin@acme.test", Role::Admin)
            .await;
        let allowed = send(app.request(Method::GET, "/api/v1/audits", &admin_key)).await;
        assert_eq!(allowed.0, 200, "{}", allowed.2);
        app.stop().await;
    })
    .await;
}
