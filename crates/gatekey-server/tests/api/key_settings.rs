//! Who sets a key's name, meta, limits and credits (`POST /api/v1/api_keys`,
//! `POST /api/v1/users/{id}/api_keys`, `PATCH /api/v1/api_keys/{id}`): the key's holder its
//! name and meta; an admin of the account its limits, credits and refill, the holder's own
//! included; nobody another account's key. And every bad value is a clear 4xx.

use gatekey_core::api_key_usage::{KeyLimits, KeyUsageSettings};
use gatekey_core::role::Role;
use gatekey_core::store::ApiKeyStore;
use reqwest::Method;
use serde_json::{json, Value};

use crate::harness::{assert_error, each_backend, send, Answer, TestApp};

async fn patch(app: &TestApp, key: &str, id: i64, body: Value) -> Answer {
    app.send_json(Method::PATCH, &format!("/api/v1/api_keys/{id}"), key, body)
        .await
}

#[tokio::test]
async fn the_holder_sets_name_and_meta_and_only_an_admin_meters_a_key() {
    each_backend(|backend| async move {
        let (app, seeded, admin, member) = TestApp::start_with_team(backend).await;
        let member_key = app.key(&member, None).await;
        let admin_key = app.key(&admin, None).await;
        let id = app.key_id(&member_key).await;

        let renamed = patch(
            &app,
            &member_key,
            id,
            json!({"name": "ci", "meta": {"plan": "pro", "seats": 3}}),
        )
        .await;
        assert_eq!(renamed.0, 200, "{}", renamed.2);
        assert_eq!(renamed.2["name"], "ci");
        assert_eq!(renamed.2["meta"], json!({"plan": "pro", "seats": 3}));

        for metering in [
            json!({"credits_remaining": 1_000_000}),
            json!({"rate_per_minute": null}),
            json!({"credits_refill": null}),
        ] {
            let refused = patch(&app, &member_key, id, metering.clone()).await;
            assert_error(&refused, 403, "forbidden");
            assert!(
                refused.2["error_description"]
                    .as_str()
                    .unwrap()
                    .contains("admin"),
                "{metering}: {}",
                refused.2
            );
        }
        let own_credits = app
            .post_api_key(&member_key, json!({"name": "more", "credits_remaining": 5}))
            .await;
        assert_error(&own_credits, 403, "forbidden");
        let own_meta = app
            .post_api_key(&member_key, json!({"name": "tagged", "meta": {"team": "x"}}))
            .await;
        assert_eq!(own_meta.0, 201, "{}", own_meta.2);
        assert_eq!(own_meta.2["meta"], json!({"team": "x"}));

        let metered = patch(
            &app,
            &admin_key,
            id,
            json!({"credits_remaining": 500, "credits_refill": {"amount": 500, "interval": "monthly"},
                   "rate_per_second": 5, "rate_per_minute": 100, "rate_per_hour": 1000}),
        )
        .await;
        assert_eq!(metered.0, 200, "{}", metered.2);
        assert_eq!(metered.2["credits_remaining"], 500);
        assert_eq!(
            metered.2["credits_refill"],
            json!({"amount": 500, "interval": "monthly"})
        );
        assert!(metered.2["credits_refilled_at"].is_string());
        assert_eq!(
            (
                &metered.2["rate_per_second"],
                &metered.2["rate_per_minute"],
                &metered.2["rate_per_hour"]
            ),
            (&json!(5), &json!(100), &json!(1000))
        );
        assert_eq!(metered.2["meta"], json!({"plan": "pro", "seats": 3}), "kept");
        let events = app.audit_events_of(&admin_key, "api_key.updated").await;
        assert_eq!(
            events[0]["detail"],
            "changed rate_per_second, rate_per_minute, rate_per_hour, credits_remaining, credits_refill"
        );

        let cleared = patch(
            &app,
            &admin_key,
            id,
            json!({"rate_per_second": null, "credits_remaining": null, "meta": null}),
        )
        .await;
        assert_eq!(cleared.0, 200, "{}", cleared.2);
        assert_eq!(cleared.2["rate_per_second"], Value::Null);
        assert_eq!(cleared.2["rate_per_minute"], 100, "untouched");
        assert_eq!(cleared.2["credits_remaining"], Value::Null);
        assert_eq!(cleared.2["credits_refill"], Value::Null, "cleared with the credits");
        assert_eq!(cleared.2["meta"], Value::Null);

        // An admin may not change an owner's key; nobody reaches another account's.
        let owner_key = app.key(&seeded.owner, None).await;
        let owners = app.key_id(&owner_key).await;
        assert_error(
            &patch(&app, &admin_key, owners, json!({"name": "mine now"})).await,
            403,
            "forbidden",
        );
        let (_, stranger) = app
            .person_with_key(&seeded.other, "x@other.test", Role::Owner)
            .await;
        assert_error(
            &patch(&app, &stranger, id, json!({"name": "x"})).await,
            404,
            "not_found",
        );
        // A member may not touch another member's key at all.
        let (_, peer) = app
            .person_with_key(&seeded.acme, "peer@acme.test", Role::Member)
            .await;
        assert_error(
            &patch(&app, &peer, id, json!({"name": "x"})).await,
            403,
            "insufficient_scope",
        );
        let (status, _, _) = send(app.request(
            Method::DELETE,
            &format!("/api/v1/api_keys/{id}"),
            &admin_key,
        ))
        .await;
        assert_eq!(status, 204);
        assert_error(
            &patch(&app, &admin_key, id, json!({"name": "late"})).await,
            409,
            "conflict",
        );
        app.stop().await;
    })
    .await;
}

#[tokio::test]
async fn a_metered_key_creates_keys_only_for_an_admin() {
    each_backend(|backend| async move {
        let (app, _, admin, member) = TestApp::start_with_team(backend).await;
        let limited = KeyUsageSettings {
            limits: KeyLimits {
                per_minute: Some(1_000),
                ..KeyLimits::default()
            },
            ..KeyUsageSettings::default()
        };
        let members = app.metered_key(&member, limited.clone()).await;
        let escape = app
            .post_api_key(&members, json!({"name": "unmetered"}))
            .await;
        assert_error(&escape, 403, "forbidden");
        assert!(escape.2["error_description"]
            .as_str()
            .unwrap()
            .contains("escape"));
        let admins = app.metered_key(&admin, limited).await;
        let made = app
            .post_api_key(&admins, json!({"name": "child", "credits_remaining": 10}))
            .await;
        assert_eq!(made.0, 201, "{}", made.2);
        assert_eq!(made.2["credits_remaining"], 10);
        app.stop().await;
    })
    .await;
}

#[tokio::test]
async fn bad_meta_limits_and_credits_are_refused_clearly() {
    each_backend(|backend| async move {
        let (app, seeded) = TestApp::start_seeded(backend).await;
        let owner = app.key(&seeded.owner, None).await;
        let id = app.key_id(&owner).await;
        let big = "x".repeat(2_100);
        let bad_values = [
            (json!({"meta": [1, 2]}), "meta must be a JSON object"),
            (json!({"meta": "text"}), "meta must be a JSON object"),
            (json!({"meta": {"blob": big}}), "at most 2048 bytes"),
            (json!({"rate_per_second": 0}), "rate_per_second must be from 1 to 1000000"),
            (json!({"rate_per_minute": -5}), "rate_per_minute must be from 1"),
            (json!({"rate_per_hour": 1_000_001}), "rate_per_hour must be from 1"),
            (json!({"credits_remaining": -1}), "credits_remaining must be from 0"),
            (json!({"credits_remaining": 1_000_000_000_001_i64}), "credits_remaining must be from 0"),
            (json!({"credits_remaining": 5, "credits_refill": {"amount": 0, "interval": "daily"}}), "amount must be from 1"),
            (json!({"credits_remaining": 5, "credits_refill": {"amount": 5, "interval": "weekly"}}), "\"daily\" or \"monthly\""),
            (json!({"credits_refill": {"amount": 5, "interval": "daily"}}), "needs credits_remaining"),
        ];
        for (body, says) in bad_values {
            let mut create = body.clone();
            create["name"] = json!("bad");
            for answer in [
                app.post_api_key(&owner, create).await,
                patch(&app, &owner, id, body.clone()).await,
            ] {
                assert_error(&answer, 400, "invalid_request");
                let description = answer.2["error_description"].as_str().unwrap();
                assert!(description.contains(says), "{body}: {description}");
            }
        }
        let bad_shapes = [
            json!({"rate_per_second": "10"}),
            json!({"rate_per_second": 1.5}),
            json!({"credits_remaining": 1e30}),
            json!({"credits_refill": {"amount": 5}}),
            json!({"credits_refill": {"amount": 5, "interval": "daily", "day": 3}}),
            json!({"scopes": ["read"]}),
        ];
        for body in bad_shapes {
            let answer = patch(&app, &owner, id, body.clone()).await;
            assert_error(&answer, 422, "invalid_request");
        }
        let key = app.store().api_key_by_id(id).await.unwrap().unwrap();
        assert!(key.meta.is_none() && key.credits.is_none() && key.limits.is_empty());
        app.stop().await;
    })
    .await;
}
