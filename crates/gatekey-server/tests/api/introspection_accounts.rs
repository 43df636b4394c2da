//! Introspection across accounts: the `introspect` permission an account admin grants covers
//! that account's tokens only; every account's tokens is an operator-only setting.

use gatekey_core::audit::Actor;
use gatekey_core::oauth::admin::set_introspect_all_accounts;
use gatekey_core::oauth::store::ApplicationStore;
use gatekey_core::role::Role;
use reqwest::Method;
use serde_json::json;
use time::OffsetDateTime;

use crate::harness::{assert_error, each_backend, send, TestApp};
use crate::oauth_fixture::{Client, ClientSpec};

/// Registers a resource server with `introspect` in acme through the REST API, as an account
/// admin would.
async fn register_resource_server(app: &TestApp, admin_key: &str) -> Client {
    let created = send(
        app.request(Method::POST, "/api/v1/applications", admin_key)
            .json(&json!({
                "name": "Acme resource server",
                "client_type": "confidential",
                "redirect_uris": ["https://rs.acme.example/cb"],
                "introspect": true,
            })),
    )
    .await;
    assert_eq!(created.0, 201, "{}", created.2);
    let client_id = created.2["client_id"].as_str().expect("client id");
    let application = app
        .store()
        .application_by_client_id(client_id)
        .await
        .expect("lookup")
        .expect("stored");
    Client {
        id: client_id.to_owned(),
        application,
        secret: created.2["client_secret"].as_str().map(str::to_owned),
    }
}

#[tokio::test]
async fn introspect_sees_its_own_account_and_all_accounts_only_when_the_operator_says_so() {
    each_backend(|backend| async move {
        let (app, seeded) = TestApp::start_seeded(backend).await;
        let admin_key = app.key(&seeded.owner, None).await;
        let resource_server = register_resource_server(&app, &admin_key).await;

        // A token of acme (the resource server's account), through another acme application.
        let acme_app = app
            .register_client(seeded.acme.id, ClientSpec::confidential())
            .await;
        let (acme_access, acme_refresh) = app
            .grant_with_tokens(&seeded.owner, &acme_app, "read")
            .await;
        // A token of another account, through that account's application.
        let bob = app
            .person(&seeded.other, "bob@other.test", Role::Member)
            .await;
        let other_app = app
            .register_client(seeded.other.id, ClientSpec::confidential())
            .await;
        let (other_access, other_refresh) = app.grant_with_tokens(&bob, &other_app, "read").await;

        for token in [&acme_access, &acme_refresh] {
            let seen = app.introspect(&resource_server, token).await;
            assert_eq!(seen["active"], true, "its own account's token: {seen}");
            assert_eq!(seen["account"], "acme");
        }
        for token in [&other_access, &other_refresh] {
            let seen = app.introspect(&resource_server, token).await;
            assert_eq!(
                seen,
                json!({"active": false}),
                "another account's token looks exactly like an unknown one"
            );
        }

        // The account admin cannot widen it through the API: the field is unknown there, and
        // refused like any unknown field (422).
        let id = resource_server.application.id;
        let widen = json!({"introspect_all_accounts": true});
        let patched = app.patch_application(id, &admin_key, widen).await;
        assert_error(&patched, 422, "invalid_request");
        let created = send(
            app.request(Method::POST, "/api/v1/applications", &admin_key)
                .json(&json!({
                    "name": "Greedy",
                    "client_type": "confidential",
                    "redirect_uris": ["https://greedy.example/cb"],
                    "introspect": true,
                    "introspect_all_accounts": true,
                })),
        )
        .await;
        assert_error(&created, 422, "invalid_request");
        let seen = app.introspect(&resource_server, &other_access).await;
        assert_eq!(seen, json!({"active": false}));

        // The operator's setting (what `gatekey admin app update --introspect-all-accounts`
        // calls) reaches every account, and turning it off takes it back.
        let now = OffsetDateTime::now_utc();
        let operator = Actor::operator();
        set_introspect_all_accounts(
            app.store(),
            now,
            &resource_server.application,
            true,
            &operator,
        )
        .await
        .expect("operator setting");
        for token in [&other_access, &other_refresh] {
            let seen = app.introspect(&resource_server, token).await;
            assert_eq!(seen["active"], true, "{seen}");
            assert_eq!(seen["account"], "other");
        }
        // Taking `introspect` away through the API takes every account away too.
        let narrowed = app
            .patch_application(id, &admin_key, json!({"introspect": false}))
            .await;
        assert_eq!(narrowed.0, 200, "{}", narrowed.2);
        let seen = app.introspect(&resource_server, &other_access).await;
        assert_eq!(seen, json!({"active": false}));
        let seen = app.introspect(&resource_server, &acme_access).await;
        assert_eq!(seen, json!({"active": false}));

        let restored = app
            .patch_application(id, &admin_key, json!({"introspect": true}))
            .await;
        assert_eq!(restored.0, 200, "{}", restored.2);
        let current = app
            .store()
            .application_by_client_id(&resource_server.id)
            .await
            .expect("lookup")
            .expect("stored");
        set_introspect_all_accounts(app.store(), now, &current, false, &operator)
            .await
            .expect("operator setting");
        let seen = app.introspect(&resource_server, &other_access).await;
        assert_eq!(seen, json!({"active": false}), "turned off again");
        let seen = app.introspect(&resource_server, &acme_access).await;
        assert_eq!(seen["active"], true, "its own account still");

        let audits = send(app.request(Method::GET, "/api/v1/audits", &admin_key)).await;
        let details: Vec<_> = audits.2["audits"]
            .as_array()
            .expect("audits")
            .iter()
            .filter_map(|a| a["detail"].as_str())
            .filter(|d| d.starts_with("introspect_all_accounts"))
            .collect();
        assert_eq!(
            details.len(),
            2,
            "both operator changes audited: {}",
            audits.2
        );
        app.stop().await;
    })
    .await;
}
