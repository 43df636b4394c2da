//! Who may do what: scopes, roles, and the wall between accounts.

use gatekey_core::role::Role;
use reqwest::Method;
use serde_json::{json, Value};

use crate::harness::{assert_error, each_backend, send, TestApp};

/// The 403 of a role or scope that does not allow the request.
#[track_caller]
fn assert_refused(actual: &(u16, reqwest::header::HeaderMap, Value)) {
    assert_eq!(actual.0, 403, "{}", actual.2);
    let code = actual.2["error"].as_str().unwrap_or_default();
    assert!(
        code == "forbidden" || code == "insufficient_scope",
        "error code: {}",
        actual.2
    );
}

/// The values of `field` in the list `things` of a list response.
fn listed(body: &Value, things: &str, field: &str) -> Vec<Value> {
    body[things]
        .as_array()
        .unwrap_or_else(|| panic!("a list of {things}: {body}"))
        .iter()
        .map(|item| item[field].clone())
        .collect()
}

#[tokio::test]
async fn a_read_only_key_cannot_create_keys() {
    each_backend(|backend| async move {
        let (app, seeded) = TestApp::start_seeded(backend).await;
        let read_only = app.key(&seeded.owner, Some("read")).await;

        let refused = app
            .post_api_key(&read_only, json!({"name": "escalation"}))
            .await;
        assert_error(&refused, 403, "insufficient_scope");
        let challenge = refused.1["www-authenticate"].to_str().unwrap();
        assert!(
            challenge.starts_with("Bearer ") && challenge.contains("error=\"insufficient_scope\""),
            "{challenge}"
        );

        let keys = send(app.request(Method::GET, "/api/v1/api_keys", &read_only)).await;
        assert_eq!(
            keys.2["pagination"]["total_records"], 1,
            "no key was made: {}",
            keys.2
        );
        app.stop().await;
    })
    .await;
}

#[tokio::test]
async fn a_new_key_never_exceeds_its_creator() {
    each_backend(|backend| async move {
        let (app, seeded) = TestApp::start_seeded(backend).await;
        let read_write = app.key(&seeded.owner, Some("read write")).await;

        for scopes in [json!(["admin"]), json!(["read", "admin"])] {
            let wider = app
                .post_api_key(&read_write, json!({"name": "wider", "scopes": scopes}))
                .await;
            assert_error(&wider, 400, "invalid_request");
        }

        let (_, member_key) = app
            .person_with_key(&seeded.acme, "member@acme.test", Role::Member)
            .await;
        let beyond_role = app
            .post_api_key(&member_key, json!({"name": "wider", "scopes": ["admin"]}))
            .await;
        assert_error(&beyond_role, 400, "invalid_request");

        let narrower = app
            .post_api_key(&read_write, json!({"name": "narrower", "scopes": ["read"]}))
            .await;
        assert_eq!(narrower.0, 201, "{}", narrower.2);
        let by_default = app
            .post_api_key(&read_write, json!({"name": "default"}))
            .await;
        assert_eq!(by_default.0, 201, "{}", by_default.2);
        assert_eq!(by_default.2["scopes"], json!(["read", "write"]));
        app.stop().await;
    })
    .await;
}

#[tokio::test]
async fn members_and_viewers_cannot_administer() {
    each_backend(|backend| async move {
        let (app, seeded) = TestApp::start_seeded(backend).await;
        let member = app
            .person(&seeded.acme, "member@acme.test", Role::Member)
            .await;
        let viewer = app
            .person(&seeded.acme, "viewer@acme.test", Role::Viewer)
            .await;
        let member_key = app.key(&member, None).await;
        let viewer_key = app.key(&viewer, None).await;

        for path in [
            "/api/v1/users",
            "/api/v1/service_accounts",
            "/api/v1/audits",
        ] {
            assert_refused(&send(app.request(Method::GET, path, &member_key)).await);
            assert_refused(&send(app.request(Method::GET, path, &viewer_key)).await);
        }
        let someone_else = format!("/api/v1/users/{}/api_keys", member.user.id);
        let refused = app
            .send_json(
                Method::POST,
                &someone_else,
                &viewer_key,
                json!({"name": "for the member"}),
            )
            .await;
        assert_refused(&refused);
        assert_refused(&send(app.request(Method::GET, &someone_else, &viewer_key)).await);
        let created = send(
            app.request(Method::POST, "/api/v1/users", &member_key)
                .json(&json!({
                    "email": "new@acme.test", "name": "New", "role": "viewer"
                })),
        )
        .await;
        assert_refused(&created);

        let owner_key = app.key(&seeded.owner, None).await;
        let keys = send(app.request(Method::GET, &someone_else, &owner_key)).await;
        assert_eq!(
            keys.2["pagination"]["total_records"], 1,
            "the viewer made no key for the member: {}",
            keys.2
        );
        app.stop().await;
    })
    .await;
}

#[tokio::test]
async fn an_admin_creates_a_key_for_a_service_account() {
    each_backend(|backend| async move {
        let (app, seeded) = TestApp::start_seeded(backend).await;
        let (_, admin_key) = app
            .person_with_key(&seeded.acme, "admin@acme.test", Role::Admin)
            .await;
        let robot = app
            .service_account(&seeded.acme, "Nightly export", Role::Member)
            .await;

        let created = send(
            app.request(
                Method::POST,
                &format!("/api/v1/users/{}/api_keys", robot.user.id),
                &admin_key,
            )
            .json(&json!({"name": "export job"})),
        )
        .await;
        assert_eq!(created.0, 201, "{}", created.2);
        assert_eq!(created.2["user_id"], robot.user.id);
        assert_eq!(
            created.2["scopes"],
            json!(["read", "write"]),
            "limited by the service account's role"
        );
        let secret = created.2["secret"].as_str().expect("secret").to_owned();

        let me = send(app.request(Method::GET, "/api/v1/me", &secret)).await;
        assert_eq!(me.0, 200, "{}", me.2);
        assert_eq!(me.2["user"]["id"], robot.user.id);
        assert_eq!(me.2["user"]["kind"], "service");
        assert_eq!(me.2["account"]["slug"], "acme");
        assert_eq!(me.2["role"], "member");
        assert_eq!(me.2["credential"]["type"], "api_key");

        let keys = send(app.request(
            Method::GET,
            &format!("/api/v1/users/{}/api_keys", robot.user.id),
            &admin_key,
        ))
        .await;
        assert_eq!(keys.0, 200, "{}", keys.2);
        assert_eq!(
            listed(&keys.2, "api_keys", "id"),
            vec![created.2["id"].clone()]
        );
        app.stop().await;
    })
    .await;
}

#[tokio::test]
async fn nothing_crosses_accounts() {
    each_backend(|backend| async move {
        let (app, seeded) = TestApp::start_seeded(backend).await;
        let (_, key_a) = app
            .person_with_key(&seeded.acme, "admin@acme.test", Role::Admin)
            .await;
        let (admin_b, key_b) = app
            .person_with_key(&seeded.other, "admin@other.test", Role::Admin)
            .await;
        let user_b = app
            .person(&seeded.other, "member@other.test", Role::Member)
            .await;
        let robot_b = app
            .service_account(&seeded.other, "Other robot", Role::Member)
            .await;
        // Activity in B, so that B's audit log has events by B's people.
        let made_in_b = app.post_api_key(&key_b, json!({"name": "b's own"})).await;
        assert_eq!(made_in_b.0, 201, "{}", made_in_b.2);
        let key_in_b = made_in_b.2["id"].as_i64().unwrap();
        let secret_in_b = made_in_b.2["secret"].as_str().unwrap().to_owned();

        for user in [&user_b, &robot_b, &admin_b] {
            let id = user.user.id;
            let shown =
                send(app.request(Method::GET, &format!("/api/v1/users/{id}"), &key_a)).await;
            assert_error(&shown, 404, "not_found");
            let keys =
                send(app.request(Method::GET, &format!("/api/v1/users/{id}/api_keys"), &key_a))
                    .await;
            assert_error(&keys, 404, "not_found");
            let planted = send(
                app.request(
                    Method::POST,
                    &format!("/api/v1/users/{id}/api_keys"),
                    &key_a,
                )
                .json(&json!({"name": "planted"})),
            )
            .await;
            assert_error(&planted, 404, "not_found");
        }
        let revoked = send(app.request(
            Method::DELETE,
            &format!("/api/v1/api_keys/{key_in_b}"),
            &key_a,
        ))
        .await;
        assert_error(&revoked, 404, "not_found");
        let still = send(app.request(Method::GET, "/api/v1/me", &secret_in_b)).await;
        assert_eq!(still.0, 200, "B's key still works: {}", still.2);

        let b_user_ids: Vec<Value> = [&user_b, &robot_b, &admin_b]
            .iter()
            .map(|m| json!(m.user.id))
            .collect();
        let users_a = send(app.request(Method::GET, "/api/v1/users", &key_a)).await;
        let robots_a = send(app.request(Method::GET, "/api/v1/service_accounts", &key_a)).await;
        let audits_a = send(app.request(Method::GET, "/api/v1/audits?per_page=200", &key_a)).await;
        for (list, things) in [(&users_a, "users"), (&robots_a, "service_accounts")] {
            assert_eq!(list.0, 200, "{}", list.2);
            let ids = listed(&list.2, things, "id");
            assert!(
                !ids.iter().any(|id| b_user_ids.contains(id)),
                "{things} of A show B's users: {}",
                list.2
            );
        }
        assert_eq!(listed(&users_a.2, "users", "email").len(), 2);
        assert_eq!(audits_a.0, 200, "{}", audits_a.2);
        let actors = listed(&audits_a.2, "audits", "actor_email");
        assert!(
            !actors.contains(&json!("admin@other.test")),
            "A's audit shows B's activity: {}",
            audits_a.2
        );
        let targets = listed(&audits_a.2, "audits", "target_id");
        assert!(
            !targets.contains(&json!(key_in_b.to_string())),
            "A's audit shows B's key: {}",
            audits_a.2
        );
        assert!(
            !targets
                .iter()
                .any(|t| b_user_ids.iter().any(|id| *t == json!(id.to_string()))),
            "A's audit shows B's users: {}",
            audits_a.2
        );

        // The same lists seen from B do show B's items, so the checks above had something to miss.
        let users_b = send(app.request(Method::GET, "/api/v1/users", &key_b)).await;
        assert_eq!(listed(&users_b.2, "users", "id").len(), 3);
        let robots_b = send(app.request(Method::GET, "/api/v1/service_accounts", &key_b)).await;
        assert_eq!(
            listed(&robots_b.2, "service_accounts", "id"),
            vec![json!(robot_b.user.id)]
        );
        let audits_b = send(app.request(Method::GET, "/api/v1/audits", &key_b)).await;
        assert!(listed(&audits_b.2, "audits", "actor_email").contains(&json!("admin@other.test")));
        app.stop().await;
    })
    .await;
}

#[tokio::test]
async fn a_member_revokes_their_own_key_only() {
    each_backend(|backend| async move {
        let (app, seeded) = TestApp::start_seeded(backend).await;
        let (member, member_key) = app
            .person_with_key(&seeded.acme, "member@acme.test", Role::Member)
            .await;
        let spare = app.key(&member, None).await;
        let spare_id = app.key_id(&spare).await;
        let owner_key = app.key(&seeded.owner, None).await;
        let owner_key_id = app.key_id(&owner_key).await;

        let refused = send(app.request(
            Method::DELETE,
            &format!("/api/v1/api_keys/{owner_key_id}"),
            &member_key,
        ))
        .await;
        assert_refused(&refused);
        let still = send(app.request(Method::GET, "/api/v1/me", &owner_key)).await;
        assert_eq!(still.0, 200, "the owner's key still works: {}", still.2);

        let revoked = send(app.request(
            Method::DELETE,
            &format!("/api/v1/api_keys/{spare_id}"),
            &member_key,
        ))
        .await;
        assert_eq!(revoked.0, 204, "{}", revoked.2);
        let gone = send(app.request(Method::GET, "/api/v1/me", &spare)).await;
        assert_error(&gone, 401, "invalid_token");
        app.stop().await;
    })
    .await;
}

#[tokio::test]
async fn only_an_owner_makes_an_owner() {
    each_backend(|backend| async move {
        let (app, seeded) = TestApp::start_seeded(backend).await;
        let (_, admin_key) = app
            .person_with_key(&seeded.acme, "admin@acme.test", Role::Admin)
            .await;
        let owner_key = app.key(&seeded.owner, None).await;
        let new_owner = |email: &str| json!({"email": email, "name": "New Owner", "role": "owner"});

        let refused = send(
            app.request(Method::POST, "/api/v1/users", &admin_key)
                .json(&new_owner("by-admin@acme.test")),
        )
        .await;
        assert_error(&refused, 403, "forbidden");
        let owner_robot = json!({"name": "Owner robot", "role": "owner"});
        let path = "/api/v1/service_accounts";
        let robot = app
            .send_json(Method::POST, path, &admin_key, owner_robot)
            .await;
        assert_error(&robot, 403, "forbidden");
        let users = send(app.request(Method::GET, "/api/v1/users", &admin_key)).await;
        assert!(
            !listed(&users.2, "users", "email").contains(&json!("by-admin@acme.test")),
            "{}",
            users.2
        );

        let admin_made = send(app.request(Method::POST, "/api/v1/users", &admin_key).json(
            &json!({
                "email": "helper@acme.test", "name": "Helper", "role": "admin"
            }),
        ))
        .await;
        assert_eq!(
            admin_made.0, 201,
            "an admin may make an admin: {}",
            admin_made.2
        );

        let made = send(
            app.request(Method::POST, "/api/v1/users", &owner_key)
                .json(&new_owner("by-owner@acme.test")),
        )
        .await;
        assert_eq!(made.0, 201, "{}", made.2);
        assert_eq!(made.2["invitation"]["role"], "owner");
        assert_eq!(made.2["invitation"]["email"], "by-owner@acme.test");
        app.stop().await;
    })
    .await;
}

#[tokio::test]
async fn admins_create_keys_for_service_accounts_only_and_never_upwards() {
    each_backend(|backend| async move {
        let (app, seeded, admin, member) = TestApp::start_with_team(backend).await;
        let owner_bot = app
            .service_account(&seeded.acme, "Owner bot", Role::Owner)
            .await;
        let admin_key = app.key(&admin, None).await;
        let body = json!({"name": "minted"});

        // A key acting as a person would record that person as the author of what it does.
        for person in [&seeded.owner, &member] {
            let path = format!("/api/v1/users/{}/api_keys", person.user.id);
            let refused = send(app.request(Method::POST, &path, &admin_key).json(&body)).await;
            assert_error(&refused, 403, "forbidden");
        }
        // A key of a service account ranked above the admin would be a way up.
        let path = format!("/api/v1/users/{}/api_keys", owner_bot.user.id);
        assert_error(
            &send(app.request(Method::POST, &path, &admin_key).json(&body)).await,
            403,
            "forbidden",
        );
        // The owner may.
        let owner_key = app.key(&seeded.owner, None).await;
        let minted = send(app.request(Method::POST, &path, &owner_key).json(&body)).await;
        assert_eq!(minted.0, 201, "{}", minted.2);
        assert_eq!(
            minted.1["cache-control"], "no-store",
            "an answer carrying a secret is never cached"
        );

        let keys = send(app.request(Method::GET, "/api/v1/api_keys", &admin_key)).await;
        assert_eq!(
            keys.2["pagination"]["total_records"], 1,
            "nothing was created for anyone else"
        );
        let empty = app
            .post_api_key(&admin_key, json!({"name": "x", "scopes": []}))
            .await;
        assert_error(&empty, 400, "invalid_request");
        assert!(
            empty.2["error_description"]
                .as_str()
                .unwrap()
                .contains("at least one scope"),
            "{}",
            empty.2
        );
        app.stop().await;
    })
    .await;
}
