//! The rank rule holds for ending credentials as for creating them, and refused requests are
//! audited, at most once per caller per minute.

use gatekey_core::role::Role;
use reqwest::Method;
use serde_json::Value;

use crate::harness::{assert_error, each_backend, send, TestApp};

async fn refusals(app: &TestApp, key: &str) -> Vec<Value> {
    let answer = send(app.request(Method::GET, "/api/v1/audits?per_page=200", key)).await;
    assert_eq!(answer.0, 200, "{}", answer.2);
    answer.2["audits"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| a["action"] == "access.refused")
        .cloned()
        .collect()
}

#[tokio::test]
async fn an_admin_cannot_end_an_owners_credentials() {
    each_backend(|backend| async move {
        let (app, seeded, admin, member) = TestApp::start_with_team(backend).await;
        let owner_bot = app
            .service_account(&seeded.acme, "owner bot", Role::Owner)
            .await;
        let member_bot = app
            .service_account(&seeded.acme, "member bot", Role::Member)
            .await;
        let owner_key = app.key(&seeded.owner, None).await;
        let admin_key = app.key(&admin, None).await;
        let member_key = app.key(&member, None).await;
        let owner_bot_key = app.key(&owner_bot, None).await;
        let revoke = |key: &str, id: i64| {
            app.request(Method::DELETE, &format!("/api/v1/api_keys/{id}"), key)
        };
        let disable = |key: &str, id: i64| {
            app.request(
                Method::DELETE,
                &format!("/api/v1/service_accounts/{id}"),
                key,
            )
        };

        let owner_key_id = app.key_id(&owner_key).await;
        let refused = send(revoke(&admin_key, owner_key_id)).await;
        assert_error(&refused, 403, "forbidden");
        assert!(
            refused.2["error_description"]
                .as_str()
                .unwrap()
                .contains("ranks above yours"),
            "{}",
            refused.2
        );
        assert_eq!(
            send(app.request(Method::GET, "/api/v1/me", &owner_key))
                .await
                .0,
            200
        );
        let owner_bot_key_id = app.key_id(&owner_bot_key).await;
        assert_error(
            &send(revoke(&admin_key, owner_bot_key_id)).await,
            403,
            "forbidden",
        );
        assert_error(
            &send(disable(&admin_key, owner_bot.user.id)).await,
            403,
            "forbidden",
        );
        assert_eq!(
            send(app.request(Method::GET, "/api/v1/me", &owner_bot_key))
                .await
                .0,
            200,
            "the owner bot still works"
        );

        // Within their rank, admins still act; owners act on everyone.
        let member_key_id = app.key_id(&member_key).await;
        assert_eq!(send(revoke(&admin_key, member_key_id)).await.0, 204);
        assert_eq!(send(disable(&admin_key, member_bot.user.id)).await.0, 204);
        let admin_key_id = app.key_id(&admin_key).await;
        assert_eq!(send(revoke(&owner_key, admin_key_id)).await.0, 204);
        assert_eq!(send(disable(&owner_key, owner_bot.user.id)).await.0, 204);
        app.stop().await;
    })
    .await;
}

#[tokio::test]
async fn refused_requests_are_audited_once_per_caller_per_minute() {
    each_backend(|backend| async move {
        let (app, seeded, admin, member) = TestApp::start_with_team(backend).await;
        let owner_key = app.key(&seeded.owner, None).await;
        let admin_key = app.key(&admin, None).await;
        let member_key = app.key(&member, None).await;
        let owner_key_id = app.key_id(&owner_key).await;

        for _ in 0..25 {
            let answer = send(app.request(Method::GET, "/api/v1/users", &member_key)).await;
            assert_error(&answer, 403, "insufficient_scope");
        }
        for _ in 0..5 {
            let answer = send(app.request(
                Method::DELETE,
                &format!("/api/v1/api_keys/{owner_key_id}"),
                &admin_key,
            ))
            .await;
            assert_error(&answer, 403, "forbidden");
        }
        let found = refusals(&app, &owner_key).await;
        assert_eq!(found.len(), 2, "one event per caller: {found:?}");
        let by_member = found
            .iter()
            .find(|e| e["actor_user_id"] == member.user.id)
            .expect("the member's refusals");
        assert_eq!(
            by_member["detail"],
            "GET /api/v1/users: 403 insufficient_scope"
        );
        assert_eq!(by_member["outcome"], "failure");
        assert_eq!(by_member["credential"]["type"], "api_key");
        let by_admin = found
            .iter()
            .find(|e| e["actor_user_id"] == admin.user.id)
            .expect("the admin's refusals");
        assert_eq!(
            by_admin["detail"],
            "DELETE /api/v1/api_keys/{id}: 403 forbidden"
        );
        app.stop().await;
    })
    .await;
}
