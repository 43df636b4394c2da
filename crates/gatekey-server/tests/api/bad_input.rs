//! Malformed requests get a 4xx in the API's error shape, never a 500.

use reqwest::header::CONTENT_TYPE;
use reqwest::Method;
use serde_json::json;

use crate::harness::{assert_error, each_backend, seed, send, TestApp};

#[tokio::test]
async fn malformed_bodies() {
    each_backend(|backend| async move {
        let (app, seeded) = TestApp::start_seeded(backend).await;
        let key = app.key(&seeded.owner, None).await;
        let post = || app.request(Method::POST, "/api/v1/api_keys", &key);

        let broken = send(
            post()
                .header(CONTENT_TYPE, "application/json")
                .body(r#"{"name": "unterminated"#),
        )
        .await;
        assert_error(&broken, 400, "invalid_request");

        let plain = send(
            post()
                .header(CONTENT_TYPE, "text/plain")
                .body(r#"{"name": "plain"}"#),
        )
        .await;
        assert_error(&plain, 415, "unsupported_media_type");
        let no_type = send(post().body(r#"{"name": "untyped"}"#)).await;
        assert_error(&no_type, 415, "unsupported_media_type");

        let huge = json!({"name": "huge", "padding": "x".repeat(70 * 1024)});
        let too_large = send(post().json(&huge)).await;
        assert_error(&too_large, 413, "payload_too_large");

        let unknown = send(post().json(&json!({"name": "typo", "scope": ["read"]}))).await;
        assert_error(&unknown, 422, "invalid_request");
        assert!(
            unknown.2["error_description"]
                .as_str()
                .unwrap()
                .contains("scope"),
            "names the unknown field: {}",
            unknown.2
        );
        let wrong_type = send(post().json(&json!({"name": 42}))).await;
        assert_error(&wrong_type, 422, "invalid_request");
        // Serde reads an array as a struct's fields in order: `["k"]` would be `{"name":"k"}`.
        for array in [json!(["positional"]), json!([null, null]), json!([])] {
            let refused = send(post().json(&array)).await;
            assert_error(&refused, 422, "invalid_request");
        }

        for name in ["", "   ", " padded "] {
            let bad_name = send(post().json(&json!({ "name": name }))).await;
            assert_error(&bad_name, 400, "invalid_request");
        }
        let bad_scope = send(post().json(&json!({"name": "x", "scopes": ["sudo"]}))).await;
        assert_error(&bad_scope, 400, "invalid_scope");

        let keys = send(app.request(Method::GET, "/api/v1/api_keys", &key)).await;
        assert_eq!(
            keys.2["pagination"]["total_records"], 1,
            "none of these made a key: {}",
            keys.2
        );
        app.stop().await;
    })
    .await;
}

#[tokio::test]
async fn bad_users() {
    each_backend(|backend| async move {
        let (app, seeded) = TestApp::start_seeded(backend).await;
        let key = app.key(&seeded.owner, None).await;
        let create = |body: serde_json::Value| {
            send(app.request(Method::POST, "/api/v1/users", &key).json(&body))
        };

        for email in ["not-an-email", "a b@acme.test", "ada@", "@acme.test"] {
            let bad = create(json!({"email": email, "name": "Ada", "role": "member"})).await;
            assert_error(&bad, 400, "invalid_request");
        }
        let bad_role =
            create(json!({"email": "ada@acme.test", "name": "Ada", "role": "superuser"})).await;
        assert_error(&bad_role, 400, "invalid_request");
        // A person chooses their own password when accepting the invitation: an admin sets none.
        for password in ["short", "a long enough password"] {
            let with_password = create(json!({
                "email": "ada@acme.test", "name": "Ada", "role": "member", "password": password
            }))
            .await;
            assert_error(&with_password, 400, "invalid_request");
            assert_eq!(
                with_password.2["error_description"],
                "a person chooses their own password when accepting the invitation; leave out `password`",
                "one sentence, as written"
            );
        }

        for email in ["owner@acme.test", "Owner@ACME.test"] {
            let duplicate =
                create(json!({"email": email, "name": "Again", "role": "member"})).await;
            assert_error(&duplicate, 409, "conflict");
        }
        let users = send(app.request(Method::GET, "/api/v1/users", &key)).await;
        assert_eq!(
            users.2["pagination"]["total_records"], 1,
            "no user was made: {}",
            users.2
        );
        app.stop().await;
    })
    .await;
}

#[tokio::test]
async fn bad_pages() {
    each_backend(|backend| async move {
        let (app, seeded) = TestApp::start_seeded(backend).await;
        let key = app.key(&seeded.owner, None).await;

        for list in ["/api/v1/api_keys", "/api/v1/users", "/api/v1/audits"] {
            for query in [
                "page=0",
                // Past the largest signed 32-bit integer, which the OpenAPI document promises.
                "page=2147483648",
                "per_page=0",
                "per_page=500",
                "page=abc",
                "per_page=-1",
            ] {
                let refused =
                    send(app.request(Method::GET, &format!("{list}?{query}"), &key)).await;
                assert_error(&refused, 400, "invalid_request");
            }
            let largest =
                send(app.request(Method::GET, &format!("{list}?per_page=200"), &key)).await;
            assert_eq!(largest.0, 200, "{list}: {}", largest.2);
            let past_the_end =
                send(app.request(Method::GET, &format!("{list}?page=9"), &key)).await;
            assert_eq!(past_the_end.0, 200, "{list}: {}", past_the_end.2);
            assert_eq!(past_the_end.2["pagination"]["current_page"], 9);
            let last_page =
                send(app.request(Method::GET, &format!("{list}?page=2147483647"), &key)).await;
            assert_eq!(last_page.0, 200, "{list}: {}", last_page.2);
            assert_eq!(last_page.2["pagination"]["current_page"], 2147483647_u32);
        }
        app.stop().await;
    })
    .await;
}

#[tokio::test]
async fn wrong_methods_and_paths() {
    each_backend(|backend| async move {
        let (app, seeded) = TestApp::start_seeded(backend).await;
        let key = app.key(&seeded.owner, None).await;

        let delete_me = send(app.request(Method::DELETE, "/api/v1/me", &key)).await;
        assert_error(&delete_me, 405, "method_not_allowed");
        let put_keys = send(app.request(Method::PUT, "/api/v1/api_keys", &key)).await;
        assert_error(&put_keys, 405, "method_not_allowed");
        for path in ["/api/v1/nothing", "/api/v2/me", "/no/such/page"] {
            let missing = send(app.request(Method::GET, path, &key)).await;
            assert_error(&missing, 404, "not_found");
        }
        for (method, path) in [
            (Method::GET, "/api/v1/users/abc"),
            (Method::GET, "/api/v1/users/1.5/api_keys"),
            (Method::DELETE, "/api/v1/api_keys/abc"),
            (Method::DELETE, "/api/v1/service_accounts/abc"),
        ] {
            let not_a_number = send(app.request(method, path, &key)).await;
            assert_error(&not_a_number, 400, "invalid_request");
        }
        let no_such_key = send(app.request(Method::DELETE, "/api/v1/api_keys/999999", &key)).await;
        assert_error(&no_such_key, 404, "not_found");
        app.stop().await;
    })
    .await;
}

#[tokio::test]
async fn a_credential_in_the_query_string_is_refused_even_with_the_header() {
    each_backend(|backend| async move {
        let (app, seeded) = TestApp::start_seeded(backend).await;
        let key = app.key(&seeded.owner, None).await;

        for name in ["access_token", "api_key", "token", "Access_Token"] {
            let refused =
                send(app.request(Method::GET, &format!("/api/v1/me?{name}={key}"), &key)).await;
            assert_error(&refused, 400, "invalid_request");
        }
        let created = send(
            app.request(
                Method::POST,
                &format!("/api/v1/api_keys?access_token={key}"),
                &key,
            )
            .json(&json!({"name": "via the URL"})),
        )
        .await;
        assert_error(&created, 400, "invalid_request");
        let keys = send(app.request(Method::GET, "/api/v1/api_keys", &key)).await;
        assert_eq!(keys.2["pagination"]["total_records"], 1, "{}", keys.2);
        app.stop().await;
    })
    .await;
}

/// A JSON array in place of the object is refused, not read as the fields in order: found by
/// the OpenAPI check, where `[null, null]` removed a catalogue scope's group.
#[tokio::test]
async fn array_bodies_change_nothing() {
    each_backend(|backend| async move {
        let app =
            TestApp::start_with(backend, |config| config.operator_account = "acme".into()).await;
        let seeded = seed(&app).await;
        let key = app.key(&seeded.owner, None).await;
        let scope =
            json!({"name": "reports.read", "description": "Read reports", "group": "Reports"});
        app.create("/api/v1/scopes", &key, scope).await;
        let patched = app
            .send_json(
                Method::PATCH,
                "/api/v1/scopes/reports.read",
                &key,
                json!([null, null]),
            )
            .await;
        assert_error(&patched, 422, "invalid_request");
        let listed = send(app.request(Method::GET, "/api/v1/scopes?per_page=200", &key)).await;
        let entry = listed.2["scopes"]
            .as_array()
            .expect("scopes")
            .iter()
            .find(|s| s["name"] == "reports.read")
            .cloned()
            .expect("the scope");
        assert_eq!(entry["group"], "Reports", "{entry}");
        app.stop().await;
    })
    .await;
}
