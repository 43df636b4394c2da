//! Resource indicators (RFC 8707) at the token endpoint: `resource` may be repeated, each one
//! must be an absolute URI without a fragment that the application registered (else
//! `invalid_target`), and the token records them as its audience; a refresh keeps or narrows
//! the audience, never widens it.

use gatekey_core::oauth::store::TokenStore;
use gatekey_core::role::Role;
use gatekey_core::secret::{Secret, SecretKind};
use reqwest::Method;
use serde_json::json;

use crate::harness::{assert_error, each_backend, send, ClientSpec, TestApp, REDIRECT};

const API: &str = "https://api.example.com";
const BILLING: &str = "urn:example:billing";

/// Registers `resources` for application `id` through the admin API, as `key`.
async fn register_resources(app: &TestApp, key: &str, id: i64, resources: &[&str]) {
    let changed = send(
        app.request(Method::PATCH, &format!("/api/v1/applications/{id}"), key)
            .json(&json!({ "resources": resources })),
    )
    .await;
    assert_eq!(changed.0, 200, "{}", changed.2);
}

/// The audience stored with `access_token`.
async fn stored_audience(app: &TestApp, access_token: &str) -> Vec<String> {
    let secret = Secret::parse(SecretKind::AccessToken, access_token).expect("an access token");
    app.store()
        .access_token(&secret.hash())
        .await
        .unwrap()
        .expect("stored")
        .audience
}

#[tokio::test]
async fn client_credentials_tokens_carry_the_requested_resources() {
    each_backend(|backend| async move {
        let (app, seeded) = TestApp::start_seeded(backend).await;
        let key = app.key(&seeded.owner, None).await;
        let (_, client) = app.service_client(&seeded.acme, "sync", Role::Member).await;
        let cc = [("grant_type", "client_credentials")];

        // Nothing registered yet: any resource is refused, none is fine.
        let refused = app.token(&client, &[cc[0], ("resource", API)]).await;
        assert_error(&refused, 400, "invalid_target");
        let plain = app.token(&client, &cc).await;
        assert_eq!(plain.0, 200, "{}", plain.2);
        let token = plain.2["access_token"].as_str().unwrap();
        assert!(stored_audience(&app, token).await.is_empty());

        // Registered through the API: the cached application is replaced at once.
        register_resources(&app, &key, client.application.id, &[API, BILLING]).await;
        let both = app
            .token(
                &client,
                &[
                    cc[0],
                    ("resource", BILLING),
                    ("resource", API),
                    ("resource", BILLING),
                ],
            )
            .await;
        assert_eq!(both.0, 200, "{}", both.2);
        let token = both.2["access_token"].as_str().unwrap();
        assert_eq!(stored_audience(&app, token).await, [BILLING, API]);

        for bad in [
            "https://api.example.com/",
            "https://API.example.com",
            "https://other.example",
            "https://api.example.com#x",
            "/api",
            "",
        ] {
            let refused = app.token(&client, &[cc[0], ("resource", bad)]).await;
            assert_error(&refused, 400, "invalid_target");
        }
        let one_bad = app
            .token(
                &client,
                &[
                    cc[0],
                    ("resource", API),
                    ("resource", "https://other.example"),
                ],
            )
            .await;
        assert_error(&one_bad, 400, "invalid_target");
        let repeated_scope = app
            .token(&client, &[cc[0], ("scope", "read"), ("scope", "read")])
            .await;
        assert_error(&repeated_scope, 400, "invalid_request");
        app.stop().await;
    })
    .await;
}

#[tokio::test]
async fn a_code_is_not_spent_on_a_bad_resource_and_refreshes_never_widen() {
    each_backend(|backend| async move {
        let (app, seeded, client) =
            TestApp::start_with_client(backend, ClientSpec::confidential()).await;
        let key = app.key(&seeded.owner, None).await;
        register_resources(&app, &key, client.application.id, &[API, BILLING]).await;
        let code = app.code_for(&seeded.owner, &client, "read").await;
        let exchange = |resource: &'static str| {
            let code = code.clone();
            let app = &app;
            let client = &client;
            async move {
                let mut form = vec![
                    ("grant_type", "authorization_code"),
                    ("code", code.as_str()),
                    ("redirect_uri", REDIRECT),
                ];
                if !resource.is_empty() {
                    form.push(("resource", resource));
                }
                app.token(client, &form).await
            }
        };
        let refused = exchange("https://other.example").await;
        assert_error(&refused, 400, "invalid_target");
        let issued = exchange(API).await;
        assert_eq!(issued.0, 200, "the code was not spent: {}", issued.2);
        let access = issued.2["access_token"].as_str().unwrap();
        assert_eq!(stored_audience(&app, access).await, [API]);
        let refresh = issued.2["refresh_token"].as_str().unwrap().to_owned();

        // The grant was for the API only: billing is refused, and the refresh token survives.
        let widened = app
            .token(
                &client,
                &[
                    ("grant_type", "refresh_token"),
                    ("refresh_token", &refresh),
                    ("resource", BILLING),
                ],
            )
            .await;
        assert_error(&widened, 400, "invalid_target");
        let kept = app.refresh(&client, &refresh).await;
        assert_eq!(kept.0, 200, "{}", kept.2);
        let access = kept.2["access_token"].as_str().unwrap();
        assert_eq!(
            stored_audience(&app, access).await,
            [API],
            "the grant's audience"
        );
        let refresh = kept.2["refresh_token"].as_str().unwrap().to_owned();
        let narrowed = app
            .token(
                &client,
                &[
                    ("grant_type", "refresh_token"),
                    ("refresh_token", &refresh),
                    ("resource", API),
                ],
            )
            .await;
        assert_eq!(narrowed.0, 200, "{}", narrowed.2);
        let access = narrowed.2["access_token"].as_str().unwrap();
        assert_eq!(stored_audience(&app, access).await, [API]);

        // Once the application no longer registers the API, its refreshes drop it.
        register_resources(&app, &key, client.application.id, &[BILLING]).await;
        let refresh = narrowed.2["refresh_token"].as_str().unwrap().to_owned();
        let dropped = app.refresh(&client, &refresh).await;
        assert_eq!(dropped.0, 200, "{}", dropped.2);
        let access = dropped.2["access_token"].as_str().unwrap();
        assert!(stored_audience(&app, access).await.is_empty());
        app.stop().await;
    })
    .await;
}
