//! The user's commands end to end, as separate processes against `gatekey serve`: log in by
//! the device flow (the test approves on the `/device` page), print a token, call the API,
//! show the status, log out, and the token is dead at the server.

use std::io::{BufRead, BufReader};
use std::process::{Output, Stdio};
use std::time::Duration;

use gatekey_store::testing::TestDatabase;
use gatekey_store::Backend;

use crate::fixtures::{create_account, create_app};
use crate::process::{admin_with_stdin, gatekey, Server};
use crate::web::{browser, csrf_token, page, sign_in};

const EMAIL: &str = "ada@acme.test";
const PASSWORD: &str = "correct horse battery staple";

fn seed(database_url: &str) {
    create_account(database_url, "acme", "Acme");
    let created = admin_with_stdin(
        database_url,
        &[
            "user",
            "create",
            "--email",
            EMAIL,
            "--name",
            "Ada",
            "--account",
            "acme",
            "--role",
            "owner",
            "--password-stdin",
        ],
        &format!("{PASSWORD}\n"),
    );
    assert!(created.status.success());
}

/// Runs a user command with its configuration under `home`.
fn user_command(home: &std::path::Path, args: &[&str]) -> Output {
    gatekey()
        .args(args)
        .env("XDG_CONFIG_HOME", home)
        .env_remove("DISPLAY")
        .env_remove("WAYLAND_DISPLAY")
        .output()
        .expect("gatekey runs")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Signs in on the web form and approves `user_code` on the device page.
async fn approve(server: &str, user_code: &str) {
    let http = browser();
    assert_eq!(sign_in(&http, server, EMAIL, PASSWORD).await, 303);
    let page = page(&http, &format!("{server}/device?user_code={user_code}")).await;
    let csrf = csrf_token(&page);
    let decision = [
        ("csrf_token", csrf.as_str()),
        ("user_code", user_code),
        ("account", "acme"),
        ("offered", "acme"),
        ("decision", "allow"),
    ];
    let answer = http
        .post(format!("{server}/device/decision"))
        .form(&decision)
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn login_by_device_then_token_api_status_and_logout() {
    let db = TestDatabase::create(Backend::Sqlite).await;
    seed(&db.url);
    let server = Server::start(&db.url, &[]);
    let app = create_app(
        &db.url,
        "gatekey CLI",
        "public",
        &[
            "--grant-type",
            "urn:ietf:params:oauth:grant-type:device_code",
            "--grant-type",
            "refresh_token",
        ],
    );
    let client_id = app["client_id"].as_str().expect("client id").to_owned();
    let home = tempfile::tempdir().unwrap();

    // Not logged in yet.
    let early = user_command(home.path(), &["token"]);
    assert_eq!(early.status.code(), Some(1));
    assert!(
        text(&early.stderr).contains("gatekey login"),
        "{}",
        text(&early.stderr)
    );

    // No browser here: the device flow, with the code on standard error.
    let mut login = gatekey()
        .args([
            "login",
            "--server",
            &server.url,
            "--client-id",
            &client_id,
            "--scope",
            "read admin",
        ])
        .env("XDG_CONFIG_HOME", home.path())
        .env_remove("DISPLAY")
        .env_remove("WAYLAND_DISPLAY")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("gatekey login runs");
    let stderr = login.stderr.take().expect("stderr");
    let (code_tx, code_rx) = std::sync::mpsc::channel();
    let reader = std::thread::spawn(move || {
        let mut seen = String::new();
        let mut reader = BufReader::new(stderr);
        let mut line = String::new();
        while reader.read_line(&mut line).unwrap_or(0) > 0 {
            let trimmed = line.trim();
            if trimmed.len() == 9 && trimmed.as_bytes()[4] == b'-' {
                let _ = code_tx.send(trimmed.to_owned());
            }
            seen.push_str(&line);
            line.clear();
        }
        seen
    });
    let user_code =
        tokio::task::spawn_blocking(move || code_rx.recv_timeout(Duration::from_secs(30)))
            .await
            .unwrap()
            .expect("login prints a user code");
    approve(&server.url, &user_code).await;
    let status = tokio::task::spawn_blocking(move || login.wait())
        .await
        .unwrap()
        .unwrap();
    let login_output = reader.join().unwrap();
    assert!(status.success(), "{login_output}");
    assert!(
        login_output.contains(&format!("Logged in to {} as {EMAIL} in acme", server.url)),
        "{login_output}"
    );
    assert!(
        login_output.contains("Waiting"),
        "progress is shown: {login_output}"
    );

    let cache = home.path().join("gatekey/tokens");
    let files: Vec<_> = std::fs::read_dir(&cache)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(files.len(), 1, "one token cache for the server");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&files[0]).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
    }

    let token = user_command(home.path(), &["token"]);
    assert!(token.status.success(), "{}", text(&token.stderr));
    let access_token = text(&token.stdout).trim().to_owned();
    assert!(access_token.starts_with("gk_at_"), "{access_token}");

    let me = user_command(home.path(), &["api", "/api/v1/me"]);
    assert!(me.status.success(), "{}", text(&me.stderr));
    let me: serde_json::Value = serde_json::from_slice(&me.stdout).expect("JSON");
    assert_eq!(me["user"]["email"], EMAIL);
    assert_eq!(me["credential"]["type"], "oauth");
    assert_eq!(me["scopes"], serde_json::json!(["read", "admin"]));

    let users = user_command(home.path(), &["api", "/api/v1/users", "--paginate"]);
    assert!(users.status.success(), "{}", text(&users.stderr));
    let users = serde_json::from_slice::<serde_json::Value>(&users.stdout).unwrap();
    assert_eq!(users[0]["email"], EMAIL, "{users}");

    let refused = user_command(
        home.path(),
        &[
            "api",
            "-X",
            "POST",
            "/api/v1/api_keys",
            "--data",
            r#"{"name":"x"}"#,
        ],
    );
    assert_eq!(
        refused.status.code(),
        Some(1),
        "an OAuth token never manages credentials"
    );
    assert!(
        text(&refused.stderr).contains("403"),
        "{}",
        text(&refused.stderr)
    );

    let status = user_command(home.path(), &["status"]);
    let shown = text(&status.stdout);
    assert!(status.status.success(), "{}", text(&status.stderr));
    for expected in [EMAIL, "acme", "read", "expires in"] {
        assert!(shown.contains(expected), "{shown}");
    }
    let expiry = shown
        .lines()
        .find_map(|line| line.strip_prefix("Token:"))
        .and_then(|line| line.split(" at ").nth(1))
        .and_then(|rest| rest.split_whitespace().next())
        .expect("the token's expiry");
    assert!(
        expiry.ends_with('Z') && !expiry.contains('.'),
        "the expiry is shown to the second, as the REST API writes times: {shown}"
    );

    let logout = user_command(home.path(), &["logout"]);
    assert!(logout.status.success(), "{}", text(&logout.stderr));
    let answer = reqwest::Client::new()
        .get(format!("{}/api/v1/me", server.url))
        .bearer_auth(&access_token)
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 401, "the token is dead at the server");
    let after = user_command(home.path(), &["token"]);
    assert_eq!(after.status.code(), Some(1));

    // Only `gatekey token` prints the token.
    for output in [
        &login_output,
        &shown,
        &text(&logout.stderr),
        &text(&logout.stdout),
    ] {
        assert!(!output.contains(&access_token));
        assert!(!output.contains("gk_rt_"));
    }
    drop(server);
    db.drop_database().await;
}

#[test]
fn the_connection_string_comes_from_the_environment_and_bad_ones_name_the_keyword() {
    let home = tempfile::tempdir().unwrap();
    let output = gatekey()
        .args(["token"])
        .env("XDG_CONFIG_HOME", home.path())
        .env(
            "GATEKEY_CONNECTION",
            "Server=http://127.0.0.1:1;ApiKey=gk_key_abc;Colour=blue",
        )
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    let reason = text(&output.stderr);
    assert!(reason.contains("Colour"), "{reason}");
    assert!(!reason.contains("gk_key_abc"), "{reason}");

    let key = gatekey()
        .args(["token"])
        .env(
            "GATEKEY_CONNECTION",
            "Server=http://127.0.0.1:1;ApiKey=gk_key_abc",
        )
        .output()
        .unwrap();
    assert!(key.status.success(), "{}", text(&key.stderr));
    assert_eq!(text(&key.stdout).trim(), "gk_key_abc");
}
