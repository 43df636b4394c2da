//! `gatekey serve`: first-run bootstrap and persistence across restarts.

use gatekey_store::testing::{backends, TestDatabase};

use crate::process::{admin_json, Server};

async fn sign_in(url: &str, email: &str, password: &str) -> u16 {
    let http = reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let page = http
        .get(format!("{url}/login"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let token = page
        .split("name=\"csrf_token\" value=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .expect("csrf token");
    let form = [
        ("email", email),
        ("password", password),
        ("csrf_token", token),
    ];
    http.post(format!("{url}/login"))
        .form(&form)
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

#[tokio::test]
async fn first_run_prints_a_one_time_password_that_signs_in() {
    let db = TestDatabase::create(gatekey_store::Backend::Sqlite).await;
    let server = Server::start(&db.url, &[]);
    let banner = server.banner.join("\n");
    assert!(banner.contains("owner@example.com"), "{banner}");
    let password = banner
        .split("one-time password: ")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .expect("password printed")
        .to_owned();
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
        let key = admin_json(
            &db.url,
            &[
                "api-key",
                "create",
                "--email",
                "owner@example.com",
                "--account",
                "default",
                "--name",
                "k",
            ],
        );
        let secret = key["secret"].as_str().unwrap().to_owned();
        let http = reqwest::Client::new();
        let created = http
            .post(format!("{}/api/v1/service_accounts", server.url))
            .bearer_auth(&secret)
            .json(&serde_json::json!({"name": "nightly sync"}))
            .send()
            .await
            .unwrap();
        assert_eq!(created.status(), 201);
        drop(server);

        let server = Server::start(&db.url, &[]);
        let listed: serde_json::Value = http
            .get(format!("{}/api/v1/service_accounts", server.url))
            .bearer_auth(&secret)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(
            listed["service_accounts"][0]["name"], "nightly sync",
            "{listed}"
        );
        drop(server);
        db.drop_database().await;
    }
}
