//! Adding a person is an invitation, and its answer says nothing about other accounts: an email
//! that is new, one that has a login in another account, and one invited already all get the
//! same status and the same JSON shape.

use std::collections::BTreeSet;

use gatekey_core::role::Role;
use reqwest::Method;
use serde_json::{json, Map, Value};

use crate::harness::{assert_error, each_backend, send, TestApp};

/// The shape of a JSON value: the same keys with each leaf replaced by its type's name.
pub fn shape(value: &Value) -> Value {
    match value {
        Value::Object(fields) => Value::Object(
            fields
                .iter()
                .map(|(key, value)| (key.clone(), shape(value)))
                .collect::<Map<_, _>>(),
        ),
        Value::Array(items) => Value::Array(items.iter().map(shape).collect()),
        Value::Null => json!("null"),
        Value::Bool(_) => json!("bool"),
        Value::Number(_) => json!("number"),
        Value::String(_) => json!("string"),
    }
}

/// The names of a response's headers, except those that vary with time.
fn header_names(headers: &reqwest::header::HeaderMap) -> BTreeSet<String> {
    headers
        .keys()
        .map(|name| name.as_str().to_owned())
        .filter(|name| name != "date")
        .collect()
}

/// Invites `email` as a member with the owner's key.
async fn invite(app: &TestApp, key: &str, email: &str) -> (u16, reqwest::header::HeaderMap, Value) {
    app.send_json(
        Method::POST,
        "/api/v1/users",
        key,
        json!({"email": email, "name": "Invited", "role": "member"}),
    )
    .await
}

#[tokio::test]
async fn adding_an_email_of_another_account_answers_as_for_a_new_one() {
    each_backend(|backend| async move {
        let (app, seeded) = TestApp::start_seeded(backend).await;
        app.person(&seeded.other, "taken@other.test", Role::Owner)
            .await;
        let key = app.key(&seeded.owner, None).await;

        let new = invite(&app, &key, "new@example.test").await;
        let taken = invite(&app, &key, "Taken@Other.test").await;
        let again = invite(&app, &key, "new@example.test").await;
        for answer in [&new, &taken, &again] {
            assert_eq!(answer.0, 201, "{}", answer.2);
            assert_eq!(shape(&answer.2), shape(&new.2), "{} vs {}", answer.2, new.2);
            assert_eq!(header_names(&answer.1), header_names(&new.1));
            let invitation = &answer.2["invitation"];
            assert_eq!(invitation["status"], "pending", "{}", answer.2);
            assert_eq!(invitation["role"], "member", "{}", answer.2);
            let url = invitation["accept_url"].as_str().expect("an accept_url");
            assert!(url.contains("/invitations/gk_inv_"), "{url}");
        }
        let keys: Vec<&str> = new.2["invitation"]
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        assert_eq!(
            keys,
            [
                "accept_url",
                "created_at",
                "email",
                "expires_at",
                "id",
                "name",
                "role",
                "status"
            ]
        );
        assert_eq!(taken.2["invitation"]["email"], "taken@other.test");
        assert_ne!(
            again.2["invitation"]["accept_url"], new.2["invitation"]["accept_url"],
            "a repeat invitation gets a fresh link"
        );

        // Nobody was created or added: the people are only invited.
        let users = send(app.request(Method::GET, "/api/v1/users", &key)).await;
        assert_eq!(users.2["pagination"]["total_records"], 1, "{}", users.2);
        let listed = send(app.request(Method::GET, "/api/v1/invitations", &key)).await;
        assert_eq!(listed.0, 200, "{}", listed.2);
        let pending = listed.2["invitations"].as_array().unwrap();
        let emails: Vec<&Value> = pending.iter().map(|i| &i["email"]).collect();
        assert_eq!(
            emails,
            [&json!("taken@other.test"), &json!("new@example.test")]
        );
        assert_eq!(
            pending[1]["id"], again.2["invitation"]["id"],
            "the repeat replaced the first invitation"
        );
        assert!(
            pending.iter().all(|i| i.get("accept_url").is_none()),
            "the link is shown once: {}",
            listed.2
        );

        // Only a member of this very account, whom the admin sees anyway, is refused.
        let member = invite(&app, &key, "OWNER@acme.test").await;
        assert_error(&member, 409, "conflict");
        app.stop().await;
    })
    .await;
}

#[tokio::test]
async fn an_admin_sets_no_password_and_invites_no_higher_rank() {
    each_backend(|backend| async move {
        let (app, seeded) = TestApp::start_seeded(backend).await;
        let (_, admin_key) = app.person_with_key(&seeded.acme, "admin@acme.test", Role::Admin).await;
        let with_password = send(app.request(Method::POST, "/api/v1/users", &admin_key).json(
            &json!({"email": "p@example.test", "name": "P", "role": "member", "password": "a long enough password"}),
        ))
        .await;
        assert_error(&with_password, 400, "invalid_request");
        assert!(with_password.2["error_description"]
            .as_str()
            .unwrap()
            .contains("own password"));
        let owner = app.send_json(Method::POST, "/api/v1/users", &admin_key, json!({"email": "o@example.test", "name": "O", "role": "owner"})).await;
        assert_error(&owner, 403, "forbidden");
        let listed = send(app.request(Method::GET, "/api/v1/invitations", &admin_key)).await;
        assert_eq!(listed.2["pagination"]["total_records"], 0, "{}", listed.2);
        app.stop().await;
    })
    .await;
}

#[tokio::test]
async fn a_withdrawn_invitation_leaves_the_list_and_the_audit_tells() {
    each_backend(|backend| async move {
        let (app, seeded) = TestApp::start_seeded(backend).await;
        let key = app.key(&seeded.owner, None).await;
        let (_, other_key) = app
            .person_with_key(&seeded.other, "boss@other.test", Role::Owner)
            .await;

        let made = invite(&app, &key, "ada@example.test").await;
        let id = made.2["invitation"]["id"].as_i64().unwrap();
        let path = format!("/api/v1/invitations/{id}");
        // Another account's admin cannot see or withdraw it.
        let theirs = send(app.request(Method::GET, "/api/v1/invitations", &other_key)).await;
        assert_eq!(theirs.2["pagination"]["total_records"], 0, "{}", theirs.2);
        assert_error(
            &send(app.request(Method::DELETE, &path, &other_key)).await,
            404,
            "not_found",
        );
        let withdrawn = send(app.request(Method::DELETE, &path, &key)).await;
        assert_eq!(withdrawn.0, 204, "{}", withdrawn.2);
        assert_error(
            &send(app.request(Method::DELETE, &path, &key)).await,
            404,
            "not_found",
        );
        let listed = send(app.request(Method::GET, "/api/v1/invitations", &key)).await;
        assert_eq!(listed.2["pagination"]["total_records"], 0, "{}", listed.2);

        let audits = send(app.request(Method::GET, "/api/v1/audits", &key)).await;
        let actions: Vec<&Value> = audits.2["audits"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| &a["action"])
            .take(2)
            .collect();
        assert_eq!(
            actions,
            [&json!("invitation.withdrawn"), &json!("invitation.created")],
            "{}",
            audits.2
        );
        let recorded = audits.2.to_string();
        let secret = made.2["invitation"]["accept_url"].as_str().unwrap();
        let secret = &secret[secret.find("gk_inv_").unwrap()..];
        assert!(!recorded.contains(secret), "the link is never audited");
        app.stop().await;
    })
    .await;
}
