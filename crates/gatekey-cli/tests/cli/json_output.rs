//! The fields `gatekey admin … --json` prints, as docs/cli.md documents them: scripts read
//! them, so a field that appears or goes away is a change of interface.

use gatekey_store::testing::TestDatabase;
use serde_json::Value;

use crate::fixtures::{
    add_membership, create_account, create_api_key, create_app, create_person, set_password,
};
use crate::process::admin_json;

/// The names of `object`'s fields, sorted.
#[track_caller]
fn fields(object: &Value) -> Vec<&str> {
    let mut names: Vec<&str> = object
        .as_object()
        .expect("a JSON object")
        .keys()
        .map(String::as_str)
        .collect();
    names.sort_unstable();
    names
}

const MEMBER: [&str; 8] = [
    "account",
    "account_id",
    "disabled",
    "email",
    "id",
    "kind",
    "name",
    "role",
];

const API_KEY: [&str; 13] = [
    "account_id",
    "created_at",
    "expires_at",
    "id",
    "last_used_at",
    "last_used_ip",
    "name",
    "prefix",
    "previous_prefix",
    "previous_secret_expires_at",
    "revoked_at",
    "scopes",
    "user_id",
];

const APPLICATION: [&str; 20] = [
    "access_token_format",
    "account",
    "client_id",
    "client_type",
    "created_at",
    "grant_types",
    "id",
    "id_token_signed_response_alg",
    "implicit_allowed",
    "introspect",
    "introspect_all_accounts",
    "name",
    "post_logout_redirect_uris",
    "previous_secret_expires_at",
    "redirect_uris",
    "resources",
    "scopes",
    "service_account_id",
    "updated_at",
    "verify_keys",
];

/// `APPLICATION` and `extra`, sorted.
fn application_with(extra: &str) -> Vec<&str> {
    let mut names = APPLICATION.to_vec();
    names.push(extra);
    names.sort_unstable();
    names
}

#[tokio::test]
async fn json_output_has_the_documented_fields() {
    let db = TestDatabase::create(gatekey_store::Backend::Sqlite).await;
    let url = db.url.as_str();

    let account = create_account(url, "acme", "Acme");
    assert_eq!(fields(&account), ["id", "name", "slug"]);
    let accounts = admin_json(url, &["account", "list"]);
    assert_eq!(fields(&accounts), ["accounts"]);
    assert_eq!(fields(&accounts["accounts"][0]), ["id", "name", "slug"]);

    let person = create_person(url, "ada@acme.test", "acme", "owner");
    assert_eq!(fields(&person), MEMBER);
    let users = admin_json(url, &["user", "list"]);
    assert_eq!(fields(&users), ["users"]);
    assert_eq!(fields(&users["users"][0]), MEMBER);
    assert_eq!(users["users"][0]["account"], "acme");
    create_account(url, "beta", "Beta");
    let membership = add_membership(url, "ada@acme.test", "beta", "viewer");
    assert_eq!(fields(&membership), MEMBER);
    let password = set_password(url, "ada@acme.test", "a brand new password");
    assert!(password.status.success());
    let password: Value = serde_json::from_slice(&password.stdout).unwrap();
    assert_eq!(fields(&password), ["email", "id", "password_changed"]);
    let disabled = admin_json(url, &["user", "disable", "--email", "ada@acme.test"]);
    assert_eq!(fields(&disabled), ["disabled", "email", "id"]);
    let enabled = admin_json(url, &["user", "enable", "--email", "ada@acme.test"]);
    assert_eq!(fields(&enabled), ["disabled", "email", "id"]);

    let robot = admin_json(
        url,
        &[
            "service-account",
            "create",
            "--account",
            "acme",
            "--name",
            "sync",
        ],
    );
    assert_eq!(fields(&robot), MEMBER);
    let robots = admin_json(url, &["service-account", "list", "--account", "acme"]);
    assert_eq!(fields(&robots), ["service_accounts"]);
    assert_eq!(fields(&robots["service_accounts"][0]), MEMBER);

    let key = create_api_key(url, ["--email", "ada@acme.test"], "acme", "ci", &[]);
    let mut with_secret = API_KEY.to_vec();
    with_secret.push("secret");
    with_secret.sort_unstable();
    assert_eq!(fields(&key), with_secret);
    let keys = admin_json(url, &["api-key", "list"]);
    assert_eq!(fields(&keys), ["api_keys", "total"]);
    let mut with_state = API_KEY.to_vec();
    with_state.push("state");
    with_state.sort_unstable();
    assert_eq!(fields(&keys["api_keys"][0]), with_state);
    let rolled = admin_json(
        url,
        &["api-key", "roll", &key["id"].to_string(), "--grace", "1h"],
    );
    assert_eq!(fields(&rolled), with_secret);
    let revoked = admin_json(url, &["api-key", "revoke", &key["id"].to_string()]);
    assert_eq!(fields(&revoked), API_KEY);

    let app = create_app(
        url,
        "Reports",
        "confidential",
        &["--redirect-uri", "https://reports.example/cb"],
    );
    assert_eq!(fields(&app), application_with("client_secret"));
    let client_id = app["client_id"].as_str().unwrap();
    let apps = admin_json(url, &["app", "list", "--account", "acme"]);
    assert_eq!(fields(&apps), ["applications", "total"]);
    assert_eq!(fields(&apps["applications"][0]), APPLICATION);
    assert_eq!(
        fields(&admin_json(url, &["app", "show", client_id])),
        APPLICATION
    );
    let updated = admin_json(url, &["app", "update", client_id, "--name", "Reports 2"]);
    assert_eq!(fields(&updated), APPLICATION);
    let rotated = admin_json(url, &["app", "rotate-secret", client_id]);
    assert_eq!(fields(&rotated), application_with("client_secret"));
    let deleted = admin_json(url, &["app", "delete", client_id]);
    assert_eq!(fields(&deleted), ["account", "client_id", "deleted"]);
}
