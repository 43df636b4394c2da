//! A write on this server evicts what it revokes from this server's caches as it commits: the
//! very next request sees it, although the cache would trust the entry for an hour and the
//! feed is not polled again for an hour either. And a cached entry expires when the app's
//! clock, not the wall clock, passes its TTL.

use std::sync::Arc;

use gatekey_core::audit::Actor;
use gatekey_core::clock::{to_millis, ManualClock};
use gatekey_core::role::Role;
use gatekey_core::user_admin::disable_user;
use gatekey_server::Config;
use gatekey_store::Backend;
use reqwest::header::HeaderMap;
use reqwest::Method;
use serde_json::{json, Value};
use time::{Duration, OffsetDateTime};

use crate::harness::{each_backend, seed, send, TestApp};
use crate::oauth_fixture::{Client, ClientSpec, REDIRECT};

/// Caches trusted for an hour, and a feed polled once an hour (and trusted for two).
fn hour_long_caches(config: &mut Config) {
    config.cache.credential_ttl = 3_600;
    config.cache.invalidation_poll_ms = 3_600_000;
    config.cache.max_staleness_ms = 7_200_000;
}

async fn start(backend: Backend) -> TestApp {
    TestApp::start_with(backend, hour_long_caches).await
}

/// The status of `GET /api/v1/me` with `credential`.
async fn me(app: &TestApp, credential: &str) -> u16 {
    send(app.request(Method::GET, "/api/v1/me", credential))
        .await
        .0
}

/// The token endpoint's answer to `client` presenting `refresh`.
async fn refresh_with(app: &TestApp, client: &Client, refresh: &str) -> (u16, HeaderMap, Value) {
    let form = [("grant_type", "refresh_token"), ("refresh_token", refresh)];
    app.post_as(client, "/oauth/token", &form).await
}

/// The token named `field` in a token response.
fn token_in(answer: &Value, field: &str) -> String {
    answer[field].as_str().expect("a token").to_owned()
}

#[tokio::test]
async fn api_key_and_user_changes_reach_the_next_request() {
    each_backend(|backend| async move {
        let app = start(backend).await;
        let seeded = seed(&app).await;
        let owner_key = app.key(&seeded.owner, None).await;

        // A key revoked through the API.
        let ada = app.person(&seeded.acme, "ada@acme.test", Role::Admin).await;
        let key = app.key(&ada, None).await;
        assert_eq!(me(&app, &key).await, 200, "cached");
        let path = format!("/api/v1/api_keys/{}", app.key_id(&key).await);
        let revoked = send(app.request(Method::DELETE, &path, &owner_key)).await;
        assert_eq!(revoked.0, 204, "{}", revoked.2);
        assert_eq!(me(&app, &key).await, 401, "refused at once");

        // A key created with a key, revoked with it.
        let parent = app.key(&ada, None).await;
        let created = app
            .send_json(
                Method::POST,
                "/api/v1/api_keys",
                &parent,
                json!({"name": "child"}),
            )
            .await;
        assert_eq!(created.0, 201, "{}", created.2);
        let child = created.2["secret"].as_str().expect("secret").to_owned();
        assert_eq!(me(&app, &child).await, 200, "cached");
        let path = format!("/api/v1/api_keys/{}", app.key_id(&parent).await);
        let revoked = send(app.request(Method::DELETE, &path, &owner_key)).await;
        assert_eq!(revoked.0, 204, "{}", revoked.2);
        assert_eq!(
            me(&app, &child).await,
            401,
            "the child goes with its parent"
        );

        // A role change applies to the cached key at once.
        let key = app.key(&ada, None).await;
        let seen = send(app.request(Method::GET, "/api/v1/me", &key)).await;
        assert_eq!(seen.2["role"], "admin", "{}", seen.2);
        let path = format!("/api/v1/users/{}", ada.user.id);
        let changed = app
            .send_json(Method::PATCH, &path, &owner_key, json!({"role": "viewer"}))
            .await;
        assert_eq!(changed.0, 200, "{}", changed.2);
        let seen = send(app.request(Method::GET, "/api/v1/me", &key)).await;
        assert_eq!(seen.2["role"], "viewer", "{}", seen.2);

        // A service account disabled through the API.
        let robot = app
            .service_account(&seeded.acme, "robot", Role::Member)
            .await;
        let robot_key = app.key(&robot, None).await;
        assert_eq!(me(&app, &robot_key).await, 200, "cached");
        let path = format!("/api/v1/service_accounts/{}", robot.user.id);
        let disabled = send(app.request(Method::DELETE, &path, &owner_key)).await;
        assert_eq!(disabled.0, 204, "{}", disabled.2);
        assert_eq!(me(&app, &robot_key).await, 401, "refused at once");

        // An operator's change through this server's store (as the CLI's would be, in
        // this process).
        assert_eq!(me(&app, &key).await, 200, "cached");
        disable_user(
            app.store(),
            OffsetDateTime::now_utc(),
            ada.user.id,
            &Actor::operator(),
        )
        .await
        .expect("disabled");
        assert_eq!(me(&app, &key).await, 401, "refused at once");
        app.stop().await;
    })
    .await;
}

#[tokio::test]
async fn oauth_revocations_reach_the_next_request() {
    each_backend(|backend| async move {
        let app = start(backend).await;
        let seeded = seed(&app).await;
        let owner_key = app.key(&seeded.owner, None).await;
        let client = app
            .register_client(seeded.acme.id, ClientSpec::confidential())
            .await;
        let grant = app.consent(&seeded.owner, &client, "read").await;
        let hour = Duration::hours(1);

        // An access token revoked by its client.
        let (access, refresh) = app.issue(&grant, hour).await;
        assert_eq!(me(&app, &access).await, 200, "cached");
        let answer = app
            .post_as(&client, "/oauth/revoke", &[("token", &access)])
            .await;
        assert_eq!(answer.0, 200, "{}", answer.2);
        assert_eq!(me(&app, &access).await, 401, "refused at once");

        // A refresh token revoked by its client takes its family's access tokens.
        let rotated = refresh_with(&app, &client, &refresh).await;
        assert_eq!(rotated.0, 200, "{}", rotated.2);
        let access = token_in(&rotated.2, "access_token");
        let refresh = token_in(&rotated.2, "refresh_token");
        assert_eq!(me(&app, &access).await, 200, "cached");
        let answer = app
            .post_as(&client, "/oauth/revoke", &[("token", &refresh)])
            .await;
        assert_eq!(answer.0, 200, "{}", answer.2);
        assert_eq!(me(&app, &access).await, 401, "refused at once");

        // A spent refresh token presented again revokes its family.
        let (_, refresh) = app.issue(&grant, hour).await;
        let rotated = refresh_with(&app, &client, &refresh).await;
        assert_eq!(rotated.0, 200, "{}", rotated.2);
        let access = token_in(&rotated.2, "access_token");
        assert_eq!(me(&app, &access).await, 200, "cached");
        let reused = refresh_with(&app, &client, &refresh).await;
        assert_eq!(reused.0, 400, "{}", reused.2);
        assert_eq!(me(&app, &access).await, 401, "refused at once");

        // A code presented twice revokes what it issued.
        let code = app.code(&grant, REDIRECT, None, Duration::minutes(5)).await;
        let redeem = [
            ("grant_type", "authorization_code"),
            ("code", code.as_str()),
            ("redirect_uri", REDIRECT),
        ];
        let issued = app.post_as(&client, "/oauth/token", &redeem).await;
        assert_eq!(issued.0, 200, "{}", issued.2);
        let access = token_in(&issued.2, "access_token");
        assert_eq!(me(&app, &access).await, 200, "cached");
        let replayed = app.post_as(&client, "/oauth/token", &redeem).await;
        assert_eq!(replayed.0, 400, "{}", replayed.2);
        assert_eq!(me(&app, &access).await, 401, "refused at once");

        // The user revokes the application's authorization.
        let (access, _) = app.issue(&grant, hour).await;
        assert_eq!(me(&app, &access).await, 200, "cached");
        let path = format!("/api/v1/authorizations/{}", client.id);
        let revoked = send(app.request(Method::DELETE, &path, &owner_key)).await;
        assert_eq!(revoked.0, 204, "{}", revoked.2);
        assert_eq!(me(&app, &access).await, 401, "refused at once");

        // An application narrowed, then deleted, through the API.
        let grant = app.consent(&seeded.owner, &client, "read write").await;
        let (access, _) = app.issue(&grant, hour).await;
        let seen = send(app.request(Method::GET, "/api/v1/me", &access)).await;
        assert_eq!(seen.2["scopes"], json!(["read", "write"]), "{}", seen.2);
        let path = format!("/api/v1/applications/{}", client.application.id);
        let narrowed = app
            .send_json(
                Method::PATCH,
                &path,
                &owner_key,
                json!({"scopes": ["read"]}),
            )
            .await;
        assert_eq!(narrowed.0, 200, "{}", narrowed.2);
        let seen = send(app.request(Method::GET, "/api/v1/me", &access)).await;
        assert_eq!(seen.2["scopes"], json!(["read"]), "{}", seen.2);
        let deleted = send(app.request(Method::DELETE, &path, &owner_key)).await;
        assert_eq!(deleted.0, 204, "{}", deleted.2);
        assert_eq!(me(&app, &access).await, 401, "refused at once");
        app.stop().await;
    })
    .await;
}

#[tokio::test]
async fn a_cached_credential_expires_when_the_clock_passes_the_ttl() {
    each_backend(|backend| async move {
        let clock = Arc::new(ManualClock::new(OffsetDateTime::now_utc()));
        let app = TestApp::start_with_clock(backend, clock.clone(), |config| {
            config.cache.credential_ttl = 60;
            config.cache.invalidation_poll_ms = 3_600_000;
            // The feed is read once, at the start: it must not count as stale in this test.
            config.cache.max_staleness_ms = 7_200_000;
        })
        .await;
        let seeded = seed(&app).await;
        let key = app.key(&seeded.owner, None).await;
        let id = app.key_id(&key).await;

        // Revoked behind the server's back, with no invalidation: only the TTL ends its trust.
        let database = sqlx::AnyPool::connect(&app.server.state.config.database_url)
            .await
            .expect("second connection");
        sqlx::query("UPDATE api_keys SET revoked_at = $1 WHERE id = $2")
            .bind(to_millis(OffsetDateTime::now_utc()))
            .bind(id)
            .execute(&database)
            .await
            .expect("revoked");
        database.close().await;

        clock.advance(Duration::seconds(59));
        assert_eq!(me(&app, &key).await, 200, "still trusted from the cache");
        clock.advance(Duration::seconds(1));
        assert_eq!(
            me(&app, &key).await,
            401,
            "checked again once the TTL has passed"
        );
        app.stop().await;
    })
    .await;
}
