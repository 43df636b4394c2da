//! `gatekey admin …`: output, exit codes, and the changes reaching the database.

use gatekey_core::api_key::ApiKeyRequest;
use gatekey_core::api_key_creation;
use gatekey_core::audit::Actor;
use gatekey_core::scope::ScopeSet;
use gatekey_core::store::{AccountStore, UserStore};
use gatekey_store::testing::TestDatabase;
use gatekey_store::SqlStore;
use time::{Duration, OffsetDateTime};

use crate::fixtures::{
    add_membership, create_account, create_api_key, create_person,
    create_service_account_printing_id, set_password,
};
use crate::process::{admin, admin_json, admin_with_stdin, words};

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
    let account = create_account(url, "acme", "Acme Inc");
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

    let created = admin_with_stdin(
        url,
        &[
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
            "--password-stdin",
            "--json",
        ],
        "a very good password\n",
    );
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
    let membership = add_membership(url, "ada@acme.test", "beta", "viewer");
    assert_eq!(membership["role"], "viewer");
    let users = admin_json(url, &["user", "list", "--account", "beta"]);
    assert_eq!(users["users"].as_array().unwrap().len(), 1);

    let service_id: i64 = create_service_account_printing_id(url, "acme", "nightly sync")
        .parse()
        .expect("prints the user id");
    let listed = admin_json(url, &["service-account", "list", "--account", "acme"]);
    assert_eq!(listed["service_accounts"][0]["id"], service_id);

    let key = create_api_key(
        url,
        ["--email", "ada@acme.test"],
        "acme",
        "ci",
        &["--scope", "read", "--expires-in", "30d"],
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

    let in_other_account = words("api-key create --email ada@acme.test --account nope --name x");
    let not_member = admin(url, &in_other_account);
    assert_eq!(not_member.status.code(), Some(1));

    let revoked = admin_json(url, &["api-key", "revoke", &key["id"].to_string()]);
    assert!(revoked["revoked_at"].is_string());
    let missing = admin(url, &["api-key", "revoke", "999999"]);
    assert_eq!(missing.status.code(), Some(1));

    let disabled = admin_json(url, &["user", "disable", "--email", "ada@acme.test"]);
    assert_eq!(disabled["disabled"], true);
}

/// Writes a key for `user_id` in `acme` that was created an hour ago and expired a second
/// later. The command runs on the wall clock in another process, so the test dates the key
/// back instead of waiting for it to expire; the store takes the time as an argument.
async fn key_expired_an_hour_ago(url: &str, user_id: i64) -> i64 {
    let store = SqlStore::connect_existing(url).await.unwrap();
    let account = store.account_by_slug("acme").await.unwrap().unwrap();
    let member = store.member(account.id, user_id).await.unwrap().unwrap();
    let created_at = OffsetDateTime::now_utc() - Duration::hours(1);
    let request = ApiKeyRequest {
        name: "soon".to_owned(),
        scopes: None,
        expires_at: Some(created_at + Duration::seconds(1)),
    };
    let (key, _secret) = api_key_creation::create_api_key(
        &store,
        created_at,
        gatekey_core::api_key::KeyOwner::new(&member, &member.membership.role.scopes()),
        ScopeSet::ALL,
        request,
        &Actor::operator(),
    )
    .await
    .unwrap();
    store.close().await;
    key.id
}

#[tokio::test]
async fn passwords_re_enabling_and_service_account_keys_by_id() {
    let db = TestDatabase::create(gatekey_store::Backend::Sqlite).await;
    let url = db.url.as_str();
    create_account(url, "acme", "Acme");
    create_person(url, "ada@acme.test", "acme", "member");

    let output = set_password(url, "ada@acme.test", "a brand new password");
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

    let id = create_service_account_printing_id(url, "acme", "sync");
    let key = create_api_key(url, ["--user-id", &id], "acme", "sync", &[]);
    assert_eq!(key["user_id"].to_string(), id);
    let expiring = create_api_key(
        url,
        ["--user-id", &id],
        "acme",
        "later",
        &["--expires-in", "1h"],
    );
    assert!(expiring["expires_at"].is_string());
    let expired = key_expired_an_hour_ago(url, id.parse().unwrap()).await;
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
    assert_eq!(state_of(&expiring["id"]), "active");
    assert_eq!(state_of(&serde_json::json!(expired)), "expired");
}
