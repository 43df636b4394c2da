//! Rolling an API key over HTTP: a new secret for the same key, the old one working for the
//! grace period the caller chose and not a moment longer (time passes on the app's clock), at
//! once with no grace, on this server and on another; bad graces, dead keys and callers who
//! may not roll the key refused; the roll in the audit log.

use gatekey_core::api_key_roll::{roll_api_key, RollGrace};
use gatekey_core::audit::Actor;
use gatekey_core::role::Role;
use gatekey_core::store::{ApiKeyStore, UserStore};
use gatekey_server::Config;
use gatekey_store::{Backend, SqlStore};
use reqwest::Method;
use serde_json::{json, Value};
use time::Duration;

use crate::harness::{
    assert_error, each_backend, eventually, seed, send, sign_in, Answer, TestApp, PASSWORD,
};

/// Checked credentials trusted for a day and the feed trusted as long, so that what refuses a
/// secret at its grace's end is the cached entry's own expiry.
fn day_long_caches(config: &mut Config) {
    config.cache.credential_ttl = 86_400;
    config.cache.max_staleness_ms = 86_400_000;
}

/// `POST /api/v1/api_keys/{id}/roll` with `body`, authenticated by `caller`.
async fn roll(app: &TestApp, caller: &str, id: i64, body: Value) -> Answer {
    let path = format!("/api/v1/api_keys/{id}/roll");
    app.send_json(Method::POST, &path, caller, body).await
}

/// Rolls key `id` with `grace_period_seconds`, asserting success; the new secret and the key.
async fn rolled(app: &TestApp, caller: &str, id: i64, grace: i64) -> (String, Value) {
    let answer = roll(app, caller, id, json!({"grace_period_seconds": grace})).await;
    assert_eq!(answer.0, 200, "{}", answer.2);
    let secret = answer.2["secret"]
        .as_str()
        .expect("the new secret")
        .to_owned();
    (secret, answer.2)
}

/// The `GET /api/v1/me` answer to `key`.
async fn me(app: &TestApp, key: &str) -> Answer {
    send(app.request(Method::GET, "/api/v1/me", key)).await
}

#[tokio::test]
async fn the_old_secret_works_for_the_grace_and_not_after() {
    each_backend(|backend| async move {
        let (app, clock) = TestApp::start_with_manual_clock(backend, day_long_caches).await;
        let seeded = seed(&app).await;
        let old = app.key(&seeded.owner, Some("read write")).await;
        let id = app.key_id(&old).await;
        let before = app.now();

        let (new, key) = rolled(&app, &old, id, 3600).await;
        assert_ne!(new, old);
        assert!(new.starts_with("gk_key_") && new.starts_with(key["prefix"].as_str().unwrap()));
        assert_eq!(key["id"], id, "the same key record");
        assert_eq!(key["scopes"], json!(["read", "write"]));
        assert_eq!(key["previous_prefix"], old[..15]);
        let grace_end = before + Duration::hours(1);
        assert_eq!(
            key["previous_secret_expires_at"],
            gatekey_server::api::views::timestamp(grace_end)
        );

        let by_old = me(&app, &old).await;
        assert_eq!(by_old.0, 200, "{}", by_old.2);
        assert_eq!(by_old.2["credential"]["id"], id);
        assert_eq!(
            by_old.2["credential"]["expires_at"], key["previous_secret_expires_at"],
            "the old secret says when it stops"
        );
        assert_eq!(me(&app, &new).await.0, 200);
        let child = app
            .create(
                "/api/v1/api_keys",
                &old,
                json!({"name": "made with the old secret"}),
            )
            .await;
        assert_eq!(
            child["expires_at"], key["previous_secret_expires_at"],
            "a key made with the old secret ends with it"
        );

        clock.advance(Duration::minutes(59));
        assert_eq!(me(&app, &old).await.0, 200, "still in the grace");
        clock.advance(Duration::minutes(1));
        let refused = me(&app, &old).await;
        assert_error(&refused, 401, "invalid_token");
        assert_eq!(
            refused.2["error_description"], "the credential has expired",
            "the cached entry itself stops at the grace's end"
        );
        assert_eq!(me(&app, &new).await.0, 200, "the new secret goes on");

        let auditor = app.key(&seeded.owner, None).await;
        let events = app.audit_events_of(&auditor, "api_key.rolled").await;
        assert_eq!(events.len(), 1, "{events:?}");
        let detail = events[0]["detail"].as_str().unwrap();
        assert!(
            detail.contains(&old[..15]) && detail.contains(&new[..15]),
            "both prefixes: {detail}"
        );
        assert!(detail.contains("grace 3600 s"), "{detail}");
        assert_eq!(events[0]["target_id"], id.to_string());
        assert_eq!(events[0]["credential"]["id"], id);
        app.stop().await;
    })
    .await;
}

#[tokio::test]
async fn an_old_secret_first_shown_after_its_grace_is_expired_as_from_the_cache() {
    each_backend(|backend| async move {
        let (app, clock) = TestApp::start_with_manual_clock(backend, |_| {}).await;
        let seeded = seed(&app).await;
        let admin = app.key(&seeded.owner, None).await;
        let old = app.key(&seeded.owner, None).await;
        let id = app.key_id(&old).await;
        rolled(&app, &old, id, 60).await;
        clock.advance(Duration::seconds(61));

        // The roll evicted the old secret: it is read from the database now.
        let refused = me(&app, &old).await;
        assert_error(&refused, 401, "invalid_token");
        assert_eq!(refused.2["error_description"], "the credential has expired");
        let verdict = app
            .send_json(
                Method::POST,
                "/api/v1/keys/verify",
                &admin,
                json!({ "key": old }),
            )
            .await;
        assert_eq!(verdict.0, 200, "a verdict, not an error: {}", verdict.2);
        assert_eq!(verdict.2["code"], "EXPIRED");
        app.stop().await;
    })
    .await;
}

#[tokio::test]
async fn no_grace_ends_the_old_secret_at_once_and_a_second_roll_ends_the_first() {
    each_backend(|backend| async move {
        let (app, clock) = TestApp::start_with_manual_clock(backend, day_long_caches).await;
        let seeded = seed(&app).await;
        let first = app.key(&seeded.owner, None).await;
        let id = app.key_id(&first).await;

        let (second, _) = rolled(&app, &first, id, 86_400).await;
        assert_eq!(me(&app, &first).await.0, 200, "cached, in its grace");
        let (third, key) = rolled(&app, &second, id, 600).await;
        assert_eq!(key["previous_prefix"], second[..15]);
        assert_error(&me(&app, &first).await, 401, "invalid_token");
        assert_eq!(me(&app, &second).await.0, 200);

        let (fourth, key) = rolled(&app, &third, id, 0).await;
        assert_eq!(key["previous_prefix"], Value::Null);
        assert_eq!(key["previous_secret_expires_at"], Value::Null);
        for gone in [&first, &second, &third] {
            assert_error(&me(&app, gone).await, 401, "invalid_token");
        }
        clock.advance(Duration::days(6));
        assert_eq!(me(&app, &fourth).await.0, 200);
        app.stop().await;
    })
    .await;
}

#[tokio::test]
async fn another_server_drops_the_old_secret_when_the_roll_reaches_it() {
    each_backend(|backend| async move {
        let app = TestApp::start_with(backend, day_long_caches).await;
        let seeded = seed(&app).await;
        let old = app.key(&seeded.owner, None).await;
        let id = app.key_id(&old).await;
        assert!(app.accepts(&old).await, "cached on this server");

        // Another server, or an operator's command: its own store, none of this one's caches.
        let elsewhere = SqlStore::connect(app.store().url()).await.expect("connect");
        let key = elsewhere.api_key_by_id(id).await.unwrap().unwrap();
        let holder = elsewhere
            .member(key.account_id, key.user_id)
            .await
            .unwrap()
            .unwrap();
        let (_, new) = roll_api_key(
            &elsewhere,
            app.now(),
            &key,
            &holder.user,
            RollGrace::NONE,
            None,
            &Actor::operator(),
        )
        .await
        .expect("rolled");
        elsewhere.close().await;

        let within = std::time::Duration::from_secs(2);
        assert!(
            eventually(within, || async { !app.accepts(&old).await }).await,
            "the old secret is refused once the invalidation arrives"
        );
        assert!(app.accepts(new.expose()).await);
        app.stop().await;
    })
    .await;
}

#[tokio::test]
async fn a_bad_grace_is_refused_and_changes_nothing() {
    each_backend(|backend| async move {
        let (app, seeded) = TestApp::start_seeded(backend).await;
        let key = app.key(&seeded.owner, None).await;
        let id = app.key_id(&key).await;
        for (body, status) in [
            (json!({"grace_period_seconds": -1}), 400),
            (json!({"grace_period_seconds": 604_801}), 400),
            (json!({"grace_period_seconds": i64::MAX}), 400),
            (json!({"grace_period_seconds": 1.5}), 422),
            (json!({"grace_period_seconds": "1h"}), 422),
            (json!({}), 422),
            (json!({"grace_period_seconds": 60, "also": 1}), 422),
        ] {
            let refused = roll(&app, &key, id, body.clone()).await;
            assert_error(&refused, status, "invalid_request");
            assert!(refused.2.get("secret").is_none(), "{body}");
        }
        let over = roll(&app, &key, id, json!({"grace_period_seconds": 604_801})).await;
        let text = over.2["error_description"].as_str().unwrap();
        assert!(text.contains("604800"), "{text}");
        assert!(app.accepts(&key).await, "the key was not rolled");
        assert!(app.audit_events_of(&key, "api_key.rolled").await.is_empty());
        let most = roll(&app, &key, id, json!({"grace_period_seconds": 604_800})).await;
        assert_eq!(most.0, 200, "7 days is allowed: {}", most.2);
        app.stop().await;
    })
    .await;
}

#[tokio::test]
async fn revoked_and_expired_keys_are_not_rolled() {
    each_backend(|backend| async move {
        let (app, clock) = TestApp::start_with_manual_clock(backend, |_| {}).await;
        let seeded = seed(&app).await;
        let parent = app.key(&seeded.owner, None).await;
        let child = |body: Value| app.create("/api/v1/api_keys", &parent, body);
        let revoked = child(json!({"name": "revoked"})).await;
        let revoked_id = revoked["id"].as_i64().unwrap();
        let path = format!("/api/v1/api_keys/{revoked_id}");
        assert_eq!(
            send(app.request(Method::DELETE, &path, &parent)).await.0,
            204
        );
        let refused = roll(
            &app,
            &parent,
            revoked_id,
            json!({"grace_period_seconds": 0}),
        )
        .await;
        assert_error(&refused, 409, "conflict");
        assert!(refused.2["error_description"]
            .as_str()
            .unwrap()
            .contains("revoked"));

        let expiring = child(json!({"name": "short", "expires_in": 60})).await;
        clock.advance(Duration::seconds(61));
        let expiring_id = expiring["id"].as_i64().unwrap();
        let refused = roll(
            &app,
            &parent,
            expiring_id,
            json!({"grace_period_seconds": 0}),
        )
        .await;
        assert_error(&refused, 409, "conflict");
        assert!(refused.2["error_description"]
            .as_str()
            .unwrap()
            .contains("expired"));
        assert!(!app.accepts(expiring["secret"].as_str().unwrap()).await);

        let missing = roll(&app, &parent, 9_999, json!({"grace_period_seconds": 0})).await;
        assert_error(&missing, 404, "not_found");
        app.stop().await;
    })
    .await;
}

#[tokio::test]
async fn who_may_roll_which_key() {
    each_backend(|backend| async move {
        let (app, seeded, admin, member) = TestApp::start_with_team(backend).await;
        let grace = json!({"grace_period_seconds": 60});
        let admin_key = app.key(&admin, None).await;
        let member_key = app.key(&member, None).await;
        let member_key_id = app.key_id(&member_key).await;

        // A credential without `write` rolls nothing, not even itself.
        let reader = app.key(&member, Some("read")).await;
        let reader_id = app.key_id(&reader).await;
        assert_error(
            &roll(&app, &reader, reader_id, grace.clone()).await,
            403,
            "insufficient_scope",
        );

        // An admin does not roll a person's key: the new secret would act as that person.
        let refused = roll(&app, &admin_key, member_key_id, grace.clone()).await;
        assert_error(&refused, 403, "forbidden");
        assert!(app.accepts(&member_key).await);

        // A service account's key: its admin rolls it from the web session, and with an API
        // key only if that key created it.
        let robot = app
            .service_account(&seeded.acme, "robot", Role::Member)
            .await;
        let robot_key = app.key(&robot, None).await;
        let robot_key_id = app.key_id(&robot_key).await;
        let refused = roll(&app, &admin_key, robot_key_id, grace.clone()).await;
        assert_error(&refused, 403, "forbidden");
        let browser = sign_in(&app, "admin@acme.test", PASSWORD).await;
        let path = format!("/api/v1/api_keys/{robot_key_id}/roll");
        let by_session = send(
            browser
                .request(&app, Method::POST, &path)
                .header("x-csrf-token", &browser.csrf)
                .json(&grace),
        )
        .await;
        assert_eq!(by_session.0, 200, "{}", by_session.2);
        let made = app
            .create(
                &format!("/api/v1/users/{}/api_keys", robot.user.id),
                &admin_key,
                json!({"name": "made by the admin's key"}),
            )
            .await;
        let made_id = made["id"].as_i64().unwrap();
        let (_, rolled_child) = rolled(&app, &admin_key, made_id, 60).await;
        assert_eq!(rolled_child["parent_key_id"], made["parent_key_id"]);

        // Nor a service account ranking above the admin.
        let boss = app.service_account(&seeded.acme, "boss", Role::Owner).await;
        let boss_key_id = app.key_id(&app.key(&boss, None).await).await;
        let refused = send(
            browser
                .request(
                    &app,
                    Method::POST,
                    &format!("/api/v1/api_keys/{boss_key_id}/roll"),
                )
                .header("x-csrf-token", &browser.csrf)
                .json(&grace),
        )
        .await;
        assert_error(&refused, 403, "forbidden");

        // A key of another account is not found.
        let stranger = app.person(&seeded.other, "x@other.test", Role::Owner).await;
        let stranger_key_id = app.key_id(&app.key(&stranger, None).await).await;
        let owner_key = app.key(&seeded.owner, None).await;
        let refused = roll(&app, &owner_key, stranger_key_id, grace.clone()).await;
        assert_error(&refused, 404, "not_found");

        // A secret replaced by a roll still works for its grace, but rolls nothing: whoever
        // holds it cannot take the key from the one who rolled it.
        let (member_new, _) = rolled(&app, &member_key, member_key_id, 3600).await;
        assert!(app.accepts(&member_key).await);
        let refused = roll(
            &app,
            &member_key,
            member_key_id,
            json!({"grace_period_seconds": 0}),
        )
        .await;
        assert_error(&refused, 403, "forbidden");
        assert!(
            app.accepts(&member_new).await,
            "the current secret still works"
        );
        app.stop().await;
    })
    .await;
}

/// A scanner reporting a secret that a roll replaced ends that secret alone, not the key.
#[tokio::test]
async fn a_reported_old_secret_ends_without_the_key() {
    each_backend(|backend: Backend| async move {
        let app = TestApp::start_with(backend, |config| {
            config.leak_reports.gitlab_token = Some("gitlab-token-0123456789abcdef".into());
        })
        .await;
        let seeded = seed(&app).await;
        let old = app.key(&seeded.owner, None).await;
        let id = app.key_id(&old).await;
        let (new, _) = rolled(&app, &old, id, 3600).await;
        let report = json!([{
            "type": "gitleaks_rule_id_gatekey_api_key",
            "token": old,
            "location": "https://gitlab.example/acme/app/-/blob/abc/.env#L1",
        }]);
        let answer = send(
            app.http
                .post(app.url("/leak_reports/gitlab/v1/revoke_tokens"))
                .bearer_auth("gitlab-token-0123456789abcdef")
                .json(&report),
        )
        .await;
        assert_eq!(answer.0, 204, "{}", answer.2);
        assert!(!app.accepts(&old).await, "the reported secret ended");
        assert!(
            app.accepts(&new).await,
            "the key lives on with its current secret"
        );
        let events = app.audit_events_of(&new, "secret.leak_revoked").await;
        assert_eq!(events.len(), 1, "{events:?}");
        assert!(events[0]["detail"].as_str().unwrap().contains("roll"));
        app.stop().await;
    })
    .await;
}
