//! A credential cannot create one that outlives or exceeds it: a key made with an API key is
//! that key's child, within its scopes and lifetime, and is revoked with it (and when its
//! user is disabled). Keys made with a web session have no parent.

use gatekey_core::audit::{Actor, AuditAction, AuditEntry};
use gatekey_core::role::Role;
use gatekey_core::store::{ApiKeyStore, UserStore};
use gatekey_core::user::Member;
use gatekey_store::Backend;
use reqwest::Method;
use serde_json::{json, Value};
use time::OffsetDateTime;

use crate::harness::{
    assert_error, each_backend, eventually, seed, send, send_text, sign_in, Seeded, TestApp,
    PASSWORD,
};

/// How long the invalidation feed may take to reach this server.
const TWO_SECONDS: std::time::Duration = std::time::Duration::from_secs(2);

/// Creates a key with `creator` at `path`, asserting success; returns (secret, view).
async fn create(app: &TestApp, creator: &str, path: &str, body: Value) -> (String, Value) {
    let answer = send(app.request(Method::POST, path, creator).json(&body)).await;
    assert_eq!(answer.0, 201, "{}", answer.2);
    (answer.2["secret"].as_str().unwrap().to_owned(), answer.2)
}

async fn status_of(app: &TestApp, key: &str) -> u16 {
    send(app.request(Method::GET, "/api/v1/me", key)).await.0
}

async fn audits(app: &TestApp, key: &str) -> Vec<Value> {
    let answer = send(app.request(Method::GET, "/api/v1/audits?per_page=200", key)).await;
    assert_eq!(answer.0, 200, "{}", answer.2);
    answer.2["audits"].as_array().unwrap().clone()
}

/// The app, seeded, polling its invalidation feed only hourly: what it has cached stays
/// trusted for the whole test unless this server itself ends it.
async fn start_deaf_to_the_feed(backend: Backend) -> (TestApp, Seeded) {
    let app = TestApp::start_with(backend, |config| {
        config.cache.invalidation_poll_ms = 3_600_000;
        config.cache.max_staleness_ms = 7_200_000;
    })
    .await;
    let seeded = seed(&app).await;
    (app, seeded)
}

/// Seeds `admin@acme.test`, an admin, and `robot`, a member service account, in `acme`.
async fn admin_and_robot(app: &TestApp, seeded: &Seeded) -> (Member, Member) {
    let admin = app
        .person(&seeded.acme, "admin@acme.test", Role::Admin)
        .await;
    let robot = app
        .service_account(&seeded.acme, "robot", Role::Member)
        .await;
    (admin, robot)
}

#[tokio::test]
async fn a_key_cannot_outlive_or_exceed_the_key_that_creates_it() {
    each_backend(|backend| async move {
        let (app, seeded) = TestApp::start_seeded(backend).await;
        let root = app.key(&seeded.owner, None).await;
        let root_id = app.key_id(&root).await;
        let mine = "/api/v1/api_keys";
        let (short, short_view) = create(
            &app,
            &root,
            mine,
            json!({"name": "short", "expires_in": 5, "scopes": ["read", "write"]}),
        )
        .await;
        assert_eq!(short_view["parent_key_id"], root_id);

        // No expiry asked for: the child expires with its parent, not never.
        let (_, child) = create(&app, &short, mine, json!({"name": "child"})).await;
        assert_eq!(child["parent_key_id"], short_view["id"]);
        assert_eq!(child["expires_at"], short_view["expires_at"]);
        assert_eq!(child["scopes"], json!(["read", "write"]));
        let sooner = create(
            &app,
            &short,
            mine,
            json!({"name": "sooner", "expires_in": 2}),
        )
        .await;
        assert_ne!(sooner.1["expires_at"], short_view["expires_at"]);

        let longer = app
            .send_json(
                Method::POST,
                mine,
                &short,
                json!({"name": "longer", "expires_in": 3600}),
            )
            .await;
        assert_error(&longer, 400, "invalid_request");
        assert!(
            longer.2["error_description"]
                .as_str()
                .unwrap()
                .contains("cannot outlive"),
            "{}",
            longer.2
        );
        let wider = app
            .send_json(
                Method::POST,
                mine,
                &short,
                json!({"name": "wider", "scopes": ["admin"]}),
            )
            .await;
        assert_error(&wider, 400, "invalid_request");

        // A key made with the web session has no parent.
        let browser = sign_in(&app, "owner@acme.test", PASSWORD).await;
        let from_session = send(
            browser
                .request(&app, Method::POST, mine)
                .header("x-csrf-token", &browser.csrf)
                .json(&json!({"name": "from the session"})),
        )
        .await;
        assert_eq!(from_session.0, 201, "{}", from_session.2);
        assert_eq!(from_session.2["parent_key_id"], Value::Null);
        assert_eq!(from_session.2["expires_at"], Value::Null);
        app.stop().await;
    })
    .await;
}

#[tokio::test]
async fn revoking_a_key_revokes_every_key_it_created() {
    each_backend(|backend| async move {
        let (app, seeded) = TestApp::start_seeded(backend).await;
        let root = app.key(&seeded.owner, None).await;
        let other = app.key(&seeded.owner, None).await;
        let mine = "/api/v1/api_keys";
        let (child, child_view) = create(&app, &root, mine, json!({"name": "child"})).await;
        let (grandchild, grandchild_view) =
            create(&app, &child, mine, json!({"name": "grandchild"})).await;
        let (cousin, _) = create(&app, &other, mine, json!({"name": "cousin"})).await;
        for key in [&root, &child, &grandchild, &cousin] {
            assert_eq!(status_of(&app, key).await, 200, "cached before");
        }

        let child_id = child_view["id"].as_i64().unwrap();
        let revoked = send(app.request(Method::DELETE, &format!("{mine}/{child_id}"), &root)).await;
        assert_eq!(revoked.0, 204, "{}", revoked.2);
        assert_eq!(status_of(&app, &child).await, 401);
        assert_eq!(
            status_of(&app, &grandchild).await,
            401,
            "the grandchild dies with its parent, at once"
        );
        assert_eq!(
            status_of(&app, &root).await,
            200,
            "the creator is untouched"
        );
        assert_eq!(status_of(&app, &cousin).await, 200);

        let grandchild_id = grandchild_view["id"].as_i64().unwrap();
        let stored = app
            .store()
            .api_key_by_id(grandchild_id)
            .await
            .unwrap()
            .unwrap();
        assert!(stored.revoked_at.is_some());
        let events = audits(&app, &root).await;
        let target = grandchild_id.to_string();
        let cascade = events
            .iter()
            .find(|e| e["action"] == "api_key.revoked" && e["target_id"] == target.as_str())
            .expect("the cascade is audited");
        assert_eq!(
            cascade["detail"],
            format!("revoked with key {child_id}, which created it")
        );
        assert_eq!(cascade["credential"]["type"], "api_key", "{cascade}");
        app.stop().await;
    })
    .await;
}

#[tokio::test]
async fn service_account_keys_made_with_an_admins_key_die_with_it_and_with_the_admin() {
    each_backend(|backend| async move {
        let (app, seeded) = TestApp::start_seeded(backend).await;
        let (admin, robot) = admin_and_robot(&app, &seeded).await;
        let first = app.key(&admin, None).await;
        let second = app.key(&admin, None).await;
        let owner_key = app.key(&seeded.owner, None).await;
        let path = format!("/api/v1/users/{}/api_keys", robot.user.id);
        let (robot_one, one_view) = create(&app, &first, &path, json!({"name": "one"})).await;
        let (robot_two, _) = create(&app, &second, &path, json!({"name": "two"})).await;
        assert_eq!(one_view["parent_key_id"], app.key_id(&first).await);
        assert_eq!(status_of(&app, &robot_one).await, 200);
        assert_eq!(status_of(&app, &robot_two).await, 200);

        let first_id = app.key_id(&first).await;
        let revoked = send(app.request(
            Method::DELETE,
            &format!("/api/v1/api_keys/{first_id}"),
            &second,
        ))
        .await;
        assert_eq!(revoked.0, 204, "{}", revoked.2);
        assert_eq!(status_of(&app, &robot_one).await, 401);
        assert_eq!(status_of(&app, &robot_two).await, 200);

        // Disabling the admin (here by an operator, so through the invalidation feed) revokes
        // the keys made with their keys, in the same transaction.
        app.disable_user(&admin).await;
        assert!(
            eventually(TWO_SECONDS, || async {
                status_of(&app, &robot_two).await == 401
            })
            .await,
            "the robot's key made by the admin is revoked"
        );
        let events = audits(&app, &owner_key).await;
        assert!(
            events.iter().any(|e| e["action"] == "api_key.revoked"
                && e["detail"]
                    .as_str()
                    .is_some_and(|d| d.contains("was disabled"))),
            "{events:?}"
        );
        // Re-enabling the admin brings back the admin's own keys, not the revoked children.
        app.store()
            .enable_user(
                admin.user.id,
                app.operator_audit(AuditAction::UserEnabled, "user"),
            )
            .await
            .unwrap();
        assert!(
            eventually(TWO_SECONDS, || async {
                status_of(&app, &second).await == 200
            })
            .await,
            "the admin's own key works again"
        );
        assert_eq!(status_of(&app, &robot_two).await, 401);
        app.stop().await;
    })
    .await;
}

/// Another server revoked the key or disabled its user; this one has not heard yet (its
/// invalidation feed is polled hourly here) and still trusts the key it cached. The key must
/// still create nothing: the store checks the parent where it writes the child.
#[tokio::test]
async fn a_key_ended_elsewhere_creates_nothing_while_this_server_still_trusts_it() {
    each_backend(|backend| async move {
        let (app, seeded) = start_deaf_to_the_feed(backend).await;
        let (admin, robot) = admin_and_robot(&app, &seeded).await;
        let revoked = app.key(&seeded.owner, None).await;
        let revoked_id = app.key_id(&revoked).await;
        let paused = app.key(&admin, None).await;
        app.key_id(&paused).await;
        let keys_before = keys_in_store(&app, seeded.acme.id).await;

        let now = OffsetDateTime::now_utc();
        let elsewhere = Actor::operator();
        app.store()
            .revoke_api_key(
                revoked_id,
                now,
                AuditEntry::new(now, &elsewhere, AuditAction::ApiKeyRevoked, "api_key"),
            )
            .await
            .unwrap();
        app.store()
            .disable_user(
                admin.user.id,
                now,
                AuditEntry::new(now, &elsewhere, AuditAction::UserDisabled, "user"),
            )
            .await
            .unwrap();

        let mine = app
            .send_json(
                Method::POST,
                "/api/v1/api_keys",
                &revoked,
                json!({"name": "after revocation"}),
            )
            .await;
        assert_error(&mine, 401, "invalid_token");
        assert_eq!(
            mine.2["error_description"], "the credential has been revoked",
            "{}",
            mine.2
        );
        let path = format!("/api/v1/users/{}/api_keys", robot.user.id);
        let for_robot = app
            .send_json(
                Method::POST,
                &path,
                &paused,
                json!({"name": "after disabling"}),
            )
            .await;
        assert_error(&for_robot, 401, "invalid_token");
        assert_eq!(keys_in_store(&app, seeded.acme.id).await, keys_before);

        // The refusal also made this server forget the stale entries.
        assert_eq!(status_of(&app, &revoked).await, 401);
        assert_eq!(status_of(&app, &paused).await, 401);
        app.stop().await;
    })
    .await;
}

async fn keys_in_store(app: &TestApp, account_id: i64) -> u64 {
    let filter = gatekey_core::store::ApiKeyFilter {
        account_id: Some(account_id),
        user_id: None,
        ..gatekey_core::store::ApiKeyFilter::default()
    };
    let page = gatekey_core::page::PageRequest::new(None, Some(200)).unwrap();
    app.store().list_api_keys(filter, page).await.unwrap().total
}

/// Revoking on the home page ends the keys created with the revoked one at once on this server,
/// as the API does: not only when the invalidation feed comes round (hourly here).
#[tokio::test]
async fn revoking_a_key_on_the_home_page_ends_its_descendants_at_once() {
    each_backend(|backend| async move {
        let (app, seeded) = start_deaf_to_the_feed(backend).await;
        let root = app.key(&seeded.owner, None).await;
        let root_id = app.key_id(&root).await;
        let mine = "/api/v1/api_keys";
        let (child, _) = create(&app, &root, mine, json!({"name": "child"})).await;
        let (grandchild, _) = create(&app, &child, mine, json!({"name": "grandchild"})).await;
        for key in [&root, &child, &grandchild] {
            assert_eq!(status_of(&app, key).await, 200, "cached before");
        }

        let browser = sign_in(&app, "owner@acme.test", PASSWORD).await;
        let revoked = send_text(
            browser
                .request(&app, Method::POST, &format!("/keys/{root_id}/revoke"))
                .form(&[("csrf_token", browser.csrf.as_str())]),
        )
        .await;
        assert_eq!(revoked.0, 303, "{}", revoked.2);
        assert_eq!(status_of(&app, &root).await, 401);
        assert_eq!(status_of(&app, &child).await, 401, "the child, at once");
        assert_eq!(status_of(&app, &grandchild).await, 401, "the grandchild");
        app.stop().await;
    })
    .await;
}
