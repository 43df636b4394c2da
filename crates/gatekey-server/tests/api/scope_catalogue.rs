//! `/api/v1/scopes`: the scope catalogue, managed by the admins of the operator account, read
//! by everyone; its names validated at every input, its changes audited, and a deleted entry
//! no longer effective for the keys that keep its name.

use gatekey_core::audit::Actor;
use gatekey_core::role::Role;
use gatekey_core::scope_admin::{create_catalogue_scope, delete_catalogue_scope, CatalogueInput};
use reqwest::Method;
use serde_json::{json, Value};

use crate::harness::{assert_error, each_backend, eventually, send, Answer, Seeded, Team, TestApp};

/// The app with `acme` as the operator account, its owner's key, and a member's key.
async fn start_operated_by_acme(
    backend: gatekey_store::Backend,
) -> (TestApp, Seeded, String, String) {
    let app = TestApp::start_with(backend, |config| config.operator_account = "acme".into()).await;
    let Team { seeded, member, .. } = Team::seed(&app).await;
    let owner_key = app.key(&seeded.owner, None).await;
    let member_key = app.key(&member, None).await;
    (app, seeded, owner_key, member_key)
}

/// `POST /api/v1/scopes` with `body`, as the holder of `key`.
async fn create_scope(app: &TestApp, key: &str, body: Value) -> Answer {
    app.send_json(Method::POST, "/api/v1/scopes", key, body)
        .await
}

fn names(list: &Value) -> Vec<&str> {
    list["scopes"]
        .as_array()
        .expect("scopes")
        .iter()
        .map(|s| s["name"].as_str().expect("name"))
        .collect()
}

#[tokio::test]
async fn the_operator_accounts_admins_manage_the_catalogue_and_everyone_reads_it() {
    each_backend(|backend| async move {
        let (app, seeded, owner_key, member_key) = start_operated_by_acme(backend).await;
        let created = create_scope(&app, &owner_key, json!({"name": "features:read", "description": "Read the feature list", "group": "Product"})).await;
        assert_eq!(created.0, 201, "{}", created.2);
        assert_eq!(created.1["location"], "/api/v1/scopes/features:read");
        assert_eq!(created.2["roles"], json!(["owner", "admin", "member"]));
        assert_eq!(created.2["builtin"], false);

        let listed = send(app.request(Method::GET, "/api/v1/scopes", &member_key)).await;
        assert_eq!(listed.0, 200, "{}", listed.2);
        assert_eq!(names(&listed.2), ["read", "write", "admin", "features:read"]);
        assert_eq!(listed.2["scopes"][2]["builtin"], true);
        assert_eq!(listed.2["scopes"][2]["roles"], json!(["owner", "admin"]));
        assert_eq!(listed.2["pagination"]["total_records"], 4);
        let second_page = send(app.request(
            Method::GET,
            "/api/v1/scopes?page=2&per_page=3",
            &member_key,
        ))
        .await;
        assert_eq!(names(&second_page.2), ["features:read"]);

        let patched = app
            .send_json(
                Method::PATCH,
                "/api/v1/scopes/features:read",
                &owner_key,
                json!({"group": null, "roles": ["owner"]}),
            )
            .await;
        assert_eq!(patched.0, 200, "{}", patched.2);
        assert_eq!(patched.2["group"], Value::Null);
        assert_eq!(patched.2["roles"], json!(["owner"]));
        assert_eq!(patched.2["description"], "Read the feature list");

        // Not an admin, or an admin of another account: refused.
        let body = json!({"name": "x", "description": "x"});
        let by_member = create_scope(&app, &member_key, body.clone()).await;
        assert_eq!(by_member.0, 403, "{}", by_member.2);
        let (_, other_owner) = app
            .person_with_key(&seeded.other, "owner@other.test", Role::Owner)
            .await;
        let elsewhere = create_scope(&app, &other_owner, body).await;
        assert_error(&elsewhere, 403, "forbidden");
        assert!(elsewhere.2["error_description"]
            .as_str()
            .unwrap()
            .contains("operator account"));

        let deleted = send(app.request(
            Method::DELETE,
            "/api/v1/scopes/features:read",
            &owner_key,
        ))
        .await;
        assert_eq!(deleted.0, 204);
        let gone = send(app.request(
            Method::DELETE,
            "/api/v1/scopes/features:read",
            &owner_key,
        ))
        .await;
        assert_error(&gone, 404, "not_found");

        let audit = app.audit_actions(&owner_key).await;
        let catalogue_changes: Vec<&String> =
            audit.iter().filter(|a| a.starts_with("scope.")).collect();
        assert_eq!(catalogue_changes, ["scope.deleted", "scope.updated", "scope.created"]);
        app.stop().await;
    })
    .await;
}

#[tokio::test]
async fn bad_scope_names_and_built_in_scopes_are_refused_with_invalid_scope() {
    each_backend(|backend| async move {
        let (app, _seeded, owner_key, _) = start_operated_by_acme(backend).await;
        let long = "x".repeat(65);
        for bad in ["has space", "quo\"te", "back\\slash", "tab\tbed", "nul\u{0}", "é", "", &long, "read"] {
            let refused = create_scope(&app, &owner_key, json!({"name": bad, "description": "x"})).await;
            assert_error(&refused, 400, "invalid_scope");
        }
        let bad_description = create_scope(&app, &owner_key, json!({"name": "ok", "description": "line\nbreak"})).await;
        assert_error(&bad_description, 400, "invalid_request");
        let bad_role = create_scope(&app, &owner_key, json!({"name": "ok", "description": "x", "roles": ["guest"]})).await;
        assert_error(&bad_role, 400, "invalid_request");
        let made = create_scope(&app, &owner_key, json!({"name": "ok", "description": "x"})).await;
        assert_eq!(made.0, 201);
        let twice = create_scope(&app, &owner_key, json!({"name": "ok", "description": "x"})).await;
        assert_error(&twice, 409, "conflict");
        for builtin in ["read", "admin"] {
            let path = format!("/api/v1/scopes/{builtin}");
            let changed = app
                .send_json(Method::PATCH, &path, &owner_key, json!({"description": "mine"}))
                .await;
            assert_error(&changed, 400, "invalid_scope");
            let deleted = send(app.request(Method::DELETE, &path, &owner_key)).await;
            assert_error(&deleted, 400, "invalid_scope");
        }
        let encoded = send(app.request(Method::DELETE, "/api/v1/scopes/a%20b", &owner_key)).await;
        assert_error(&encoded, 400, "invalid_scope");
        let unknown = app
            .send_json(Method::PATCH, "/api/v1/scopes/nope", &owner_key, json!({}))
            .await;
        assert_error(&unknown, 404, "not_found");

        // Every other input of scope names is checked the same way.
        let bad_name = json!({"name": "k", "scopes": ["read", "bad\"name"]});
        let key = app.post_api_key(&owner_key, bad_name).await;
        assert_error(&key, 400, "invalid_scope");
        let application = app
            .send_json(
                Method::POST,
                "/api/v1/applications",
                &owner_key,
                json!({"name": "A", "client_type": "public", "redirect_uris": ["https://a.example/cb"], "scopes": ["read", "unknown"]}),
            )
            .await;
        assert_error(&application, 400, "invalid_scope");
        app.stop().await;
    })
    .await;
}

#[tokio::test]
async fn a_deleted_entry_stops_being_effective_and_the_keys_keep_it() {
    each_backend(|backend| async move {
        let (app, seeded, owner_key, _) = start_operated_by_acme(backend).await;
        let created = create_scope(
            &app,
            &owner_key,
            json!({"name": "billing", "description": "See invoices", "roles": ["owner"]}),
        )
        .await;
        assert_eq!(created.0, 201, "{}", created.2);
        let secret = app.key(&seeded.owner, Some("read billing")).await;
        let me = send(app.request(Method::GET, "/api/v1/me", &secret)).await;
        assert_eq!(me.2["scopes"], json!(["read", "billing"]));
        let metadata = send(
            app.http
                .get(app.url("/.well-known/oauth-authorization-server")),
        )
        .await;
        assert_eq!(
            metadata.2["scopes_supported"],
            json!([
                "openid",
                "profile",
                "email",
                "offline_access",
                "read",
                "write",
                "admin",
                "billing"
            ])
        );

        let deleted = send(app.request(Method::DELETE, "/api/v1/scopes/billing", &owner_key)).await;
        assert_eq!(deleted.0, 204);
        let me = send(app.request(Method::GET, "/api/v1/me", &secret)).await;
        assert_eq!(me.0, 200, "the key still works");
        assert_eq!(me.2["scopes"], json!(["read"]), "without the deleted scope");
        let keys = send(app.request(Method::GET, "/api/v1/api_keys", &owner_key)).await;
        let listed = keys.2["api_keys"]
            .as_array()
            .unwrap()
            .iter()
            .find(|k| k["name"] == "test key" && k["scopes"] != json!(["read", "write", "admin"]))
            .cloned()
            .unwrap();
        assert_eq!(
            listed["scopes"],
            json!(["read", "billing"]),
            "the key keeps the name"
        );
        app.stop().await;
    })
    .await;
}

#[tokio::test]
async fn an_operators_change_reaches_checked_credentials_through_the_feed() {
    each_backend(|backend| async move {
        let (app, seeded, _, _) = start_operated_by_acme(backend).await;
        let input = CatalogueInput {
            name: "billing".into(),
            description: "See invoices".into(),
            group: None,
            default_roles: None,
        };
        let operator = Actor::operator();
        create_catalogue_scope(app.store(), app.now(), input, &operator, None)
            .await
            .expect("created");
        let key = app.key(&seeded.owner, Some("read billing")).await;
        let scopes = |expected: Value| {
            let request = app.request(Method::GET, "/api/v1/me", &key);
            async move { send(request).await.2["scopes"] == expected }
        };
        assert!(
            scopes(json!(["read", "billing"])).await,
            "checked and cached"
        );
        // The operator command's store tells no cache of this server: the feed does.
        delete_catalogue_scope(app.store(), app.now(), "billing", &operator, None)
            .await
            .expect("deleted");
        let within = std::time::Duration::from_secs(5);
        assert!(
            eventually(within, || scopes(json!(["read"]))).await,
            "the deletion reached the cached key"
        );
        app.stop().await;
    })
    .await;
}

#[tokio::test]
async fn the_first_runs_account_is_the_operator_account_by_default() {
    each_backend(|backend| async move {
        let app = TestApp::start(backend).await;
        let first = app
            .account(gatekey_server::bootstrap::FIRST_ACCOUNT_SLUG)
            .await;
        let (_, key) = app
            .person_with_key(&first, "owner@example.com", Role::Owner)
            .await;
        let created = create_scope(
            &app,
            &key,
            json!({"name": "billing", "description": "See invoices"}),
        )
        .await;
        assert_eq!(created.0, 201, "{}", created.2);
        app.stop().await;
    })
    .await;
}
