//! `POST /api/v1/keys/verify`: each verdict code; an admin's credential or an application with
//! the `verify_keys` permission asks, about its own account's keys only; the check counts as
//! the key's use (limits, credits); and a cached key is answered from memory.

use gatekey_core::api_key_usage::{KeyLimits, KeyMeta, KeyUsageSettings};
use gatekey_core::role::Role;
use gatekey_core::secret::{Secret, SecretKind};
use reqwest::Method;
use serde_json::{json, Value};
use time::Duration;

use crate::harness::{assert_error, each_backend, seed, send, Answer, TestApp};

const VERIFY: &str = "/api/v1/keys/verify";

async fn verify(app: &TestApp, asker: &str, key: &str) -> Answer {
    app.send_json(Method::POST, VERIFY, asker, json!({ "key": key }))
        .await
}

/// The verdict `asker` gets for `key`: its code, after checking the answer is a 200.
async fn code(app: &TestApp, asker: &str, key: &str) -> String {
    let (status, headers, body) = verify(app, asker, key).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(headers["cache-control"], "no-store");
    assert_eq!(body["valid"], body["code"] == "VALID", "{body}");
    body["code"].as_str().expect("a code").to_owned()
}

fn usage(meta: Option<Value>, credits: Option<i64>, per_second: Option<u32>) -> KeyUsageSettings {
    KeyUsageSettings {
        meta: meta.map(|m| KeyMeta::from_value(&m).unwrap()),
        limits: KeyLimits {
            per_second,
            ..KeyLimits::default()
        },
        credits,
        refill: None,
    }
}

/// The count of credential checks with `outcome` in the app's metrics.
fn checks(app: &TestApp, outcome: &str) -> u64 {
    let mark = format!("gatekey_credential_checks_total{{outcome=\"{outcome}\"}} ");
    app.server
        .state
        .metrics
        .render()
        .lines()
        .find_map(|line| line.strip_prefix(&mark)?.parse().ok())
        .unwrap_or(0)
}

#[tokio::test]
async fn each_verdict_for_an_administrator() {
    each_backend(|backend| async move {
        let (app, clock) = TestApp::start_with_manual_clock(backend, |_| {}).await;
        let seeded = seed(&app).await;
        let admin = app.key(&seeded.owner, None).await;

        let meta = json!({"plan": "pro", "customer": "Zoë"});
        let sold = app
            .metered_key(&seeded.owner, usage(Some(meta.clone()), Some(2), Some(10)))
            .await;
        let (status, _, first) = verify(&app, &admin, &sold).await;
        assert_eq!(status, 200);
        assert_eq!(first["valid"], true);
        assert_eq!(first["code"], "VALID");
        assert_eq!(first["user"]["email"], "owner@acme.test");
        assert_eq!(first["account"]["slug"], "acme");
        assert_eq!(first["scopes"], json!(["read", "write", "admin"]));
        assert_eq!(first["meta"], meta);
        assert_eq!(first["remaining"], 1);
        assert_eq!(first["ratelimit"]["limit"], 10);
        assert_eq!(first["ratelimit"]["remaining"], 9);
        assert!(first["key_id"].is_number());
        assert_eq!(code(&app, &admin, &sold).await, "VALID");
        let (_, _, spent) = verify(&app, &admin, &sold).await;
        assert_eq!(spent["code"], "USAGE_EXCEEDED");
        assert_eq!(
            (&spent["valid"], &spent["remaining"]),
            (&json!(false), &json!(0))
        );
        assert_eq!(spent["meta"], meta, "who it is still shows");
        let real_call = send(app.request(Method::GET, "/api/v1/me", &sold)).await;
        assert_error(&real_call, 429, "usage_exceeded");

        let limited = app
            .metered_key(&seeded.owner, usage(None, None, Some(1)))
            .await;
        assert_eq!(code(&app, &admin, &limited).await, "VALID");
        assert_eq!(code(&app, &admin, &limited).await, "RATE_LIMITED");

        let never = Secret::generate(SecretKind::ApiKey);
        assert_eq!(code(&app, &admin, never.expose()).await, "NOT_FOUND");
        assert_eq!(code(&app, &admin, "gk_key_typo").await, "NOT_FOUND");
        assert_eq!(code(&app, &admin, "").await, "NOT_FOUND");
        let (_, elsewhere) = app
            .person_with_key(&seeded.other, "x@other.test", Role::Owner)
            .await;
        assert_eq!(
            code(&app, &admin, &elsewhere).await,
            "NOT_FOUND",
            "another account's key, valid there"
        );
        assert!(app.accepts(&elsewhere).await, "and not spent or harmed");

        let revoked = app.key(&seeded.owner, None).await;
        let id = app.key_id(&revoked).await;
        let path = format!("/api/v1/api_keys/{id}");
        assert_eq!(
            send(app.request(Method::DELETE, &path, &admin)).await.0,
            204
        );
        assert_eq!(code(&app, &admin, &revoked).await, "REVOKED");
        let other_owner = app.key(&seeded.owner, None).await;
        let (_, _, stranger_view) = verify(&app, &elsewhere, &other_owner).await;
        assert_eq!(stranger_view["code"], "NOT_FOUND");

        let robot = app
            .service_account(&seeded.acme, "robot", Role::Member)
            .await;
        let robots = app.key(&robot, None).await;
        app.disable_user(&robot).await;
        assert_eq!(code(&app, &admin, &robots).await, "DISABLED");

        let member = app.person(&seeded.acme, "m@acme.test", Role::Member).await;
        let expiring = app
            .key_expiring(&member, None, Some(app.now() + Duration::hours(1)))
            .await;
        assert_eq!(code(&app, &admin, &expiring).await, "VALID", "now cached");
        clock.advance(Duration::hours(2));
        assert_eq!(code(&app, &admin, &expiring).await, "EXPIRED");
        app.stop().await;
    })
    .await;
}

#[tokio::test]
async fn a_cached_key_is_answered_from_memory_with_its_meta() {
    each_backend(|backend| async move {
        let (app, seeded) = TestApp::start_seeded(backend).await;
        let admin = app.key(&seeded.owner, None).await;
        let meta = json!({"tier": 3});
        let key = app
            .metered_key(&seeded.owner, usage(Some(meta.clone()), Some(100), None))
            .await;
        let (_, _, first) = verify(&app, &admin, &key).await;
        assert_eq!(first["meta"], meta);
        let from_database = checks(&app, "verified");
        let from_memory = checks(&app, "cache_hit");
        for _ in 0..5 {
            let (_, _, again) = verify(&app, &admin, &key).await;
            assert_eq!((&again["code"], &again["meta"]), (&json!("VALID"), &meta));
        }
        assert_eq!(
            checks(&app, "verified"),
            from_database,
            "no database lookup"
        );
        // Each verify checks the asker's key and the key asked about, both cached.
        assert_eq!(checks(&app, "cache_hit"), from_memory + 10);
        app.stop().await;
    })
    .await;
}

/// Registers, over the API, a confidential application of the account of `admin` that only
/// verifies keys (or only introspects, without the permission); its client id and secret.
async fn key_service(app: &TestApp, admin: &str, verify_keys: bool) -> (String, String) {
    let body = json!({
        "name": "Billing service",
        "client_type": "confidential",
        "grant_types": [],
        "introspect": !verify_keys,
        "verify_keys": verify_keys,
    });
    let created = app.create("/api/v1/applications", admin, body).await;
    assert_eq!(created["verify_keys"], verify_keys);
    (
        created["client_id"].as_str().unwrap().to_owned(),
        created["client_secret"].as_str().unwrap().to_owned(),
    )
}

async fn verify_as_app(app: &TestApp, (id, secret): &(String, String), key: &str) -> Answer {
    let request = app
        .http
        .post(app.url(VERIFY))
        .basic_auth(id, Some(secret))
        .json(&json!({ "key": key }));
    send(request).await
}

#[tokio::test]
async fn an_admin_or_an_application_with_the_permission_asks_about_its_own_account() {
    each_backend(|backend| async move {
        let (app, seeded, _, member) = TestApp::start_with_team(backend).await;
        let admin = app.key(&seeded.owner, None).await;
        let key = app.key(&member, None).await;

        let verifier = key_service(&app, &admin, true).await;
        let (status, headers, answer) = verify_as_app(&app, &verifier, &key).await;
        assert_eq!(
            (status, &answer["code"]),
            (200, &json!("VALID")),
            "{answer}"
        );
        assert_eq!(answer["user"]["email"], "member@acme.test");
        assert_eq!(headers["cache-control"], "no-store");

        let introspector = key_service(&app, &admin, false).await;
        assert_error(
            &verify_as_app(&app, &introspector, &key).await,
            403,
            "forbidden",
        );
        let wrong = (verifier.0.clone(), "gk_cs_wrong".to_owned());
        assert_error(
            &verify_as_app(&app, &wrong, &key).await,
            401,
            "invalid_client",
        );

        let (_, stranger) = app
            .person_with_key(&seeded.other, "x@other.test", Role::Owner)
            .await;
        let foreign_verifier = key_service(&app, &stranger, true).await;
        let (_, _, foreign) = verify_as_app(&app, &foreign_verifier, &key).await;
        assert_eq!(foreign["code"], "NOT_FOUND");
        assert_eq!(foreign["user"], Value::Null, "nothing about the key");

        assert_error(&verify(&app, &key, &admin).await, 403, "insufficient_scope");
        let anonymous = send(app.http.post(app.url(VERIFY)).json(&json!({ "key": key }))).await;
        assert_error(&anonymous, 401, "unauthorized");
        let in_url = send(
            app.request(Method::POST, &format!("{VERIFY}?key={key}"), &admin)
                .json(&json!({ "key": key })),
        )
        .await;
        assert_error(&in_url, 400, "invalid_request");
        app.stop().await;
    })
    .await;
}

#[tokio::test]
async fn a_bad_verify_body_is_refused_clearly() {
    each_backend(|backend| async move {
        let (app, seeded) = TestApp::start_seeded(backend).await;
        let admin = app.key(&seeded.owner, None).await;
        for body in [
            json!({}),
            json!({ "key": 5 }),
            json!({ "key": "gk_key_x", "cost": 3 }),
            json!(["gk_key_x"]),
        ] {
            let answer = app
                .send_json(Method::POST, VERIFY, &admin, body.clone())
                .await;
            assert_error(&answer, 422, "invalid_request");
        }
        let not_json = send(
            app.request(Method::POST, VERIFY, &admin)
                .body("key=gk_key_x"),
        )
        .await;
        assert_error(&not_json, 415, "unsupported_media_type");
        let long = "k".repeat(513);
        let refused = verify(&app, &admin, &long).await;
        assert_error(&refused, 400, "invalid_request");
        assert_eq!(code(&app, &admin, &"k".repeat(512)).await, "NOT_FOUND");
        app.stop().await;
    })
    .await;
}
