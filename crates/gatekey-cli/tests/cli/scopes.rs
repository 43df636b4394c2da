//! `gatekey admin scope …`: the scope catalogue as an operator manages it, and keys that carry
//! catalogue scopes.

use gatekey_store::testing::TestDatabase;

use crate::fixtures::{create_account, create_api_key, create_person};
use crate::process::{admin, admin_json, words};

fn one_line_refusal(output: &std::process::Output, hint: &str) {
    assert_eq!(output.status.code(), Some(1));
    let reason = String::from_utf8_lossy(&output.stderr);
    assert!(
        reason.contains(hint) && reason.trim().lines().count() == 1,
        "{reason}"
    );
}

#[tokio::test]
async fn the_catalogue_is_managed_from_the_command_line() {
    let db = TestDatabase::create(gatekey_store::Backend::Sqlite).await;
    let url = db.url.as_str();
    create_account(url, "acme", "Acme");
    create_person(url, "ada@acme.test", "acme", "member");

    let created = admin_json(
        url,
        &[
            "scope",
            "create",
            "--name",
            "billing",
            "--description",
            "See and pay invoices",
            "--group",
            "Money",
            "--role",
            "owner",
            "--role",
            "member",
        ],
    );
    assert_eq!(created["name"], "billing");
    assert_eq!(created["roles"], serde_json::json!(["owner", "member"]));
    assert_eq!(created["builtin"], false);

    for bad in ["has space", "quote\"d", "bell\u{7}", "read"] {
        let refused = admin(
            url,
            &["scope", "create", "--name", bad, "--description", "x"],
        );
        one_line_refusal(&refused, "scope");
    }
    let again = words("scope create --name billing --description again");
    let duplicate = admin(url, &again);
    one_line_refusal(&duplicate, "already exists");

    let key = create_api_key(
        url,
        ["--email", "ada@acme.test"],
        "acme",
        "ci",
        &["--scope", "read billing"],
    );
    assert_eq!(key["scopes"], serde_json::json!(["read", "billing"]));
    let unknown = admin(
        url,
        &[
            "api-key",
            "create",
            "--email",
            "ada@acme.test",
            "--account",
            "acme",
            "--name",
            "x",
            "--scope",
            "read sudo",
        ],
    );
    one_line_refusal(&unknown, "sudo");

    let updated = admin_json(
        url,
        &[
            "scope",
            "update",
            "billing",
            "--no-group",
            "--description",
            "Invoices",
        ],
    );
    assert_eq!(updated["group"], serde_json::Value::Null);
    assert_eq!(updated["description"], "Invoices");
    one_line_refusal(&admin(url, &["scope", "delete", "admin"]), "built-in");

    let listed = admin_json(url, &["scope", "list"]);
    let names: Vec<&str> = listed["scopes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["read", "write", "admin", "billing"]);

    admin_json(url, &["scope", "delete", "billing"]);
    one_line_refusal(&admin(url, &["scope", "delete", "billing"]), "no scope");
    // The key keeps the name; it is simply no longer effective.
    let keys = admin_json(url, &["api-key", "list", "--account", "acme"]);
    assert_eq!(
        keys["api_keys"][0]["scopes"],
        serde_json::json!(["read", "billing"])
    );
    db.drop_database().await;
}
