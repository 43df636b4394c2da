//! `gatekey serve`: first-run bootstrap and persistence across restarts.

use gatekey_store::testing::{backends, TestDatabase};

use crate::fixtures::{create_account, create_api_key};
use crate::process::{admin_json, serve_command, Server};
use crate::web::{self, browser, get_json, post_json};

/// Signs in on the web form of `url` in a fresh browser; returns the answer's status.
async fn sign_in(url: &str, email: &str, password: &str) -> u16 {
    web::sign_in(&browser(), url, email, password).await
}

#[tokio::test]
async fn first_run_prints_a_one_time_password_that_signs_in() {
    let db = TestDatabase::create(gatekey_store::Backend::Sqlite).await;
    let server = Server::start(&db.url, &[]);
    let banner = server.banner.join("\n");
    assert!(banner.contains("owner@example.com"), "{banner}");
    let password = printed_password(&server.banner);
    assert_eq!(
        sign_in(&server.url, "owner@example.com", &password).await,
        303
    );
    assert_eq!(
        sign_in(&server.url, "owner@example.com", "not the password").await,
        401
    );
    drop(server);

    let again = Server::start(&db.url, &[]);
    assert!(
        again.banner.is_empty(),
        "bootstrap runs only on an empty database: {:?}",
        again.banner
    );
}

#[tokio::test]
async fn bootstrap_credentials_from_the_environment() {
    let db = TestDatabase::create(gatekey_store::Backend::Sqlite).await;
    let envs = [
        ("GATEKEY_BOOTSTRAP_EMAIL", "root@corp.test"),
        ("GATEKEY_BOOTSTRAP_PASSWORD", "a long enough password"),
    ];
    let server = Server::start(&db.url, &envs);
    let banner = server.banner.join("\n");
    assert!(
        banner.contains("root@corp.test") && !banner.contains("a long enough password"),
        "{banner}"
    );
    assert_eq!(
        sign_in(&server.url, "root@corp.test", "a long enough password").await,
        303
    );
}

#[tokio::test]
async fn data_persists_across_restart() {
    for backend in backends() {
        let db = TestDatabase::create(backend).await;
        let server = Server::start(&db.url, &[]);
        let key = create_api_key(
            &db.url,
            ["--email", "owner@example.com"],
            "default",
            "k",
            &[],
        );
        let secret = key["secret"].as_str().unwrap().to_owned();
        let http = reqwest::Client::new();
        let body = serde_json::json!({"name": "nightly sync"});
        let created = post_json(
            &http,
            &server.url,
            "/api/v1/service_accounts",
            &secret,
            &body,
        )
        .await
        .unwrap();
        assert_eq!(created.status(), 201);
        drop(server);

        let server = Server::start(&db.url, &[]);
        let listed = get_json(&http, &server.url, "/api/v1/service_accounts", &secret).await;
        assert_eq!(
            listed["service_accounts"][0]["name"], "nightly sync",
            "{listed}"
        );
        drop(server);
        db.drop_database().await;
    }
}

/// The one-time password a first-run banner prints.
fn printed_password(banner: &[String]) -> String {
    banner
        .join("\n")
        .split("one-time password: ")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .expect("password printed")
        .to_owned()
}

#[tokio::test]
async fn a_refused_bootstrap_email_writes_nothing_and_the_next_start_sets_up() {
    for backend in backends() {
        let db = TestDatabase::create(backend).await;
        let refused = serve_command(&db.url)
            .env("GATEKEY_BOOTSTRAP_EMAIL", "not an email")
            .output()
            .expect("gatekey runs");
        assert_eq!(refused.status.code(), Some(1));
        let stderr = String::from_utf8_lossy(&refused.stderr);
        assert!(
            stderr.contains("GATEKEY_BOOTSTRAP_EMAIL") && stderr.contains("nothing was created"),
            "{stderr}"
        );
        let accounts = admin_json(&db.url, &["account", "list"]);
        assert_eq!(
            accounts["accounts"].as_array().map(Vec::len),
            Some(0),
            "{accounts}"
        );

        let server = Server::start(&db.url, &[("GATEKEY_BOOTSTRAP_EMAIL", "root@corp.test")]);
        let password = printed_password(&server.banner);
        assert_eq!(sign_in(&server.url, "root@corp.test", &password).await, 303);
        drop(server);
        db.drop_database().await;
    }
}

#[tokio::test]
async fn a_first_run_left_without_an_owner_is_finished_at_the_next_start() {
    for backend in backends() {
        let db = TestDatabase::create(backend).await;
        // What an older version left after refusing the owner: the account, alone.
        create_account(&db.url, "default", "Default");
        let server = Server::start(&db.url, &[]);
        let banner = server.banner.join("\n");
        assert!(
            banner.contains("had no owner") && banner.contains("owner@example.com"),
            "{banner}"
        );
        let password = printed_password(&server.banner);
        assert_eq!(
            sign_in(&server.url, "owner@example.com", &password).await,
            303
        );
        let users = admin_json(&db.url, &["user", "list", "--account", "default"]);
        assert_eq!(users["users"].as_array().map(Vec::len), Some(1), "{users}");
        drop(server);

        let again = Server::start(&db.url, &[]);
        assert!(again.banner.is_empty(), "{:?}", again.banner);
        drop(again);
        db.drop_database().await;
    }
}

#[tokio::test]
async fn accounts_made_by_an_operator_get_no_owner_from_the_server() {
    let db = TestDatabase::create(gatekey_store::Backend::Sqlite).await;
    create_account(&db.url, "acme", "Acme");
    let server = Server::start(&db.url, &[]);
    assert!(server.banner.is_empty(), "{:?}", server.banner);
    let users = admin_json(&db.url, &["user", "list"]);
    assert_eq!(users["users"].as_array().map(Vec::len), Some(0), "{users}");
}
