//! `gatekey admin …`: output, exit codes, and the changes reaching the database.

use std::io::Write;
use std::process::Stdio;

use gatekey_store::testing::TestDatabase;

use crate::process::{admin, admin_json, gatekey};

#[tokio::test]
async fn accounts_users_service_accounts_and_keys() {
    let db = TestDatabase::create(gatekey_store::Backend::Sqlite).await;
    let url = db.url.as_str();

    let missing = admin(url, &["account", "list"]);
    assert_eq!(
        missing.status.code(),
        Some(1),
        "a missing database is an error"
    );
    assert!(String::from_utf8_lossy(&missing.stderr).contains("no gatekey database"));
    let account = admin_json(
        url,
        &[
            "account",
            "create",
            "--slug",
            "acme",
            "--name",
            "Acme Inc",
            "--create-database",
        ],
    );
    assert_eq!(account["slug"], "acme");
    let human = admin(url, &["account", "list"]);
    assert!(String::from_utf8_lossy(&human.stdout).contains("acme"));

    let duplicate = admin(
        url,
        &["account", "create", "--slug", "acme", "--name", "Again"],
    );
    assert_eq!(duplicate.status.code(), Some(1));
    let reason = String::from_utf8_lossy(&duplicate.stderr);
    assert!(
        reason.contains("already exists") && reason.lines().count() == 1,
        "{reason}"
    );

    let bad_slug = admin(
        url,
        &["account", "create", "--slug", "Not A Slug", "--name", "X"],
    );
    assert_eq!(bad_slug.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&bad_slug.stderr).contains("slug"));
    let usage = admin(url, &["account", "create", "--slug", "x"]);
    assert_eq!(usage.status.code(), Some(2), "a missing flag is bad usage");

    let mut create = gatekey()
        .args([
            "admin",
            "user",
            "create",
            "--email",
            "Ada@Acme.test",
            "--name",
            "Ada",
            "--account",
            "acme",
            "--role",
            "admin",
        ])
        .args(["--password-stdin", "--json", "--database-url", url])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    create
        .stdin
        .take()
        .unwrap()
        .write_all(b"a very good password\n")
        .unwrap();
    let created = create.wait_with_output().unwrap();
    assert!(created.status.success());
    let ada: serde_json::Value = serde_json::from_slice(&created.stdout).unwrap();
    assert_eq!(
        (ada["email"].as_str(), ada["role"].as_str()),
        (Some("ada@acme.test"), Some("admin"))
    );

    admin_json(
        url,
        &["account", "create", "--slug", "beta", "--name", "Beta"],
    );
    let membership = admin_json(
        url,
        &[
            "user",
            "add-membership",
            "--email",
            "ada@acme.test",
            "--account",
            "beta",
            "--role",
            "viewer",
        ],
    );
    assert_eq!(membership["role"], "viewer");
    let users = admin_json(url, &["user", "list", "--account", "beta"]);
    assert_eq!(users["users"].as_array().unwrap().len(), 1);

    let service = admin(
        url,
        &[
            "service-account",
            "create",
            "--account",
            "acme",
            "--name",
            "nightly sync",
        ],
    );
    assert!(service.status.success());
    let service_id: i64 = String::from_utf8_lossy(&service.stdout)
        .trim()
        .parse()
        .expect("prints the user id");
    let listed = admin_json(url, &["service-account", "list", "--account", "acme"]);
    assert_eq!(listed["service_accounts"][0]["id"], service_id);

    let key = admin_json(
        url,
        &[
            "api-key",
            "create",
            "--email",
            "ada@acme.test",
            "--account",
            "acme",
            "--name",
            "ci",
            "--scope",
            "read",
            "--expires-in",
            "30d",
        ],
    );
    assert!(key["secret"].as_str().unwrap().starts_with("gk_key_"));
    assert_eq!(key["scopes"], serde_json::json!(["read"]));
    assert!(key["expires_at"].is_string());
    let keys = admin_json(url, &["api-key", "list", "--account", "acme"]);
    assert_eq!(keys["api_keys"].as_array().unwrap().len(), 1);
    assert!(
        keys["api_keys"][0].get("secret").is_none(),
        "lists never show secrets"
    );

    let not_member = admin(
        url,
        &[
            "api-key",
            "create",
            "--email",
            "ada@acme.test",
            "--account",
            "nope",
            "--name",
            "x",
        ],
    );
    assert_eq!(not_member.status.code(), Some(1));

    let revoked = admin_json(url, &["api-key", "revoke", &key["id"].to_string()]);
    assert!(revoked["revoked_at"].is_string());
    let missing = admin(url, &["api-key", "revoke", "999999"]);
    assert_eq!(missing.status.code(), Some(1));

    let disabled = admin_json(url, &["user", "disable", "--email", "ada@acme.test"]);
    assert_eq!(disabled["disabled"], true);
}

#[tokio::test]
async fn passwords_re_enabling_and_service_account_keys_by_id() {
    let db = TestDatabase::create(gatekey_store::Backend::Sqlite).await;
    let url = db.url.as_str();
    admin_json(
        url,
        &[
            "account",
            "create",
            "--slug",
            "acme",
            "--name",
            "Acme",
            "--create-database",
        ],
    );
    admin_json(
        url,
        &[
            "user",
            "create",
            "--email",
            "ada@acme.test",
            "--name",
            "Ada",
            "--account",
            "acme",
            "--role",
            "member",
        ],
    );

    let mut set = gatekey()
        .args([
            "admin",
            "user",
            "set-password",
            "--email",
            "ada@acme.test",
            "--password-stdin",
            "--json",
        ])
        .args(["--database-url", url])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    set.stdin
        .take()
        .unwrap()
        .write_all(b"a brand new password\n")
        .unwrap();
    let output = set.wait_with_output().unwrap();
    assert!(output.status.success());
    let no_stdin = admin(url, &["user", "set-password", "--email", "ada@acme.test"]);
    assert_eq!(
        no_stdin.status.code(),
        Some(2),
        "a password never comes as an argument"
    );

    admin_json(url, &["user", "disable", "--email", "ada@acme.test"]);
    let enabled = admin_json(url, &["user", "enable", "--email", "ada@acme.test"]);
    assert_eq!(enabled["disabled"], false);
    let users = admin_json(url, &["user", "list"]);
    assert_eq!(users["users"][0]["account"], "acme");

    let service = admin(
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
    let id = String::from_utf8_lossy(&service.stdout).trim().to_owned();
    let key = admin_json(
        url,
        &[
            "api-key",
            "create",
            "--user-id",
            &id,
            "--account",
            "acme",
            "--name",
            "sync",
        ],
    );
    assert_eq!(key["user_id"].to_string(), id);
    let expiring = admin_json(
        url,
        &[
            "api-key",
            "create",
            "--user-id",
            &id,
            "--account",
            "acme",
            "--name",
            "soon",
            "--expires-in",
            "1s",
        ],
    );
    std::thread::sleep(std::time::Duration::from_millis(1100));
    admin_json(url, &["api-key", "revoke", &key["id"].to_string()]);
    let listed = admin_json(url, &["api-key", "list", "--account", "acme"]);
    let state_of = |id: &serde_json::Value| {
        listed["api_keys"]
            .as_array()
            .unwrap()
            .iter()
            .find(|k| k["id"] == *id)
            .unwrap()["state"]
            .clone()
    };
    assert_eq!(state_of(&key["id"]), "revoked");
    assert_eq!(state_of(&expiring["id"]), "expired");
}
