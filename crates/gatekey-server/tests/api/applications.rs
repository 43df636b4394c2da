//! OAuth applications over the admin API and the admin page: registration rules, secrets shown
//! once, partial updates, rotation with a grace period, deletion, who may do it, and the audit
//! trail.

use gatekey_core::oauth::application::Application;
use gatekey_core::oauth::store::ApplicationStore;
use gatekey_core::role::Role;
use gatekey_core::secret::TokenHash;
use reqwest::Method;
use serde_json::{json, Value};

use crate::harness::{
    assert_error, each_backend, send, send_text, sign_in, Browser, TestApp, PASSWORD,
};

type Answer = (u16, reqwest::header::HeaderMap, Value);

async fn create(app: &TestApp, key: &str, body: Value) -> Answer {
    send(
        app.request(Method::POST, "/api/v1/applications", key)
            .json(&body),
    )
    .await
}

fn confidential(service_account_id: i64) -> Value {
    json!({
        "name": "Reports",
        "client_type": "confidential",
        "redirect_uris": ["https://reports.example/cb"],
        "grant_types": ["authorization_code", "refresh_token", "client_credentials"],
        "service_account_id": service_account_id,
    })
}

fn public() -> Value {
    json!({
        "name": "Desktop",
        "client_type": "public",
        "redirect_uris": ["http://127.0.0.1/callback", "com.example.desktop:/cb"],
    })
}

/// The application stored under `client_id`, unless it is gone.
async fn stored_application(app: &TestApp, client_id: &str) -> Option<Application> {
    let found = app.store().application_by_client_id(client_id).await;
    found.expect("the application lookup")
}

/// The audit events of the account, newest first.
async fn audit_actions(app: &TestApp, key: &str) -> Vec<Value> {
    let listed = send(app.request(Method::GET, "/api/v1/audits?per_page=200", key)).await;
    assert_eq!(listed.0, 200, "{}", listed.2);
    listed.2["audits"].as_array().unwrap().clone()
}

#[tokio::test]
async fn register_show_update_rotate_and_delete() {
    each_backend(|backend| async move {
        let (app, seeded) = TestApp::start_seeded(backend).await;
        let key = app.key(&seeded.owner, None).await;
        let robot = app
            .service_account(&seeded.acme, "reports robot", Role::Member)
            .await;

        let made = create(&app, &key, confidential(robot.user.id)).await;
        assert_eq!(made.0, 201, "{}", made.2);
        let id = made.2["id"].as_i64().unwrap();
        assert_eq!(
            made.1["location"].to_str().unwrap(),
            format!("/api/v1/applications/{id}")
        );
        let client_id = made.2["client_id"].as_str().unwrap().to_owned();
        assert!(client_id.starts_with("app_"), "{client_id}");
        let secret = made.2["client_secret"].as_str().unwrap().to_owned();
        assert!(secret.starts_with("gk_cs_"), "{secret}");
        assert_eq!(made.2["client_type"], "confidential");
        assert_eq!(
            made.2["grant_types"],
            json!(["authorization_code", "refresh_token", "client_credentials"])
        );
        assert_eq!(
            made.2["scopes"],
            json!(["read", "write", "admin"]),
            "all by default"
        );
        assert_eq!(
            (&made.2["implicit_allowed"], &made.2["introspect"]),
            (&json!(false), &json!(false)),
            "off by default"
        );
        assert_eq!(made.2["service_account_id"], robot.user.id);

        let desktop = create(&app, &key, public()).await;
        assert_eq!(desktop.0, 201, "{}", desktop.2);
        assert_eq!(desktop.2["client_secret"], Value::Null, "public: no secret");
        assert_eq!(
            desktop.2["grant_types"],
            json!(["authorization_code", "refresh_token"]),
            "the code flow by default"
        );
        let desktop_id = desktop.2["id"].as_i64().unwrap();

        // Only the SHA-256 is stored, and it matches the secret that was shown.
        let stored = stored_application(&app, &client_id).await.expect("stored");
        let now = time::OffsetDateTime::now_utc();
        assert!(stored.secret_matches(&TokenHash::of(&secret), now));

        // The secret is never shown again.
        let listed = app
            .request(Method::GET, "/api/v1/applications", &key)
            .send()
            .await
            .unwrap();
        assert_eq!(listed.status(), 200);
        let text = listed.text().await.unwrap();
        assert!(
            !text.contains(&secret) && !text.contains("client_secret"),
            "{text}"
        );
        let listed: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(listed["applications"].as_array().unwrap().len(), 2);
        assert_eq!(listed["pagination"]["total_records"], 2);
        assert_eq!(listed["applications"][0]["client_id"], client_id.as_str());
        let shown =
            send(app.request(Method::GET, &format!("/api/v1/applications/{id}"), &key)).await;
        assert_eq!(shown.0, 200, "{}", shown.2);
        assert_eq!(shown.2["name"], "Reports");
        assert!(shown.2.get("client_secret").is_none(), "{}", shown.2);

        // PATCH changes only what it is sent.
        let path = format!("/api/v1/applications/{id}");
        let patch = |body: Value| app.send_json(Method::PATCH, &path, &key, body);
        let patched =
            patch(json!({"name": "Reports v2", "scopes": ["read"], "introspect": true})).await;
        assert_eq!(patched.0, 200, "{}", patched.2);
        assert_eq!(
            (
                &patched.2["name"],
                &patched.2["scopes"],
                &patched.2["introspect"]
            ),
            (&json!("Reports v2"), &json!(["read"]), &json!(true))
        );
        assert_eq!(
            patched.2["redirect_uris"],
            json!(["https://reports.example/cb"])
        );
        assert_eq!(patched.2["service_account_id"], robot.user.id);
        let unlink = patch(json!({"service_account_id": null})).await;
        assert_error(&unlink, 400, "invalid_request");
        assert!(
            unlink.2["error_description"]
                .as_str()
                .unwrap()
                .contains("service account"),
            "{}",
            unlink.2
        );
        let retype = patch(json!({"client_type": "public"})).await;
        assert_error(&retype, 400, "invalid_request");
        let restated = patch(json!({"client_type": "confidential"})).await;
        assert_eq!(
            restated.0, 200,
            "restating the type is fine: {}",
            restated.2
        );
        let secret_field = patch(json!({"client_secret": "gk_cs_mine"})).await;
        assert_eq!(
            secret_field.0, 422,
            "unknown fields are refused: {}",
            secret_field.2
        );
        let put = app
            .send_json(Method::PUT, &path, &key, json!({"name": "x"}))
            .await;
        assert_eq!(put.0, 405, "PATCH only: {}", put.2);

        // Rotation: a new secret, shown once; the old one works for the grace period.
        let rotated = send(app.request(
            Method::POST,
            &format!("/api/v1/applications/{id}/rotate_secret"),
            &key,
        ))
        .await;
        assert_eq!(rotated.0, 200, "{}", rotated.2);
        let new_secret = rotated.2["client_secret"].as_str().unwrap().to_owned();
        assert!(new_secret.starts_with("gk_cs_") && new_secret != secret);
        assert!(rotated.2["previous_secret_expires_at"].is_string());
        let stored = stored_application(&app, &client_id).await.expect("stored");
        let now = time::OffsetDateTime::now_utc();
        let (old, new) = (TokenHash::of(&secret), TokenHash::of(&new_secret));
        assert!(stored.secret_matches(&old, now), "old secret during grace");
        assert!(stored.secret_matches(&new, now), "new secret at once");
        let expiry = stored.previous_secret_expires_at.expect("grace end");
        let grace = expiry - now;
        assert!(
            grace > time::Duration::hours(23) && grace <= time::Duration::hours(24),
            "{grace}"
        );
        let after = now + time::Duration::hours(25);
        assert!(
            !stored.secret_matches(&old, after),
            "old secret after grace"
        );
        assert!(stored.secret_matches(&new, after));
        let public_rotate = send(app.request(
            Method::POST,
            &format!("/api/v1/applications/{desktop_id}/rotate_secret"),
            &key,
        ))
        .await;
        assert_error(&public_rotate, 409, "conflict");

        // Deletion.
        let desktop_path = format!("/api/v1/applications/{desktop_id}");
        let deleted = send(app.request(Method::DELETE, &desktop_path, &key)).await;
        assert_eq!(deleted.0, 204, "{}", deleted.2);
        assert_error(
            &send(app.request(Method::GET, &desktop_path, &key)).await,
            404,
            "not_found",
        );
        assert_error(
            &send(app.request(Method::DELETE, &desktop_path, &key)).await,
            404,
            "not_found",
        );
        let gone = desktop.2["client_id"].as_str().unwrap();
        assert!(stored_application(&app, gone).await.is_none());
        let listed = send(app.request(Method::GET, "/api/v1/applications", &key)).await;
        assert_eq!(listed.2["pagination"]["total_records"], 1);

        // Every change is in the audit log, by whom, with what, on which client id.
        let audits = audit_actions(&app, &key).await;
        let of = |action: &str, target: &str| {
            audits
                .iter()
                .filter(|a| a["action"] == action && a["target_id"] == target)
                .count()
        };
        assert_eq!(of("application.created", &client_id), 1);
        assert_eq!(of("application.created", gone), 1);
        assert_eq!(
            of("application.updated", &client_id),
            2,
            "two accepted PATCHes"
        );
        assert_eq!(of("application.secret_rotated", &client_id), 1);
        assert_eq!(of("application.deleted", gone), 1);
        for event in audits
            .iter()
            .filter(|a| a["action"].as_str().unwrap().starts_with("application."))
        {
            assert_eq!(event["actor_user_id"], seeded.owner.user.id, "{event}");
            assert_eq!(event["credential"]["type"], "api_key", "{event}");
            assert_eq!(event["target_type"], "application", "{event}");
            assert_eq!(event["outcome"], "success", "{event}");
            let text = event.to_string();
            assert!(
                !text.contains(&secret) && !text.contains(&new_secret),
                "{text}"
            );
        }
        let details: Vec<&str> = audits
            .iter()
            .filter(|a| a["action"] == "application.updated")
            .map(|a| a["detail"].as_str().unwrap())
            .collect();
        assert_eq!(
            details,
            ["nothing changed", "changed name, scopes, introspect"],
            "the event names what changed"
        );
        app.stop().await;
    })
    .await;
}

#[tokio::test]
async fn registration_rules() {
    each_backend(|backend| async move {
        let (app, seeded) = TestApp::start_seeded(backend).await;
        let key = app.key(&seeded.owner, None).await;
        // A service account of this account, and one of another.
        let (robot, stranger) = (
            app.service_account(&seeded.acme, "robot", Role::Member)
                .await,
            app.service_account(&seeded.other, "stranger", Role::Member)
                .await,
        );
        let with_uri = |uri: &str| {
            json!({"name": "A", "client_type": "public", "redirect_uris": [uri]})
        };
        let granting = |client_type: &str, grant_types: &[&str], service: Option<i64>| {
            json!({
                "name": "A",
                "client_type": client_type,
                "redirect_uris": ["https://a.example/cb"],
                "grant_types": grant_types,
                "service_account_id": service,
            })
        };
        let refused_uris: Vec<(&str, Value, &str)> = vec![
            ("fragment", with_uri("https://a.example/cb#frag"), "fragment"),
            ("http to a host", with_uri("http://a.example/cb"), "https"),
            ("localhost", with_uri("http://localhost:8080/cb"), "127.0.0.1"),
            ("relative", with_uri("/cb"), "absolute"),
            ("bare custom scheme", with_uri("myapp:/cb"), "reverse domain"),
            ("javascript", with_uri("javascript:alert(1)"), "javascript: scheme"),
            (
                "no redirect URI for the code flow",
                json!({"name": "A", "client_type": "public"}),
                "redirect URI",
            ),
        ];
        for (case, body, hint) in refused_uris {
            let answer = create(&app, &key, body).await;
            assert_error(&answer, 400, "invalid_redirect_uri");
            let description = answer.2["error_description"].as_str().unwrap();
            assert!(description.contains(hint), "{case}: {description}");
        }
        let refused: Vec<(&str, Value, &str)> = vec![
            (
                "unknown grant",
                granting("confidential", &["magic"], None),
                "unknown grant type",
            ),
            (
                "password grant",
                granting("confidential", &["password"], None),
                "unknown grant type",
            ),
            (
                "implicit as a grant",
                granting("public", &["implicit"], None),
                "unknown grant type",
            ),
            (
                "client_credentials without a service account",
                granting("confidential", &["client_credentials"], None),
                "service account",
            ),
            (
                "client_credentials on a public client",
                granting("public", &["client_credentials"], Some(robot.user.id)),
                "public",
            ),
            (
                "service account of another account",
                granting("confidential", &["client_credentials"], Some(stranger.user.id)),
                "not a member",
            ),
            (
                "a person as service account",
                granting("confidential", &["client_credentials"], Some(seeded.owner.user.id)),
                "not a service account",
            ),
            (
                "unknown client type",
                json!({"name": "A", "client_type": "native", "redirect_uris": ["https://a.example/cb"]}),
                "client type",
            ),
            (
                "no scope",
                json!({"name": "A", "client_type": "public", "redirect_uris": ["https://a.example/cb"], "scopes": []}),
                "scope",
            ),
            (
                "refresh_token alone",
                granting("confidential", &["refresh_token"], None),
                "refresh_token",
            ),
            (
                "no name",
                json!({"name": "", "client_type": "public", "redirect_uris": ["https://a.example/cb"]}),
                "name",
            ),
            (
                "introspection by a public client",
                json!({"name": "A", "client_type": "public", "redirect_uris": ["https://a.example/cb"], "introspect": true}),
                "introspect",
            ),
        ];
        for (case, body, hint) in refused {
            let answer = create(&app, &key, body).await;
            assert_error(&answer, 400, "invalid_request");
            let description = answer.2["error_description"].as_str().unwrap();
            assert!(description.contains(hint), "{case}: {description}");
        }
        let unknown_field = create(
            &app,
            &key,
            json!({"name": "A", "client_type": "public", "redirect_uris": ["https://a.example/cb"], "client_secret": "x"}),
        )
        .await;
        assert_eq!(unknown_field.0, 422, "{}", unknown_field.2);
        let listed = send(app.request(Method::GET, "/api/v1/applications", &key)).await;
        assert_eq!(listed.2["pagination"]["total_records"], 0, "nothing stored");

        // What RFC 8252 allows native apps.
        for uri in [
            "http://127.0.0.1/cb",
            "http://127.0.0.1:8123/cb?x=1",
            "http://[::1]/cb",
            "com.example.app:/oauth2redirect",
            "https://app.example/cb",
        ] {
            let made = create(&app, &key, with_uri(uri)).await;
            assert_eq!(made.0, 201, "{uri}: {}", made.2);
            assert_eq!(made.2["redirect_uris"], json!([uri]), "stored exactly");
        }
        let device = create(
            &app,
            &key,
            json!({"name": "TV", "client_type": "public",
                   "grant_types": ["urn:ietf:params:oauth:grant-type:device_code", "refresh_token"]}),
        )
        .await;
        assert_eq!(device.0, 201, "the device flow needs no redirect URI: {}", device.2);
        let implicit = create(
            &app,
            &key,
            json!({"name": "SPA", "client_type": "public", "redirect_uris": ["https://spa.example/cb"],
                   "implicit_allowed": true}),
        )
        .await;
        assert_eq!(implicit.0, 201, "{}", implicit.2);
        assert_eq!(implicit.2["implicit_allowed"], true);
        app.stop().await;
    })
    .await;
}

#[tokio::test]
async fn only_admins_and_only_their_own_account() {
    each_backend(|backend| async move {
        let (app, seeded, admin, member) = TestApp::start_with_team(backend).await;
        let owner_key = app.key(&seeded.owner, None).await;
        let made = create(&app, &owner_key, public()).await;
        assert_eq!(made.0, 201, "{}", made.2);
        let id = made.2["id"].as_i64().unwrap();
        let path = format!("/api/v1/applications/{id}");

        let member_key = app.key(&member, None).await;
        assert_error(
            &send(app.request(Method::GET, "/api/v1/applications", &member_key)).await,
            403,
            "insufficient_scope",
        );
        let member_full = app.key(&member, Some("read write")).await;
        assert_error(
            &create(&app, &member_full, public()).await,
            403,
            "insufficient_scope",
        );
        let read_only = app.key(&seeded.owner, Some("read")).await;
        assert_error(
            &send(app.request(Method::DELETE, &path, &read_only)).await,
            403,
            "insufficient_scope",
        );

        let (_, outsider_key) = app
            .person_with_key(&seeded.other, "admin@other.test", Role::Admin)
            .await;
        for (method, target) in [
            (Method::GET, path.clone()),
            (Method::PATCH, path.clone()),
            (Method::DELETE, path.clone()),
            (Method::POST, format!("{path}/rotate_secret")),
        ] {
            let answer = send(
                app.request(method.clone(), &target, &outsider_key)
                    .json(&json!({"name": "taken over"})),
            )
            .await;
            assert_error(&answer, 404, "not_found");
            assert_eq!(
                answer.2["error_description"], "application not found",
                "{method} {target}"
            );
        }
        let theirs = send(app.request(Method::GET, "/api/v1/applications", &outsider_key)).await;
        assert_eq!(theirs.2["pagination"]["total_records"], 0);
        let shown = send(app.request(Method::GET, &path, &owner_key)).await;
        assert_eq!(shown.2["name"], "Desktop", "unchanged");

        // An admin cannot reach an owner's powers through a client_credentials application.
        let admin_key = app.key(&admin, None).await;
        let mighty = app
            .service_account(&seeded.acme, "mighty", Role::Owner)
            .await;
        let linked = create(&app, &admin_key, confidential(mighty.user.id)).await;
        assert_error(&linked, 403, "forbidden");
        let by_owner = create(&app, &owner_key, confidential(mighty.user.id)).await;
        assert_eq!(by_owner.0, 201, "{}", by_owner.2);
        let mighty_app = by_owner.2["id"].as_i64().unwrap();
        assert_error(
            &send(app.request(
                Method::POST,
                &format!("/api/v1/applications/{mighty_app}/rotate_secret"),
                &admin_key,
            ))
            .await,
            403,
            "forbidden",
        );
        let as_admin = send(app.request(Method::GET, &path, &admin_key)).await;
        assert_eq!(
            as_admin.0, 200,
            "admins manage other applications: {}",
            as_admin.2
        );
        app.stop().await;
    })
    .await;
}

/// The text of the element with `id` in a page: `<code id="x">TEXT</code>` gives `TEXT`.
fn element_text(html: &str, id: &str) -> Option<String> {
    let marker = format!(r#"id="{id}">"#);
    let start = html.find(&marker)? + marker.len();
    let length = html[start..].find('<')?;
    Some(html[start..start + length].to_owned())
}

#[tokio::test]
async fn the_admin_page_registers_lists_and_deletes_applications() {
    each_backend(|backend| async move {
        let (app, seeded) = TestApp::start_seeded(backend).await;
        let admin = sign_in(&app, "owner@acme.test", PASSWORD).await;
        let (status, _, home) = send_text(admin.request(&app, Method::GET, "/")).await;
        assert_eq!(status, 200);
        assert!(
            home.contains("Applications") && home.contains(r#"action="/applications""#),
            "{home}"
        );

        let form = |csrf: &str, uri: &str| {
            vec![
                ("csrf_token", csrf.to_owned()),
                ("name", "Web portal".to_owned()),
                ("client_type", "confidential".to_owned()),
                ("redirect_uris", format!("{uri}\r\n")),
                ("grant_authorization_code", "on".to_owned()),
                ("grant_refresh_token", "on".to_owned()),
                ("scope_read", "on".to_owned()),
                ("service_account_id", String::new()),
            ]
        };
        let register = |browser: &Browser, csrf: &str, uri: &str| {
            let request = browser.request(&app, Method::POST, "/applications");
            send_text(request.form(&form(csrf, uri)))
        };
        let forged = register(&admin, "not-the-token", "https://portal.example/cb").await;
        assert_eq!(forged.0, 403, "CSRF token checked");
        let refused = register(&admin, &admin.csrf, "http://portal.example/cb").await;
        assert_eq!(refused.0, 400);
        assert!(refused.2.contains("must use https"), "{}", refused.2);

        let (status, _, page) = register(&admin, &admin.csrf, "https://portal.example/cb").await;
        assert_eq!(status, 201, "{page}");
        let client_id = element_text(&page, "new-client-id").expect("client id shown");
        let secret = element_text(&page, "new-client-secret").expect("secret shown once");
        assert!(secret.starts_with("gk_cs_"), "{secret}");
        assert!(
            page.contains(r#"data-copy="new-client-secret""#),
            "copy button"
        );
        let stored = stored_application(&app, &client_id).await.expect("stored");
        assert!(stored.secret_matches(&TokenHash::of(&secret), time::OffsetDateTime::now_utc()));
        assert_eq!(stored.scopes.to_string(), "read");

        let (_, _, again) = send_text(admin.request(&app, Method::GET, "/")).await;
        assert!(!again.contains(&secret), "the secret is shown once");
        assert!(
            again.contains(&client_id) && again.contains("https://portal.example/cb"),
            "listed with its redirect URI"
        );

        // Members see no applications section and cannot post to it.
        app.person(&seeded.acme, "member@acme.test", Role::Member)
            .await;
        let browser = sign_in(&app, "member@acme.test", PASSWORD).await;
        let (_, _, member_home) = send_text(browser.request(&app, Method::GET, "/")).await;
        assert!(!member_home.contains(&client_id), "{member_home}");
        let denied = register(&browser, &browser.csrf, "https://portal.example/cb").await;
        assert_eq!(denied.0, 403);
        let delete_path = format!("/applications/{}/delete", stored.id);
        let delete_as = |browser: &Browser, csrf: &str| {
            let request = browser.request(&app, Method::POST, &delete_path);
            send_text(request.form(&[("csrf_token", csrf)]))
        };
        let denied = delete_as(&browser, &browser.csrf).await;
        assert_eq!(denied.0, 403);

        // Another account's admin cannot delete it.
        app.person(&seeded.other, "admin@other.test", Role::Admin)
            .await;
        let theirs = sign_in(&app, "admin@other.test", PASSWORD).await;
        let (status, _, _) = delete_as(&theirs, &theirs.csrf).await;
        assert_eq!(status, 404);

        let forged = delete_as(&admin, "nope").await;
        assert_eq!(forged.0, 403);
        let (status, headers, _) = delete_as(&admin, &admin.csrf).await;
        assert_eq!(status, 303);
        assert_eq!(headers["location"], "/");
        assert!(stored_application(&app, &client_id).await.is_none());

        let key = app.key(&seeded.owner, None).await;
        let audits = audit_actions(&app, &key).await;
        let by_session: Vec<&str> = audits
            .iter()
            .filter(|a| a["target_id"] == client_id.as_str())
            .map(|a| {
                assert_eq!(a["credential"]["type"], "session", "{a}");
                a["action"].as_str().unwrap()
            })
            .collect();
        assert_eq!(by_session, ["application.deleted", "application.created"]);
        app.stop().await;
    })
    .await;
}
