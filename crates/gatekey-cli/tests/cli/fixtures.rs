//! What the tests set up with `gatekey admin …`: accounts, people, service accounts, API keys
//! and applications.
#![allow(dead_code)] // Fixtures are shared by test modules; not every module uses each one.

use std::process::Output;

use serde_json::Value;

use crate::process::{admin, admin_json, admin_with_stdin};

/// Creates the account `slug` (and the database, the first time).
pub fn create_account(database_url: &str, slug: &str, name: &str) -> Value {
    admin_json(
        database_url,
        &[
            "account",
            "create",
            "--slug",
            slug,
            "--name",
            name,
            "--create-database",
        ],
    )
}

/// Creates a person named Ada, without a password, with `role` in `account`.
pub fn create_person(database_url: &str, email: &str, account: &str, role: &str) -> Value {
    admin_json(
        database_url,
        &[
            "user",
            "create",
            "--email",
            email,
            "--name",
            "Ada",
            "--account",
            account,
            "--role",
            role,
        ],
    )
}

/// Gives the user `email` `role` in `account`.
pub fn add_membership(database_url: &str, email: &str, account: &str, role: &str) -> Value {
    admin_json(
        database_url,
        &[
            "user",
            "add-membership",
            "--email",
            email,
            "--account",
            account,
            "--role",
            role,
        ],
    )
}

/// Runs `user set-password --json` for `email` with `password` on standard input.
pub fn set_password(database_url: &str, email: &str, password: &str) -> Output {
    admin_with_stdin(
        database_url,
        &[
            "user",
            "set-password",
            "--email",
            email,
            "--password-stdin",
            "--json",
        ],
        &format!("{password}\n"),
    )
}

/// The arguments of `service-account create`.
fn service_account_args<'a>(account: &'a str, name: &'a str) -> [&'a str; 6] {
    [
        "service-account",
        "create",
        "--account",
        account,
        "--name",
        name,
    ]
}

/// Creates a service account named `name` in `account` and returns its user id.
pub fn create_service_account(database_url: &str, account: &str, name: &str) -> String {
    admin_json(database_url, &service_account_args(account, name))["id"].to_string()
}

/// Creates a service account named `name` in `account` without `--json`, and returns what it
/// prints: its user id alone, for scripts.
pub fn create_service_account_printing_id(database_url: &str, account: &str, name: &str) -> String {
    let output = admin(database_url, &service_account_args(account, name));
    assert!(output.status.success(), "{output:?}");
    String::from_utf8_lossy(&output.stdout).trim().to_owned()
}

/// Creates an API key named `name` in `account` for the user `owner`, given as `--email E`
/// or `--user-id ID`; `extra` adds flags such as `--scope read`.
pub fn create_api_key(
    database_url: &str,
    owner: [&str; 2],
    account: &str,
    name: &str,
    extra: &[&str],
) -> Value {
    let mut args = vec!["api-key", "create", "--account", account, "--name", name];
    args.extend(owner);
    args.extend(extra);
    admin_json(database_url, &args)
}

/// Seeds an account `acme` with an owner and returns an owner API key.
pub fn seed_owner_key(database_url: &str) -> String {
    create_account(database_url, "acme", "Acme");
    create_person(database_url, "ada@acme.test", "acme", "owner");
    let key = create_api_key(
        database_url,
        ["--email", "ada@acme.test"],
        "acme",
        "seed",
        &[],
    );
    key["secret"].as_str().expect("secret").to_owned()
}

/// The arguments of `app create` in `acme`; `extra` adds flags such as `--redirect-uri`.
fn app_create_args<'a>(name: &'a str, client_type: &'a str, extra: &[&'a str]) -> Vec<&'a str> {
    let mut args = vec![
        "app",
        "create",
        "--account",
        "acme",
        "--name",
        name,
        "--type",
        client_type,
    ];
    args.extend(extra);
    args
}

/// Runs `app create` in `acme`, which may be refused.
pub fn try_create_app(database_url: &str, name: &str, client_type: &str, extra: &[&str]) -> Output {
    admin(database_url, &app_create_args(name, client_type, extra))
}

/// Registers an application in `acme` and returns it as `--json` prints it.
pub fn create_app(database_url: &str, name: &str, client_type: &str, extra: &[&str]) -> Value {
    admin_json(database_url, &app_create_args(name, client_type, extra))
}
