//! A resource server that only introspects: a confidential application with the `introspect`
//! permission, no grant type and no redirect URI. It registers through the REST API and the web
//! page, checks its account's keys and tokens, and can obtain no token; a public one, or one
//! without the permission, is refused.

use gatekey_core::oauth::store::ApplicationStore;
use reqwest::Method;
use serde_json::{json, Value};

use crate::harness::{assert_error, each_backend, send_text, sign_in, Answer, TestApp, PASSWORD};
use crate::oauth_fixture::{Client, ClientSpec};

/// The body of a registration of a resource server named `name`, as `client_type`.
fn resource_server(name: &str, client_type: &str) -> Value {
    json!({
        "name": name,
        "client_type": client_type,
        "grant_types": [],
        "introspect": true,
    })
}

/// Asserts a refusal with `status` and `code` whose description says `reason`.
#[track_caller]
fn assert_refused_saying(answer: &Answer, status: u16, code: &str, reason: &str) {
    assert_error(answer, status, code);
    assert!(
        answer.2["error_description"]
            .as_str()
            .is_some_and(|description| description.contains(reason)),
        "{}",
        answer.2
    );
}

/// The application registered as `created` (a `201` answer's body), with its secret.
async fn registered(app: &TestApp, created: &Value) -> Client {
    let client_id = created["client_id"].as_str().expect("client id");
    Client {
        id: client_id.to_owned(),
        application: app
            .store()
            .application_by_client_id(client_id)
            .await
            .expect("lookup")
            .expect("stored"),
        secret: created["client_secret"].as_str().map(str::to_owned),
    }
}

#[tokio::test]
async fn a_confidential_resource_server_registers_without_grant_types_or_redirect_uris() {
    each_backend(|backend| async move {
        let (app, seeded) = TestApp::start_seeded(backend).await;
        let admin_key = app.key(&seeded.owner, None).await;

        let body = resource_server("Orders API", "confidential");
        let created = app.create("/api/v1/applications", &admin_key, body).await;
        assert_eq!(
            (
                &created["grant_types"],
                &created["redirect_uris"],
                &created["introspect"]
            ),
            (&json!([]), &json!([]), &json!(true))
        );
        let orders = registered(&app, &created).await;
        assert!(orders.secret.is_some(), "it authenticates with its secret");

        // It checks the account's keys and tokens.
        let key = app.key(&seeded.owner, Some("read")).await;
        let seen = app.introspect(&orders, &key).await;
        assert_eq!(
            (&seen["active"], &seen["scope"]),
            (&json!(true), &json!("read"))
        );
        let web_app = app
            .register_client(seeded.acme.id, ClientSpec::confidential())
            .await;
        let (access, _) = app.grant_with_tokens(&seeded.owner, &web_app, "read").await;
        assert_eq!(app.introspect(&orders, &access).await["active"], true);

        // It obtains no token of its own.
        let token = app
            .token(&orders, &[("grant_type", "client_credentials")])
            .await;
        assert_error(&token, 400, "unauthorized_client");

        // It stays a resource server: taking `introspect` away would leave it nothing to do.
        let narrowed = app
            .patch_application(
                orders.application.id,
                &admin_key,
                json!({"introspect": false}),
            )
            .await;
        assert_refused_saying(&narrowed, 400, "invalid_request", "only introspects");
        app.stop().await;
    })
    .await;
}

#[tokio::test]
async fn applications_that_could_do_nothing_are_refused_with_the_reason() {
    each_backend(|backend| async move {
        let (app, seeded) = TestApp::start_seeded(backend).await;
        let admin_key = app.key(&seeded.owner, None).await;
        let register = |body: Value| {
            let (app, key) = (&app, &admin_key);
            async move {
                app.send_json(Method::POST, "/api/v1/applications", key, body)
                    .await
            }
        };

        // A public client cannot authenticate, so it cannot introspect (RFC 7662 §2.1).
        let public = register(resource_server("Public", "public")).await;
        let mut useless = resource_server("Useless", "confidential");
        useless["introspect"] = json!(false);
        let useless = register(useless).await;
        for refused in [&public, &useless] {
            assert_refused_saying(
                refused,
                400,
                "invalid_request",
                "needs at least one grant type",
            );
        }

        // Leaving `grant_types` out asks for the default code flow, which needs a redirect URI;
        // the refusal says how to register a resource server instead.
        let defaulted = register(json!({
            "name": "Forgot grant_types",
            "client_type": "confidential",
            "introspect": true,
        }))
        .await;
        assert_refused_saying(
            &defaulted,
            400,
            "invalid_redirect_uri",
            "only introspects has no grant type",
        );
        app.stop().await;
    })
    .await;
}

#[tokio::test]
async fn the_admin_page_registers_a_resource_server() {
    each_backend(|backend| async move {
        let (app, _seeded) = TestApp::start_seeded(backend).await;
        let admin = sign_in(&app, "owner@acme.test", PASSWORD).await;
        let form = |introspect: bool| {
            let mut fields = vec![
                ("csrf_token", admin.csrf.clone()),
                ("name", "Orders API".to_owned()),
                ("client_type", "confidential".to_owned()),
                ("redirect_uris", String::new()),
                ("scope_read", "on".to_owned()),
                ("service_account_id", String::new()),
            ];
            if introspect {
                fields.push(("introspect", "on".to_owned()));
            }
            fields
        };
        let refused = send_text(
            admin
                .request(&app, Method::POST, "/applications")
                .form(&form(false)),
        )
        .await;
        assert_eq!(refused.0, 400);
        assert!(refused.2.contains("only introspects"), "{}", refused.2);
        let (status, _, page) = send_text(
            admin
                .request(&app, Method::POST, "/applications")
                .form(&form(true)),
        )
        .await;
        assert_eq!(status, 201, "{page}");
        assert!(page.contains("gk_cs_"), "its secret is shown once");
        app.stop().await;
    })
    .await;
}
