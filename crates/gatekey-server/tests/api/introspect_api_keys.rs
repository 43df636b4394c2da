//! Introspection of API keys (RFC 7662): one check for every credential. A resource server with
//! the `introspect` permission learns about an API key exactly as about an access token (same
//! fields, same `sub`, `account` and `scope` shape), without spending the key's account rate
//! limit or moving its `last_used_at`; anything it may not see, or that no longer works, is
//! `{"active":false}`.

use gatekey_core::audit::Actor;
use gatekey_core::oauth::admin::set_introspect_all_accounts;
use gatekey_core::page::PageRequest;
use gatekey_core::role::Role;
use gatekey_core::store::ApiKeyStore;
use reqwest::Method;
use serde_json::{json, Value};
use time::{Duration, OffsetDateTime};

use crate::harness::{assert_error, each_backend, send, Seeded, TestApp};
use crate::oauth_fixture::{Client, ClientSpec};

/// Revokes `key` through the API, as its owner with `owner_key`.
async fn revoke(app: &TestApp, owner_key: &str, key: &str) {
    let id = app.key_id(key).await;
    let answer =
        send(app.request(Method::DELETE, &format!("/api/v1/api_keys/{id}"), owner_key)).await;
    assert_eq!(answer.0, 204, "{}", answer.2);
}

/// A key of the owner of account `other`.
async fn other_accounts_key(app: &TestApp, seeded: &Seeded) -> String {
    let bob = app
        .person(&seeded.other, "bob@other.test", Role::Owner)
        .await;
    app.key(&bob, None).await
}

/// Whether `resource_server` is told `key` is active.
async fn is_active(app: &TestApp, resource_server: &Client, key: &str) -> bool {
    app.introspect(resource_server, key).await["active"] == true
}

/// When `key` was last used, as stored once pending uses are written.
async fn last_used(app: &TestApp, key: &str) -> Option<OffsetDateTime> {
    gatekey_server::background::flush_usage(&app.server.state).await;
    let page = PageRequest::new(None, Some(200)).expect("page");
    let keys = app
        .store()
        .list_api_keys(Default::default(), page)
        .await
        .expect("keys");
    let stored = keys
        .items
        .into_iter()
        .find(|stored| key.starts_with(&stored.display_prefix))
        .expect("the key is stored");
    stored.last_used_at
}

/// The fields a resource server reads to decide who is calling and what they may do.
fn identity(answer: &Value) -> Value {
    json!({
        "active": answer["active"],
        "sub": answer["sub"],
        "username": answer["username"],
        "account": answer["account"],
        "account_id": answer["account_id"],
        "role": answer["role"],
        "scope": answer["scope"],
        "iss": answer["iss"],
    })
}

#[tokio::test]
async fn an_api_key_is_described_like_an_access_token_of_the_same_user() {
    each_backend(|backend| async move {
        let (app, seeded, resource_server) =
            TestApp::start_with_client(backend, ClientSpec::resource_server()).await;
        let ada = app.person(&seeded.acme, "ada@acme.test", Role::Admin).await;
        let key = app.key(&ada, Some("read write")).await;
        let expires_at = app.now() + Duration::days(1);
        let expiring = app.key_expiring(&ada, Some("read"), Some(expires_at)).await;
        let web_app = app
            .register_client(seeded.acme.id, ClientSpec::confidential())
            .await;
        let (access, _) = app.grant_with_tokens(&ada, &web_app, "read write").await;

        let of_key = app.introspect(&resource_server, &key).await;
        let of_token = app.introspect(&resource_server, &access).await;
        assert_eq!(of_key["active"], true, "{of_key}");
        assert_eq!(
            identity(&of_key),
            identity(&of_token),
            "one code path reads both"
        );
        assert_eq!(
            identity(&of_key),
            json!({
                "active": true,
                "sub": ada.user.id.to_string(),
                "username": "ada@acme.test",
                "account": "acme",
                "account_id": seeded.acme.id,
                "role": "admin",
                "scope": "read write",
                "iss": app.base_url(),
            })
        );
        assert_eq!(of_key["token_type"], "api_key");
        assert_eq!(of_token["token_type"], "Bearer");
        assert!(
            of_key.get("client_id").is_none(),
            "no application issued a key: {of_key}"
        );
        assert!(
            of_key.get("exp").is_none(),
            "a key without expiry: {of_key}"
        );
        assert!(of_key["iat"].as_i64().is_some(), "{of_key}");

        let of_expiring = app.introspect(&resource_server, &expiring).await;
        assert_eq!(
            of_expiring["exp"].as_i64(),
            Some(expires_at.unix_timestamp()),
            "{of_expiring}"
        );
        assert_eq!(of_expiring["scope"], "read");

        // The hint may name the kind, or anything else: it changes nothing (RFC 7662 §2.1).
        for hint in ["api_key", "access_token", "something_else"] {
            let hinted = app
                .post_as(
                    &resource_server,
                    "/oauth/introspect",
                    &[("token", &key), ("token_type_hint", hint)],
                )
                .await;
            assert_eq!((hinted.0, &hinted.2), (200, &of_key), "hint {hint}");
        }

        // `scope` is what the key may do now: its scopes within the user's current role.
        let owner_key = app.key(&seeded.owner, None).await;
        let lowered = app
            .send_json(
                Method::PATCH,
                &format!("/api/v1/users/{}", ada.user.id),
                &owner_key,
                json!({"role": "viewer"}),
            )
            .await;
        assert_eq!(lowered.0, 200, "{}", lowered.2);
        let of_key = app.introspect(&resource_server, &key).await;
        let of_token = app.introspect(&resource_server, &access).await;
        assert_eq!(of_key["scope"], "read", "{of_key}");
        assert_eq!(identity(&of_key), identity(&of_token));
        app.stop().await;
    })
    .await;
}

#[tokio::test]
async fn keys_that_no_longer_work_or_belong_elsewhere_are_inactive() {
    each_backend(|backend| async move {
        let (app, clock) = TestApp::start_with_manual_clock(backend, |_| {}).await;
        let seeded = crate::harness::seed(&app).await;
        let resource_server = app
            .register_client(seeded.acme.id, ClientSpec::resource_server())
            .await;
        let inactive = json!({"active": false});
        let owner_key = app.key(&seeded.owner, None).await;

        let revoked = app.key(&seeded.owner, Some("read")).await;
        assert!(is_active(&app, &resource_server, &revoked).await);
        revoke(&app, &owner_key, &revoked).await;
        assert_eq!(app.introspect(&resource_server, &revoked).await, inactive);

        // A key made with a key is revoked with it.
        let parent = app.key(&seeded.owner, None).await;
        let child = app
            .send_json(
                Method::POST,
                "/api/v1/api_keys",
                &parent,
                json!({"name": "child", "scopes": ["read"]}),
            )
            .await;
        assert_eq!(child.0, 201, "{}", child.2);
        let child = child.2["secret"].as_str().expect("secret").to_owned();
        assert!(is_active(&app, &resource_server, &child).await);
        revoke(&app, &owner_key, &parent).await;
        assert_eq!(app.introspect(&resource_server, &child).await, inactive);

        let expires_at = app.now() + Duration::hours(1);
        let expiring = app
            .key_expiring(&seeded.owner, Some("read"), Some(expires_at))
            .await;
        assert!(is_active(&app, &resource_server, &expiring).await);
        clock.advance(Duration::hours(1));
        assert_eq!(app.introspect(&resource_server, &expiring).await, inactive);

        let bea = app
            .person(&seeded.acme, "bea@acme.test", Role::Member)
            .await;
        let beas = app.key(&bea, None).await;
        assert!(is_active(&app, &resource_server, &beas).await);
        app.disable_user(&bea).await;
        assert_eq!(app.introspect(&resource_server, &beas).await, inactive);

        let bobs = other_accounts_key(&app, &seeded).await;
        assert_eq!(
            app.introspect(&resource_server, &bobs).await,
            inactive,
            "another account's key looks exactly like an unknown one"
        );
        assert!(app.accepts(&bobs).await, "and still works on the API");

        for unknown in [
            "gk_key_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
            "gk_key_",
            "not a key",
        ] {
            assert_eq!(app.introspect(&resource_server, unknown).await, inactive);
        }
        app.stop().await;
    })
    .await;
}

#[tokio::test]
async fn only_applications_with_the_permission_see_keys() {
    each_backend(|backend| async move {
        let (app, seeded, plain, public) =
            TestApp::start_with_clients(backend, ClientSpec::confidential(), ClientSpec::public())
                .await;
        let key = app.key(&seeded.owner, None).await;

        // A confidential application without `introspect` is answered as for another
        // application's token: the key is not one it may know about (RFC 7662 §2.2).
        assert_eq!(app.introspect(&plain, &key).await, json!({"active": false}));
        // A public client cannot authenticate, so it may not ask at all (RFC 7662 §2.1).
        let refused = app
            .post_form(
                "/oauth/introspect",
                None,
                &[("token", key.as_str()), ("client_id", public.id.as_str())],
            )
            .await;
        assert_error(&refused, 401, "invalid_client");
        let anonymous = app
            .post_form("/oauth/introspect", None, &[("token", key.as_str())])
            .await;
        assert_error(&anonymous, 401, "invalid_client");

        // Every account's keys, only by the operator's setting.
        let resource_server = app
            .register_client(seeded.acme.id, ClientSpec::resource_server())
            .await;
        let bobs = other_accounts_key(&app, &seeded).await;
        assert_eq!(
            app.introspect(&resource_server, &bobs).await,
            json!({"active": false})
        );
        set_introspect_all_accounts(
            app.store(),
            app.now(),
            &resource_server.application,
            true,
            &Actor::operator(),
        )
        .await
        .expect("operator setting");
        let seen = app.introspect(&resource_server, &bobs).await;
        assert_eq!(
            (&seen["active"], &seen["account"]),
            (&json!(true), &json!("other"))
        );
        app.stop().await;
    })
    .await;
}

#[tokio::test]
async fn checking_a_key_spends_no_rate_limit_and_is_no_use_of_it() {
    each_backend(|backend| async move {
        let app = TestApp::start_with(backend, |config| {
            config.rate_limit.per_minute = 30;
            config.rate_limit.per_second = 0;
        })
        .await;
        let seeded = crate::harness::seed(&app).await;
        let resource_server: Client = app
            .register_client(seeded.acme.id, ClientSpec::resource_server())
            .await;
        let key = app.key(&seeded.owner, None).await;

        for _ in 0..50 {
            assert!(is_active(&app, &resource_server, &key).await);
        }
        assert_eq!(last_used(&app, &key).await, None, "introspection is no use");

        let me = send(app.request(Method::GET, "/api/v1/me", &key)).await;
        assert_eq!(me.0, 200, "{}", me.2);
        let remaining = me.1.get("x-ratelimit-remaining").expect("header");
        assert_eq!(remaining, "29", "the 50 checks counted nothing");
        assert!(last_used(&app, &key).await.is_some(), "a real use is");
        app.stop().await;
    })
    .await;
}
