//! Effective scopes are computed when a credential is used: narrowing an application or
//! lowering a role applies at once to tokens and keys already issued, to introspection and to
//! refreshes; and role changes follow the rank rule.

use gatekey_core::audit::Actor;
use gatekey_core::oauth::admin::{update_application, ApplicationChanges, Registrar};
use gatekey_core::oauth::store::ApplicationStore;
use gatekey_core::role::Role;
use gatekey_core::scope::ScopeSet;
use gatekey_core::store::UserStore;
use reqwest::Method;
use serde_json::{json, Value};
use time::OffsetDateTime;

use crate::harness::{assert_error, each_backend, send, TestApp};
use crate::oauth_fixture::{Client, ClientSpec};

async fn scopes_of(app: &TestApp, credential: &str) -> Value {
    let me = send(app.request(Method::GET, "/api/v1/me", credential)).await;
    assert_eq!(me.0, 200, "{}", me.2);
    me.2["scopes"].clone()
}

async fn refresh(app: &TestApp, client: &Client, token: &str, scope: Option<&str>) -> (u16, Value) {
    let mut form = vec![("grant_type", "refresh_token"), ("refresh_token", token)];
    if let Some(scope) = scope {
        form.push(("scope", scope));
    }
    let answer = app.token(client, &form).await;
    (answer.0, answer.2)
}

#[tokio::test]
async fn narrowing_an_application_narrows_its_tokens_introspection_and_refreshes() {
    each_backend(|backend| async move {
        let (app, seeded, client) =
            TestApp::start_with_client(backend, ClientSpec::confidential()).await;
        let (access, refresh_token) = app
            .grant_with_tokens(&seeded.owner, &client, "read write")
            .await;
        let owner_key = app.key(&seeded.owner, None).await;
        assert_eq!(scopes_of(&app, &access).await, json!(["read", "write"]));
        assert_eq!(
            app.introspect(&client, &access).await["scope"],
            "read write"
        );

        let narrowed = send(
            app.request(
                Method::PATCH,
                &format!("/api/v1/applications/{}", client.application.id),
                &owner_key,
            )
            .json(&json!({"scopes": ["read"]})),
        )
        .await;
        assert_eq!(narrowed.0, 200, "{}", narrowed.2);

        // The token issued before is narrowed at once, and so is what introspection says.
        assert_eq!(scopes_of(&app, &access).await, json!(["read"]));
        assert_eq!(app.introspect(&client, &access).await["scope"], "read");
        assert_eq!(
            app.introspect(&client, &refresh_token).await["scope"],
            "read"
        );
        // A refresh never hands back what the application lost, however often it rolls.
        let (status, wider) = refresh(&app, &client, &refresh_token, Some("read write")).await;
        assert_eq!(status, 400, "{wider}");
        assert_eq!(wider["error"], "invalid_scope");
        let mut current = refresh_token;
        for _ in 0..2 {
            let (status, rolled) = refresh(&app, &client, &current, None).await;
            assert_eq!(status, 200, "{rolled}");
            assert_eq!(rolled["scope"], "read");
            let new_access = rolled["access_token"].as_str().unwrap();
            assert_eq!(scopes_of(&app, new_access).await, json!(["read"]));
            current = rolled["refresh_token"].as_str().unwrap().to_owned();
        }

        // Widened again here, then narrowed by another process (an operator, another replica):
        // the change reaches this server's cache through the invalidation feed.
        let widened = send(
            app.request(
                Method::PATCH,
                &format!("/api/v1/applications/{}", client.application.id),
                &owner_key,
            )
            .json(&json!({"scopes": ["read", "write"]})),
        )
        .await;
        assert_eq!(widened.0, 200, "{}", widened.2);
        assert_eq!(
            scopes_of(&app, &access).await,
            json!(["read", "write"]),
            "at most what the user consented to"
        );
        let stored = app
            .store()
            .application_by_client_id(&client.id)
            .await
            .unwrap()
            .unwrap();
        let changes = ApplicationChanges {
            scopes: Some(ScopeSet::parse("read").unwrap()),
            ..ApplicationChanges::default()
        };
        let operator = Actor::operator();
        let registrar = Registrar {
            role: Role::Owner,
            actor: &operator,
        };
        update_application(
            app.store(),
            OffsetDateTime::now_utc(),
            &stored,
            changes,
            registrar,
        )
        .await
        .unwrap();
        let mut narrowed = false;
        for _ in 0..100 {
            if scopes_of(&app, &access).await == json!(["read"]) {
                narrowed = true;
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
        assert!(narrowed, "the feed carried the application's change");
        app.stop().await;
    })
    .await;
}

#[tokio::test]
async fn lowering_a_role_narrows_keys_and_tokens_here_and_through_the_feed() {
    each_backend(|backend| async move {
        let (app, seeded) = TestApp::start_seeded(backend).await;
        let member = app
            .person(&seeded.acme, "member@acme.test", Role::Member)
            .await;
        let client = app
            .register_client(seeded.acme.id, ClientSpec::confidential())
            .await;
        let (access, refresh_token) = app.grant_with_tokens(&member, &client, "read write").await;
        let key = app.key(&member, None).await;
        let owner_key = app.key(&seeded.owner, None).await;
        // Both are cached now.
        for credential in [&key, &access] {
            assert_eq!(scopes_of(&app, credential).await, json!(["read", "write"]));
        }

        let path = format!("/api/v1/users/{}", member.user.id);
        let lowered = app
            .send_json(Method::PATCH, &path, &owner_key, json!({"role": "viewer"}))
            .await;
        assert_eq!(lowered.0, 200, "{}", lowered.2);
        assert_eq!(lowered.2["role"], "viewer");
        for credential in [&key, &access] {
            assert_eq!(scopes_of(&app, credential).await, json!(["read"]));
        }
        assert_eq!(app.introspect(&client, &access).await["scope"], "read");
        let (status, rolled) = refresh(&app, &client, &refresh_token, None).await;
        assert_eq!(status, 200, "{rolled}");
        assert_eq!(rolled["scope"], "read");
        let created = app
            .send_json(
                Method::POST,
                "/api/v1/api_keys",
                &key,
                json!({"name": "wider", "scopes": ["read", "write"]}),
            )
            .await;
        assert_error(&created, 400, "invalid_request");

        // A change written by another process (an operator command, another replica) reaches
        // this server's cache through the invalidation feed, well before the cache's TTL.
        let raised = gatekey_core::user_admin::change_role(
            app.store(),
            OffsetDateTime::now_utc(),
            seeded.acme.id,
            Role::Owner,
            member.user.id,
            Role::Member,
            &Actor::operator(),
        )
        .await
        .unwrap();
        assert_eq!(raised.membership.role, Role::Member);
        let mut seen = false;
        for _ in 0..100 {
            if scopes_of(&app, &key).await == json!(["read", "write"]) {
                seen = true;
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
        assert!(seen, "the role change reached the cache through the feed");
        assert_eq!(scopes_of(&app, &access).await, json!(["read", "write"]));
        app.stop().await;
    })
    .await;
}

#[tokio::test]
async fn role_changes_follow_the_rank_rule_and_are_audited() {
    each_backend(|backend| async move {
        let (app, seeded, admin, member) = TestApp::start_with_team(backend).await;
        let stranger = app
            .person(&seeded.other, "x@other.test", Role::Member)
            .await;
        let admin_key = app.key(&admin, None).await;
        let owner_key = app.key(&seeded.owner, None).await;
        let member_key = app.key(&member, None).await;
        let patch = |key: &str, id: i64, role: &str| {
            app.request(Method::PATCH, &format!("/api/v1/users/{id}"), key)
                .json(&json!({ "role": role }))
        };
        let owner_id = seeded.owner.user.id;
        let member_id = member.user.id;

        assert_error(
            &send(patch(&admin_key, owner_id, "viewer")).await,
            403,
            "forbidden",
        );
        assert_error(
            &send(patch(&admin_key, member_id, "owner")).await,
            403,
            "forbidden",
        );
        assert_error(
            &send(patch(&member_key, member_id, "admin")).await,
            403,
            "insufficient_scope",
        );
        assert_error(
            &send(patch(&owner_key, owner_id, "admin")).await,
            409,
            "conflict",
        );
        assert_error(
            &send(patch(&admin_key, member_id, "root")).await,
            400,
            "invalid_request",
        );
        assert_error(
            &send(patch(&admin_key, stranger.user.id, "viewer")).await,
            404,
            "not_found",
        );
        let changed = send(patch(&admin_key, member_id, "admin")).await;
        assert_eq!(changed.0, 200, "{}", changed.2);
        // Once another owner exists, the first may step down.
        assert_eq!(send(patch(&owner_key, admin.user.id, "owner")).await.0, 200);
        assert_eq!(send(patch(&owner_key, owner_id, "admin")).await.0, 200);
        let stored = app
            .store()
            .member(seeded.acme.id, owner_id)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(stored.membership.role, Role::Admin);

        let audits = send(app.request(Method::GET, "/api/v1/audits", &admin_key)).await;
        let changes: Vec<&Value> = audits.2["audits"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|a| a["action"] == "membership.role_changed")
            .collect();
        assert_eq!(changes.len(), 3, "{}", audits.2);
        assert_eq!(changes[2]["target_id"], member_id.to_string());
        assert_eq!(changes[2]["detail"], "role member -> admin");
        app.stop().await;
    })
    .await;
}
