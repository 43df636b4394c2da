//! `/api/v1/roles`: what each role holds in the caller's account, mapped by its admins. A
//! mapping reaches credentials already checked at once, maps catalogue scopes only (a role
//! mapped to an unknown or built-in scope is `invalid_scope`), and an admin cannot change
//! what owners hold.

use gatekey_core::audit::Actor;
use gatekey_core::oauth::application::GrantType;
use gatekey_core::role::RoleSet;
use gatekey_core::scope_admin::{create_catalogue_scope, CatalogueInput};
use gatekey_core::user::Member;
use reqwest::Method;
use serde_json::json;

use crate::consent_scopes::{allow, authorize_path, exchange};
use crate::harness::{
    assert_error, each_backend, send, send_text, sign_in, ClientSpec, Team, TestApp, PASSWORD,
};

/// Adds `name` to the catalogue as the operator would, held by default by `roles`.
async fn catalogue_scope(app: &TestApp, name: &str, description: &str, roles: &[&str]) {
    let input = CatalogueInput {
        name: name.into(),
        description: description.into(),
        group: Some("Product".into()),
        default_roles: Some(RoleSet::from_names(roles).expect("roles")),
    };
    create_catalogue_scope(app.store(), app.now(), input, &Actor::operator(), None)
        .await
        .expect("catalogue scope");
}

/// The app with a team, `billing` in the catalogue held by owners only, and the keys of the
/// admin and of the member, handed back as `(app, member, admin_key, member_key)`.
async fn start_with_billing(backend: gatekey_store::Backend) -> (TestApp, Member, String, String) {
    let app = TestApp::start(backend).await;
    let Team { admin, member, .. } = Team::seed(&app).await;
    catalogue_scope(&app, "billing", "See invoices", &["owner"]).await;
    let admin_key = app.key(&admin, None).await;
    let member_key = app.key(&member, None).await;
    (app, member, admin_key, member_key)
}

#[tokio::test]
async fn an_admin_maps_a_role_and_the_members_keys_follow_at_once() {
    each_backend(|backend| async move {
        let (app, member, admin_key, member_key) = start_with_billing(backend).await;

        let roles = send(app.request(Method::GET, "/api/v1/roles", &member_key)).await;
        assert_eq!(roles.0, 200, "{}", roles.2);
        assert_eq!(
            roles.2["roles"][2],
            json!({"role": "member", "scopes": ["read", "write"], "mapped": false})
        );
        let read_and_billing = || json!({"name": "b", "scopes": ["read", "billing"]});
        let too_wide = app.post_api_key(&member_key, read_and_billing()).await;
        assert_eq!(too_wide.0, 400, "a member does not hold billing yet");

        let mapped = app
            .send_json(
                Method::PUT,
                "/api/v1/roles/member/scopes",
                &admin_key,
                json!({"scopes": ["billing"]}),
            )
            .await;
        assert_eq!(mapped.0, 200, "{}", mapped.2);
        assert_eq!(
            mapped.2,
            json!({"role": "member", "scopes": ["read", "write", "billing"], "mapped": true})
        );
        // The member's old key was made before: a key made with it gets no more than it has.
        let child = app.post_api_key(&member_key, read_and_billing()).await;
        assert_eq!(child.0, 400, "{}", child.2);
        let secret = app.key(&member, Some("read billing")).await;
        let me = send(app.request(Method::GET, "/api/v1/me", &secret)).await;
        assert_eq!(me.2["scopes"], json!(["read", "billing"]));

        // Back to the catalogue's default: the cached key loses billing on its next request.
        let reset =
            send(app.request(Method::DELETE, "/api/v1/roles/member/scopes", &admin_key)).await;
        assert_eq!(reset.0, 204);
        let me = send(app.request(Method::GET, "/api/v1/me", &secret)).await;
        assert_eq!(me.2["scopes"], json!(["read"]));

        let audit = app.audit_actions(&admin_key).await;
        assert!(
            audit.starts_with(&["role_scopes.reset".into()])
                && audit.contains(&"role_scopes.changed".to_owned()),
            "{audit:?}"
        );
        app.stop().await;
    })
    .await;
}

#[tokio::test]
async fn a_role_mapped_to_what_is_not_a_catalogue_scope_is_refused() {
    each_backend(|backend| async move {
        let (app, _, admin_key, member_key) = start_with_billing(backend).await;
        let put = |role: &'static str, key: &str, scopes: serde_json::Value| {
            let path = format!("/api/v1/roles/{role}/scopes");
            let request = app
                .request(Method::PUT, &path, key)
                .json(&json!({ "scopes": scopes }));
            async move { send(request).await }
        };
        for scopes in [
            json!(["unknown"]),
            json!(["admin"]),
            json!(["two words"]),
            json!(["q\"uote"]),
        ] {
            assert_error(
                &put("member", &admin_key, scopes).await,
                400,
                "invalid_scope",
            );
        }
        let over_owner = put("owner", &admin_key, json!(["billing"])).await;
        assert_error(&over_owner, 403, "forbidden");
        assert_error(&put("guest", &admin_key, json!([])).await, 404, "not_found");
        assert_eq!(put("member", &member_key, json!([])).await.0, 403);
        let nothing = put("viewer", &admin_key, json!([])).await;
        assert_eq!(
            nothing.0, 200,
            "a role may hold no catalogue scope: {}",
            nothing.2
        );
        assert_eq!(nothing.2["scopes"], json!(["read"]));
        app.stop().await;
    })
    .await;
}

#[tokio::test]
async fn consent_describes_catalogue_scopes_and_tokens_carry_them() {
    each_backend(|backend| async move {
        let app = TestApp::start(backend).await;
        let Team { seeded, .. } = Team::seed(&app).await;
        catalogue_scope(
            &app,
            "features:read",
            "Read the feature list",
            &["owner", "admin", "member"],
        )
        .await;
        catalogue_scope(&app, "billing", "See invoices", &["owner"]).await;
        let spec = ClientSpec {
            scopes: "read features:read billing",
            grant_types: vec![GrantType::AuthorizationCode, GrantType::DeviceCode],
            ..ClientSpec::public()
        };
        let client = app.register_client(seeded.acme.id, spec).await;
        let member = sign_in(&app, "member@acme.test", PASSWORD).await;
        let path = authorize_path(&client, "read%20features%3Aread%20billing");
        let page = send_text(member.request(&app, Method::GET, &path)).await;
        assert_eq!(page.0, 200, "{}", page.2);
        assert!(
            page.2
                .contains("<code>features:read</code> — Read the feature list"),
            "{}",
            page.2
        );
        assert!(
            !page.2.contains("<code>billing</code>"),
            "a member does not hold billing: {}",
            page.2
        );
        let code = allow(&app, &member, &path).await;
        let tokens = exchange(&app, &client, &code).await;
        assert_eq!(tokens.0, 200, "{}", tokens.2);
        assert_eq!(tokens.2["scope"], "read features:read");

        let bad = app
            .post_as(
                &client,
                "/oauth/device_authorization",
                &[("scope", "read \"x\"")],
            )
            .await;
        assert_error(&bad, 400, "invalid_scope");
        app.stop().await;
    })
    .await;
}
