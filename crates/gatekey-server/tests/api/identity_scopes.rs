//! The OpenID Connect identity scopes (`openid`, `profile`, `email`, `offline_access`) as a
//! user and a client see them: requestable by an application a person signs in through
//! whatever its API scopes, listed on the consent page with what they tell, kept in the grant
//! and the token, held by every role, giving no REST API access alone, refused for
//! `client_credentials`, and never a catalogue scope or a role mapping.

use gatekey_core::oauth::application::GrantType;
use gatekey_core::oauth::device::normalize_user_code;
use gatekey_core::role::Role;
use reqwest::Method;
use serde_json::json;

use crate::consent_scopes::{allow, authorize_path, exchange};
use crate::harness::{
    assert_error, each_backend, send, send_text, sign_in, ClientSpec, TestApp, PASSWORD,
};

/// An application of `acme` whose only API scope is `read`.
fn reading_app() -> ClientSpec {
    ClientSpec {
        scopes: "read",
        ..ClientSpec::public()
    }
}

#[tokio::test]
async fn a_viewer_consents_to_identity_scopes_beside_read_and_the_token_keeps_them() {
    each_backend(|backend| async move {
        let (app, seeded) = TestApp::start_seeded(backend).await;
        app.person(&seeded.acme, "viewer@acme.test", Role::Viewer)
            .await;
        let client = app.register_client(seeded.acme.id, reading_app()).await;
        let path = authorize_path(&client, "openid%20profile%20email%20offline_access%20read");

        let viewer = sign_in(&app, "viewer@acme.test", PASSWORD).await;
        let page = send_text(viewer.request(&app, Method::GET, &path)).await;
        assert_eq!(page.0, 200, "{}", page.2);
        for (name, words) in [
            ("openid", "sign you in"),
            ("profile", "see your name"),
            ("email", "see your email address"),
            ("offline_access", "keep access while you are not signed in"),
        ] {
            assert!(
                page.2.contains(&format!("<code>{name}</code> — {words}")),
                "{name}: {}",
                page.2
            );
        }

        let code = allow(&app, &viewer, &path).await;
        let tokens = exchange(&app, &client, &code).await;
        assert_eq!(tokens.0, 200, "{}", tokens.2);
        assert_eq!(
            tokens.2["scope"],
            "openid profile email offline_access read"
        );
        let refreshed = app
            .refresh(&client, tokens.2["refresh_token"].as_str().unwrap())
            .await;
        assert_eq!(
            refreshed.2["scope"], "openid profile email offline_access read",
            "the grant kept them: {}",
            refreshed.2
        );
        let access = refreshed.2["access_token"].as_str().unwrap();
        let me = send(app.request(Method::GET, "/api/v1/me", access)).await;
        assert_eq!(
            me.2["scopes"],
            json!(["openid", "profile", "email", "offline_access", "read"])
        );
        let rs = app
            .register_client(seeded.acme.id, ClientSpec::resource_server())
            .await;
        let introspected = app.introspect(&rs, access).await;
        assert_eq!(
            introspected["scope"],
            "openid profile email offline_access read"
        );
        app.stop().await;
    })
    .await;
}

#[tokio::test]
async fn identity_scopes_alone_open_no_rest_route() {
    each_backend(|backend| async move {
        let (app, seeded) = TestApp::start_seeded(backend).await;
        let client = app.register_client(seeded.acme.id, reading_app()).await;
        let (access, _) = app
            .grant_with_tokens(&seeded.owner, &client, "openid profile email")
            .await;
        for path in ["/api/v1/roles", "/api/v1/me"] {
            let refused = send(app.request(Method::GET, path, &access)).await;
            assert_error(&refused, 403, "insufficient_scope");
        }
        app.stop().await;
    })
    .await;
}

#[tokio::test]
async fn an_api_scope_the_application_lacks_is_still_refused() {
    each_backend(|backend| async move {
        let (app, seeded) = TestApp::start_seeded(backend).await;
        let client = app.register_client(seeded.acme.id, reading_app()).await;
        let owner = sign_in(&app, "owner@acme.test", PASSWORD).await;
        let path = authorize_path(&client, "openid%20write");
        let answer = send_text(owner.request(&app, Method::GET, &path)).await;
        assert_eq!(answer.0, 302, "{}", answer.2);
        let location = answer.1["location"].to_str().unwrap();
        assert!(location.contains("error=invalid_scope"), "{location}");
        app.stop().await;
    })
    .await;
}

#[tokio::test]
async fn client_credentials_asking_for_openid_is_invalid_scope() {
    each_backend(|backend| async move {
        let (app, seeded) = TestApp::start_seeded(backend).await;
        let robot = app
            .service_account(&seeded.acme, "robot", Role::Member)
            .await;
        let client = app
            .register_client(seeded.acme.id, ClientSpec::service(&robot))
            .await;
        for scope in ["openid", "read email", "offline_access"] {
            let answer = app
                .token(
                    &client,
                    &[("grant_type", "client_credentials"), ("scope", scope)],
                )
                .await;
            assert_error(&answer, 400, "invalid_scope");
            assert!(
                answer.2["error_description"]
                    .as_str()
                    .is_some_and(|d| d.contains("no person signs in")),
                "{}",
                answer.2
            );
        }
        let plain = app
            .token(&client, &[("grant_type", "client_credentials")])
            .await;
        assert_eq!(plain.2["scope"], "read write", "{}", plain.2);
        app.stop().await;
    })
    .await;
}

fn user_code(answer: &serde_json::Value) -> String {
    normalize_user_code(answer["user_code"].as_str().expect("user_code")).expect("well formed")
}

#[tokio::test]
async fn a_device_may_ask_for_openid_beside_its_api_scopes() {
    each_backend(|backend| async move {
        let (app, seeded) = TestApp::start_seeded(backend).await;
        let spec = ClientSpec {
            grant_types: vec![GrantType::DeviceCode],
            ..reading_app()
        };
        let client = app.register_client(seeded.acme.id, spec).await;
        let asked = app
            .post_as(
                &client,
                "/oauth/device_authorization",
                &[("scope", "openid email read")],
            )
            .await;
        assert_eq!(asked.0, 200, "{}", asked.2);
        let stored = app.device_code(&user_code(&asked.2)).await;
        assert_eq!(stored.scopes.to_string(), "openid email read");
        let unasked = app
            .post_as(&client, "/oauth/device_authorization", &[])
            .await;
        let stored = app.device_code(&user_code(&unasked.2)).await;
        assert_eq!(stored.scopes.to_string(), "read", "never given unasked");
        app.stop().await;
    })
    .await;
}

#[tokio::test]
async fn the_catalogue_and_role_mappings_cannot_take_identity_scope_names() {
    each_backend(|backend| async move {
        let app =
            TestApp::start_with(backend, |config| config.operator_account = "acme".into()).await;
        let seeded = crate::harness::seed(&app).await;
        let owner_key = app.key(&seeded.owner, None).await;
        for name in ["openid", "profile", "email", "offline_access"] {
            let refused = app
                .send_json(
                    Method::POST,
                    "/api/v1/scopes",
                    &owner_key,
                    json!({"name": name, "description": "mine"}),
                )
                .await;
            assert_error(&refused, 400, "invalid_scope");
            let mapped = app
                .send_json(
                    Method::PUT,
                    "/api/v1/roles/member/scopes",
                    &owner_key,
                    json!({"scopes": [name]}),
                )
                .await;
            assert_eq!(mapped.0, 400, "{name}: {}", mapped.2);
        }
        app.stop().await;
    })
    .await;
}
