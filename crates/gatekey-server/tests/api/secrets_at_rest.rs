//! Secrets are never kept in clear: no API key, session cookie or password appears in any column
//! of any table, nor in the logs, even at TRACE level.

use std::sync::{Arc, Mutex};

use gatekey_core::secret::TokenHash;
use gatekey_store::testing::backends;
use gatekey_store::Backend;
use reqwest::Method;
use serde_json::json;

use crate::captured_logs::CapturedLogs;
use crate::harness::{
    cookie_value, csrf_token_in, each_backend, login_form, seed, send, send_text, set_cookie,
    sign_in, submit_login, TestApp, PASSWORD,
};

/// A second person's password, chosen through an invitation link.
const SECOND_PASSWORD: &str = "a second rather long password";
/// A password tried and refused.
const WRONG_PASSWORD: &str = "a wrong but secret password";

/// What a run left behind that must not be kept in clear, and what must be kept hashed.
struct Traces {
    /// (what it is, the secret).
    secrets: Vec<(String, String)>,
    /// The API key secrets, whose SHA-256 the database holds.
    api_keys: Vec<String>,
    /// Session cookie values still valid, whose SHA-256 the database holds.
    sessions: Vec<String>,
}

/// Creates keys in every way there is (API, admin API, web form, API with the session cookie),
/// a user who chose a password through an invitation link, a failed and two successful logins, and a revocation.
async fn leave_traces(app: &TestApp) -> Traces {
    let seeded = seed(app).await;
    let owner_key = app.key(&seeded.owner, None).await;
    let mut api_keys = vec![owner_key.clone()];

    let created = app
        .send_json(
            Method::POST,
            "/api/v1/api_keys",
            &owner_key,
            json!({"name": "over http"}),
        )
        .await;
    assert_eq!(created.0, 201, "{}", created.2);
    api_keys.push(created.2["secret"].as_str().unwrap().to_owned());

    let robot = app
        .send_json(
            Method::POST,
            "/api/v1/service_accounts",
            &owner_key,
            json!({"name": "Robot"}),
        )
        .await;
    assert_eq!(robot.0, 201, "{}", robot.2);
    let for_robot = send(
        app.request(
            Method::POST,
            &format!("/api/v1/users/{}/api_keys", robot.2["id"]),
            &owner_key,
        )
        .json(&json!({"name": "robot key"})),
    )
    .await;
    assert_eq!(for_robot.0, 201, "{}", for_robot.2);
    api_keys.push(for_robot.2["secret"].as_str().unwrap().to_owned());

    // The second person joins by invitation and chooses their password through the link.
    let invited = app
        .send_json(
            Method::POST,
            "/api/v1/users",
            &owner_key,
            json!({"email": "second@acme.test", "name": "Second", "role": "member"}),
        )
        .await;
    assert_eq!(invited.0, 201, "{}", invited.2);
    let url = invited.2["invitation"]["accept_url"].as_str().unwrap();
    let invitation = url[url.find("gk_inv_").expect("a gk_inv_ secret")..].to_owned();
    let path = format!("/invitations/{invitation}");
    let (status, headers, page) = send_text(app.http.get(app.url(&path))).await;
    assert_eq!(status, 200, "{page}");
    let csrf = cookie_value(set_cookie(&headers, "gatekey_invite_csrf").expect("CSRF cookie"));
    let joined = send_text(
        app.http
            .post(app.url(&format!("{path}/register")))
            .header(
                reqwest::header::COOKIE,
                format!("gatekey_invite_csrf={csrf}"),
            )
            .form(&[
                ("csrf_token", csrf_token_in(&page).as_str()),
                ("name", "Second"),
                ("password", SECOND_PASSWORD),
            ]),
    )
    .await;
    assert_eq!(joined.0, 303, "{}", joined.2);
    let joined_session =
        cookie_value(set_cookie(&joined.1, "gatekey_session").expect("session")).to_owned();

    let (cookie, token) = login_form(app).await;
    let refused = submit_login(app, (&cookie, &token), "second@acme.test", WRONG_PASSWORD).await;
    assert_eq!(refused.0, 401, "{}", refused.2);
    let second = submit_login(app, (&cookie, &token), "second@acme.test", SECOND_PASSWORD).await;
    assert_eq!(second.0, 303, "{}", second.2);
    let second_session =
        cookie_value(set_cookie(&second.1, "gatekey_session").expect("session")).to_owned();

    let browser = sign_in(app, "owner@acme.test", PASSWORD).await;
    let (status, _, page) = send_text(browser.request(app, Method::POST, "/keys").form(&[
        ("csrf_token", browser.csrf.as_str()),
        ("name", "from the browser"),
        ("scope_read", "on"),
    ]))
    .await;
    assert_eq!(status, 201, "{page}");
    let start = page.find("gk_key_").expect("secret shown");
    api_keys.push(
        page[start..]
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect(),
    );
    let via_session = send(
        browser
            .request(app, Method::POST, "/api/v1/api_keys")
            .header("x-csrf-token", &browser.csrf)
            .json(&json!({"name": "via the session"})),
    )
    .await;
    assert_eq!(via_session.0, 201, "{}", via_session.2);
    api_keys.push(via_session.2["secret"].as_str().unwrap().to_owned());

    let revoked_id = created.2["id"].as_i64().unwrap();
    let revoked = send(app.request(
        Method::DELETE,
        &format!("/api/v1/api_keys/{revoked_id}"),
        &owner_key,
    ))
    .await;
    assert_eq!(revoked.0, 204, "{}", revoked.2);
    for key in &api_keys {
        // Usage is recorded too; and the query string is refused without echoing the key.
        send(app.request(Method::GET, "/api/v1/me", key)).await;
        let in_url = send(app.http.get(app.url(&format!("/api/v1/me?api_key={key}")))).await;
        assert_eq!(in_url.0, 400);
    }
    let listed = send(app.request(Method::GET, "/api/v1/api_keys", &owner_key)).await;
    assert_eq!(listed.0, 200, "flushes last use: {}", listed.2);

    let sessions = vec![browser.session.clone(), second_session];
    let mut secrets = Vec::new();
    for (n, key) in api_keys.iter().enumerate() {
        // `gk_key_` and 8 characters are shown in lists; the rest is secret.
        secrets.extend(fragments(&format!("API key #{n}"), key, 15));
    }
    for (n, session) in sessions.iter().enumerate() {
        secrets.extend(fragments(&format!("session cookie #{n}"), session, 6));
    }
    // The invitation link is shown once to the admin and never kept; `gk_inv_` is all of it
    // that is not secret.
    secrets.extend(fragments("invitation link", &invitation, 7));
    secrets.extend(fragments(
        "session cookie from the invitation",
        &joined_session,
        6,
    ));
    for (what, password) in [
        ("seeded password", PASSWORD),
        ("second password", SECOND_PASSWORD),
        ("wrong password", WRONG_PASSWORD),
    ] {
        secrets.push((what.to_owned(), password.to_owned()));
    }
    Traces {
        secrets,
        api_keys,
        sessions,
    }
}

/// The secret itself, and every 16 characters of its secret part (from `shown` on) at steps
/// of 8: a column holding any 24 characters of it in a row is caught.
fn fragments(what: &str, secret: &str, shown: usize) -> Vec<(String, String)> {
    let mut found = vec![(what.to_owned(), secret.to_owned())];
    let mut start = shown;
    while start + 16 <= secret.len() {
        found.push((
            format!("{what}, characters {start}.."),
            secret[start..start + 16].to_owned(),
        ));
        start += 8;
    }
    found
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Every row of every table, each as `table: text`; bytes appear in hex.
async fn dump_database(app: &TestApp) -> Vec<String> {
    let pool = app.second_connection().await;
    let backend = app.store().backend();
    let tables_sql = match backend {
        Backend::Sqlite => "SELECT name FROM sqlite_master WHERE type = 'table'",
        Backend::Postgres => {
            "SELECT CAST(table_name AS TEXT) FROM information_schema.tables \
             WHERE table_schema = 'public' AND table_type = 'BASE TABLE'"
        }
    };
    let tables: Vec<String> = sqlx::query_scalar(tables_sql)
        .fetch_all(&pool)
        .await
        .expect("table names");
    for expected in ["api_keys", "sessions", "users", "audit_events"] {
        assert!(tables.iter().any(|t| t == expected), "{tables:?}");
    }
    let mut dump = Vec::new();
    for table in &tables {
        match backend {
            // The row as one text value: every column, bytea as `\x` and hex.
            Backend::Postgres => {
                let rows: Vec<String> =
                    sqlx::query_scalar(&format!("SELECT CAST(t AS TEXT) FROM \"{table}\" t"))
                        .fetch_all(&pool)
                        .await
                        .expect("rows");
                dump.extend(rows.into_iter().map(|row| format!("{table}: {row}")));
            }
            // Every column through `quote()`: text as is, blobs as `X'` and hex.
            Backend::Sqlite => {
                let columns: Vec<String> =
                    sqlx::query_scalar("SELECT name FROM pragma_table_info($1) ORDER BY cid")
                        .bind(table)
                        .fetch_all(&pool)
                        .await
                        .expect("columns");
                let row_text = columns
                    .iter()
                    .map(|c| format!("quote(\"{c}\")"))
                    .collect::<Vec<_>>()
                    .join(" || ' | ' || ");
                let rows: Vec<String> =
                    sqlx::query_scalar(&format!("SELECT {row_text} FROM \"{table}\""))
                        .fetch_all(&pool)
                        .await
                        .expect("rows");
                dump.extend(rows.into_iter().map(|row| format!("{table}: {row}")));
            }
        }
    }
    pool.close().await;
    dump
}

#[tokio::test]
async fn no_secret_in_any_table() {
    each_backend(|backend| async move {
        let app = TestApp::start(backend).await;
        let traces = leave_traces(&app).await;
        let dump = dump_database(&app).await;

        for (what, secret) in &traces.secrets {
            let secret_hex = hex(secret.as_bytes());
            for row in &dump {
                assert!(
                    !row.contains(secret.as_str()) && !row.to_lowercase().contains(&secret_hex),
                    "{what} stored in clear: {row}"
                );
            }
        }
        // What should be there is there: the dump does read hashes, prefixes and password hashes.
        let everything = dump.join("\n");
        let everything_lowercase = everything.to_lowercase();
        for secret in traces.api_keys.iter().chain(&traces.sessions) {
            let digest = hex(TokenHash::of(secret).as_bytes());
            assert!(
                everything_lowercase.contains(&digest),
                "the SHA-256 of {}… is stored",
                &secret[..15]
            );
        }
        assert!(
            everything.contains(&traces.api_keys[1][..15]),
            "display prefix"
        );
        assert!(everything.contains("$argon2id$"), "password hashes");
        assert!(everything.contains("login.failed"), "audit events");
        app.stop().await;
    })
    .await;
}

#[tokio::test]
async fn no_secret_in_the_logs() {
    let (logs, _capturing) = CapturedLogs::start();

    let all_secrets = Arc::new(Mutex::new(Vec::new()));
    each_backend(|backend| {
        let all_secrets = all_secrets.clone();
        async move {
            let app = TestApp::start(backend).await;
            let traces = leave_traces(&app).await;
            all_secrets.lock().unwrap().extend(traces.secrets);
            app.stop().await;
        }
    })
    .await;

    let text = logs.text();
    assert!(
        text.contains("/api/v1/api_keys") && text.contains("/login") && text.lines().count() > 50,
        "request logs were captured:\n{text}"
    );
    if backends().contains(&Backend::Postgres) {
        // PostgreSQL runs statements on this thread, so their logs are here too.
        assert!(
            text.contains("sqlx::query"),
            "SQL logs were captured:\n{text}"
        );
    }
    for (what, secret) in all_secrets.lock().unwrap().iter() {
        assert!(!text.contains(secret.as_str()), "{what} logged");
    }
}
