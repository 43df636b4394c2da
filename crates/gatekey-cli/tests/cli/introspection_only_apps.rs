//! A resource server that only introspects: registered from the command line with no grant type
//! and no redirect URI, it checks the API keys of its account at a running server.

use gatekey_store::testing::{backends, TestDatabase};
use serde_json::{json, Value};

use crate::fixtures::{create_app, seed_owner_key, try_create_app};
use crate::process::{admin, Server};

/// Asserts a refusal: exit code 1 and standard error containing `hint`.
#[track_caller]
fn assert_refused(output: &std::process::Output, hint: &str) {
    let reason = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{reason}");
    assert!(reason.contains(hint), "{reason}");
}

#[tokio::test]
async fn an_introspection_only_application_registers_and_checks_api_keys() {
    for backend in backends() {
        let db = TestDatabase::create(backend).await;
        let url = db.url.as_str();
        let key = seed_owner_key(url);

        let made = create_app(
            url,
            "Orders API",
            "confidential",
            &["--introspect", "--no-grant-type"],
        );
        assert_eq!(
            (
                &made["grant_types"],
                &made["redirect_uris"],
                &made["introspect"]
            ),
            (&json!([]), &json!([]), &json!(true)),
            "{made}"
        );
        let client_id = made["client_id"].as_str().expect("client id").to_owned();
        let secret = made["client_secret"].as_str().expect("secret").to_owned();
        let shown = admin(url, &["app", "show", &client_id]);
        let text = String::from_utf8_lossy(&shown.stdout);
        assert!(
            text.contains("grant types:     none") && text.contains("redirect URIs:   none"),
            "{text}"
        );

        assert_refused(
            &try_create_app(url, "Useless", "confidential", &["--no-grant-type"]),
            "only introspects",
        );
        assert_refused(
            &try_create_app(
                url,
                "Public",
                "public",
                &["--introspect", "--no-grant-type"],
            ),
            "needs at least one grant type",
        );
        let both = try_create_app(
            url,
            "Both",
            "confidential",
            &["--no-grant-type", "--grant-type", "client_credentials"],
        );
        assert_eq!(
            both.status.code(),
            Some(2),
            "conflicting flags are bad usage"
        );
        assert_refused(
            &admin(url, &["app", "update", &client_id, "--no-introspect"]),
            "only introspects",
        );

        let server = Server::start(url, &[]);
        let http = reqwest::Client::new();
        let answer: Value = http
            .post(format!("{}/oauth/introspect", server.url))
            .basic_auth(&client_id, Some(&secret))
            .form(&[("token", key.as_str()), ("token_type_hint", "api_key")])
            .send()
            .await
            .expect("introspection answers")
            .json()
            .await
            .expect("JSON");
        assert_eq!(
            (&answer["active"], &answer["token_type"], &answer["account"]),
            (&json!(true), &json!("api_key"), &json!("acme")),
            "{answer}"
        );
        let token = http
            .post(format!("{}/oauth/token", server.url))
            .basic_auth(&client_id, Some(&secret))
            .form(&[("grant_type", "client_credentials")])
            .send()
            .await
            .expect("token endpoint answers");
        assert_eq!(token.status(), 400, "it may obtain no token");
        drop(server);
        db.drop_database().await;
    }
}
