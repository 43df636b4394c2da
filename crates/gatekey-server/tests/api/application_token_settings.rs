//! An application's token settings over the admin API: the ID token signing algorithm, the
//! access token format, the resource indicators (RFC 8707) and the post-logout redirect URIs
//! (OpenID Connect RP-Initiated Logout 1.0), with their defaults, partial updates and the
//! refusal of bad values.

use gatekey_core::oauth::application::{AccessTokenFormat, SigningAlgorithm};
use gatekey_core::oauth::store::ApplicationStore;
use reqwest::Method;
use serde_json::{json, Value};

use crate::harness::{assert_error, each_backend, send, TestApp};

type Answer = (u16, reqwest::header::HeaderMap, Value);

async fn create(app: &TestApp, key: &str, body: Value) -> Answer {
    send(
        app.request(Method::POST, "/api/v1/applications", key)
            .json(&body),
    )
    .await
}

async fn patch(app: &TestApp, key: &str, id: i64, body: Value) -> Answer {
    send(
        app.request(Method::PATCH, &format!("/api/v1/applications/{id}"), key)
            .json(&body),
    )
    .await
}

fn portal(extra: Value) -> Value {
    let mut body = json!({
        "name": "Portal",
        "client_type": "public",
        "redirect_uris": ["https://portal.example/cb"],
    });
    for (name, value) in extra.as_object().unwrap() {
        body[name] = value.clone();
    }
    body
}

#[tokio::test]
async fn token_settings_default_and_change_through_the_api() {
    each_backend(|backend| async move {
        let (app, seeded) = TestApp::start_seeded(backend).await;
        let key = app.key(&seeded.owner, None).await;

        let plain = create(&app, &key, portal(json!({}))).await;
        assert_eq!(plain.0, 201, "{}", plain.2);
        assert_eq!(plain.2["id_token_signed_response_alg"], "RS256");
        assert_eq!(plain.2["access_token_format"], "opaque");
        assert_eq!(plain.2["resources"], json!([]));
        assert_eq!(plain.2["post_logout_redirect_uris"], json!([]));

        let made = create(
            &app,
            &key,
            portal(json!({
                "id_token_signed_response_alg": "EdDSA",
                "access_token_format": "jwt",
                "resources": ["https://api.example.com", "urn:example:billing", "https://api.example.com"],
                "post_logout_redirect_uris": ["https://portal.example/bye", "http://127.0.0.1:8080/bye"],
            })),
        )
        .await;
        assert_eq!(made.0, 201, "{}", made.2);
        assert_eq!(made.2["id_token_signed_response_alg"], "EdDSA");
        assert_eq!(made.2["access_token_format"], "jwt");
        assert_eq!(
            made.2["resources"],
            json!(["https://api.example.com", "urn:example:billing"]),
            "each once, in order"
        );
        assert_eq!(
            made.2["post_logout_redirect_uris"],
            json!(["https://portal.example/bye", "http://127.0.0.1:8080/bye"])
        );
        let id = made.2["id"].as_i64().unwrap();
        let client_id = made.2["client_id"].as_str().unwrap().to_owned();

        let shown = send(app.request(Method::GET, &format!("/api/v1/applications/{id}"), &key)).await;
        assert_eq!(shown.0, 200, "{}", shown.2);
        for field in [
            "id_token_signed_response_alg",
            "access_token_format",
            "resources",
            "post_logout_redirect_uris",
        ] {
            assert_eq!(shown.2[field], made.2[field], "{field}");
        }

        let changed = patch(
            &app,
            &key,
            id,
            json!({"id_token_signed_response_alg": "ES256", "resources": []}),
        )
        .await;
        assert_eq!(changed.0, 200, "{}", changed.2);
        assert_eq!(changed.2["id_token_signed_response_alg"], "ES256");
        assert_eq!(changed.2["resources"], json!([]));
        assert_eq!(changed.2["access_token_format"], "jwt", "left as it was");
        assert_eq!(
            changed.2["post_logout_redirect_uris"],
            made.2["post_logout_redirect_uris"],
            "left as it was"
        );
        let stored = app
            .store()
            .application_by_client_id(&client_id)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(stored.id_token_signed_response_alg, SigningAlgorithm::Es256);
        assert_eq!(stored.access_token_format, AccessTokenFormat::Jwt);
        assert!(stored.resources.is_empty());

        let audits = send(app.request(Method::GET, "/api/v1/audits?per_page=5", &key)).await;
        let update = audits.2["audits"]
            .as_array()
            .unwrap()
            .iter()
            .find(|a| a["action"] == "application.updated")
            .cloned()
            .expect("an update event");
        let detail = update["detail"].as_str().unwrap_or_default();
        assert!(
            detail.contains("id_token_signed_response_alg") && detail.contains("resources"),
            "{update}"
        );
        app.stop().await;
    })
    .await;
}

#[tokio::test]
async fn bad_token_settings_are_refused_with_the_reason() {
    each_backend(|backend| async move {
        let (app, seeded) = TestApp::start_seeded(backend).await;
        let key = app.key(&seeded.owner, None).await;
        for (extra, says) in [
            (
                json!({"id_token_signed_response_alg": "none"}),
                "ID token signing algorithm",
            ),
            (
                json!({"id_token_signed_response_alg": "rs256"}),
                "RS256, ES256 or EdDSA",
            ),
            (
                json!({"id_token_signed_response_alg": "HS256"}),
                "RS256, ES256 or EdDSA",
            ),
            (json!({"access_token_format": "JWT"}), "opaque or jwt"),
            (json!({"resources": ["/api"]}), "not an absolute URI"),
            (
                json!({"resources": ["https://api.example.com#x"]}),
                "fragment",
            ),
            (
                json!({"resources": ["https://api.example.com\nhttps://evil.example"]}),
                "whitespace",
            ),
            (
                json!({"post_logout_redirect_uris": ["http://portal.example/bye"]}),
                "https",
            ),
            (
                json!({"post_logout_redirect_uris": ["https://portal.example/bye#x"]}),
                "fragment",
            ),
            (
                json!({"post_logout_redirect_uris": ["com.example.app:/bye"]}),
                "https",
            ),
            (
                json!({"post_logout_redirect_uris": ["https://portal.example/b ye"]}),
                "whitespace",
            ),
        ] {
            let refused = create(&app, &key, portal(extra.clone())).await;
            assert_error(&refused, 400, "invalid_request");
            let description = refused.2["error_description"].as_str().unwrap();
            assert!(description.contains(says), "{extra}: {description}");
        }
        let many: Vec<String> = (0..21).map(|i| format!("https://r{i}.example")).collect();
        let refused = create(&app, &key, portal(json!({ "resources": many }))).await;
        assert_error(&refused, 400, "invalid_request");

        let made = create(
            &app,
            &key,
            portal(json!({"resources": ["https://api.example.com"]})),
        )
        .await;
        assert_eq!(made.0, 201, "{}", made.2);
        let id = made.2["id"].as_i64().unwrap();
        for extra in [
            json!({"access_token_format": "reference"}),
            json!({"resources": ["api"]}),
            json!({"post_logout_redirect_uris": ["javascript:alert(1)"]}),
        ] {
            let refused = patch(&app, &key, id, extra.clone()).await;
            assert_error(&refused, 400, "invalid_request");
        }
        let unchanged =
            send(app.request(Method::GET, &format!("/api/v1/applications/{id}"), &key)).await;
        assert_eq!(unchanged.2["resources"], json!(["https://api.example.com"]));
        assert_eq!(unchanged.2["access_token_format"], "opaque");
        app.stop().await;
    })
    .await;
}
