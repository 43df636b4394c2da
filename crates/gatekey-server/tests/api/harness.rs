//! Starting the app for a test and seeding it.
#![allow(dead_code)] // Helpers are shared by test modules; not every module uses each one.

use std::future::Future;
use std::sync::Arc;

use gatekey_core::account::Account;
use gatekey_core::api_key::ApiKeyRequest;
use gatekey_core::api_key_creation::create_api_key;
use gatekey_core::audit::{Actor, AuditAction, AuditEntry};
use gatekey_core::password::hash_password;
use gatekey_core::role::Role;
use gatekey_core::scope::ScopeSet;
use gatekey_core::store::AccountStore;
use gatekey_core::user::Member;
use gatekey_core::user_admin::{create_person, create_service_account, PersonRequest};
use gatekey_core::{Clock, SystemClock};
use gatekey_server::{Config, RunningServer};
use gatekey_store::testing::{backends, TestDatabase};
use gatekey_store::{Backend, SqlStore};
use reqwest::{Method, RequestBuilder};
use serde_json::Value;
use time::OffsetDateTime;

/// The password every seeded person gets.
pub const PASSWORD: &str = "correct horse battery staple";

/// A running app and its database.
pub struct TestApp {
    pub server: RunningServer,
    pub http: reqwest::Client,
    db: Option<TestDatabase>,
}

/// Runs `test` once per backend (SQLite, then PostgreSQL when configured).
pub async fn each_backend<F, Fut>(test: F)
where
    F: Fn(Backend) -> Fut,
    Fut: Future<Output = ()>,
{
    for backend in backends() {
        test(backend).await;
    }
}

/// The configuration tests start from: port 0, limits that tests do not trip by accident.
pub fn test_config(database_url: &str) -> Config {
    let mut config = Config {
        database_url: database_url.to_owned(),
        ..Config::default()
    };
    config.listen = "127.0.0.1:0".parse().expect("address");
    config.rate_limit.per_minute = 100_000;
    config.rate_limit.per_second = 10_000;
    config.cache.invalidation_poll_ms = 100;
    config
}

impl TestApp {
    /// Starts the app on a fresh database.
    pub async fn start(backend: Backend) -> Self {
        Self::start_with(backend, |_| {}).await
    }

    /// Starts the app on a fresh database, adjusting the configuration first.
    pub async fn start_with(backend: Backend, configure: impl FnOnce(&mut Config)) -> Self {
        Self::start_with_clock(backend, Arc::new(SystemClock), configure).await
    }

    /// Starts the app on a fresh database with `clock` (a `ManualClock` for tests that need
    /// time to pass), adjusting the configuration first.
    pub async fn start_with_clock(
        backend: Backend,
        clock: Arc<dyn Clock>,
        configure: impl FnOnce(&mut Config),
    ) -> Self {
        let db = TestDatabase::create(backend).await;
        let mut config = test_config(&db.url);
        configure(&mut config);
        let server = gatekey_server::start(config, clock)
            .await
            .expect("server starts");
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("client");
        Self {
            server,
            http,
            db: Some(db),
        }
    }

    /// Stops the app and drops its database.
    pub async fn stop(mut self) {
        let store = self.server.state.store.clone();
        let _ = self.server.shutdown().await;
        store.close().await;
        if let Some(db) = self.db.take() {
            db.drop_database().await;
        }
    }

    /// The store, for seeding and for reading what the database holds.
    pub fn store(&self) -> &SqlStore {
        &self.server.state.store
    }

    /// The base URL.
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.server.url())
    }

    /// A request to `path` with `Authorization: Bearer key`.
    pub fn request(&self, method: Method, path: &str, key: &str) -> RequestBuilder {
        self.http.request(method, self.url(path)).bearer_auth(key)
    }

    /// Creates an account.
    pub async fn account(&self, slug: &str) -> Account {
        let now = OffsetDateTime::now_utc();
        let audit = AuditEntry::new(
            now,
            &Actor::operator(),
            AuditAction::AccountCreated,
            "account",
        );
        self.store()
            .create_account(slug, slug, now, audit)
            .await
            .expect("account")
    }

    /// Creates a person with [`PASSWORD`].
    pub async fn person(&self, account: &Account, email: &str, role: Role) -> Member {
        let hash = hash_password(PASSWORD).expect("hash");
        let person = PersonRequest {
            email,
            name: "Test Person",
            role,
            password_hash: Some(hash),
        };
        create_person(
            self.store(),
            SystemClock.now(),
            account,
            person,
            &Actor::operator(),
        )
        .await
        .expect("person")
    }

    /// Creates a service account.
    pub async fn service_account(&self, account: &Account, name: &str, role: Role) -> Member {
        create_service_account(
            self.store(),
            SystemClock.now(),
            account,
            name,
            role,
            &Actor::operator(),
        )
        .await
        .expect("service account")
    }

    /// Creates an API key for `member` with `scopes` (all the role allows when `None`).
    pub async fn key(&self, member: &Member, scopes: Option<&str>) -> String {
        let request = ApiKeyRequest {
            name: "test key".into(),
            scopes: scopes.map(|s| ScopeSet::parse(s).expect("scopes")),
            expires_at: None,
        };
        let (_, secret) = create_api_key(
            self.store(),
            SystemClock.now(),
            member.into(),
            ScopeSet::ALL,
            request,
            &Actor::operator(),
        )
        .await
        .expect("key");
        secret.expose().to_owned()
    }
}

/// Sends a request and returns its status, headers and JSON body (`Null` when not JSON).
pub async fn send(request: RequestBuilder) -> (u16, reqwest::header::HeaderMap, Value) {
    let response = request.send().await.expect("request sent");
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let text = response.text().await.expect("body");
    (
        status,
        headers,
        serde_json::from_str(&text).unwrap_or(Value::Null),
    )
}

/// Asserts an error response: status, `error` code, and a description present.
#[track_caller]
pub fn assert_error(actual: &(u16, reqwest::header::HeaderMap, Value), status: u16, code: &str) {
    assert_eq!(actual.0, status, "status; body {}", actual.2);
    assert_eq!(actual.2["error"], code, "error code; body {}", actual.2);
    assert!(
        actual.2["error_description"]
            .as_str()
            .is_some_and(|d| !d.is_empty()),
        "description; body {}",
        actual.2
    );
}

/// Seeds what most tests need: account `acme` with an owner, and account `other`.
pub struct Seeded {
    pub acme: Account,
    pub other: Account,
    pub owner: Member,
}

/// Seeds [`Seeded`].
pub async fn seed(app: &TestApp) -> Seeded {
    let acme = app.account("acme").await;
    let other = app.account("other").await;
    let owner = app.person(&acme, "owner@acme.test", Role::Owner).await;
    Seeded { acme, other, owner }
}

/// Sends a request and returns its status, headers and body as text (for HTML pages).
pub async fn send_text(request: RequestBuilder) -> (u16, reqwest::header::HeaderMap, String) {
    let response = request.send().await.expect("request sent");
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    (status, headers, response.text().await.expect("body"))
}

impl TestApp {
    /// The id of an API key, as `GET /api/v1/me` reports it.
    pub async fn key_id(&self, key: &str) -> i64 {
        let me = send(self.request(Method::GET, "/api/v1/me", key)).await;
        assert_eq!(me.0, 200, "{}", me.2);
        me.2["credential"]["id"].as_i64().expect("an API key id")
    }
}

/// The `Set-Cookie` header of a response that sets cookie `name`, whole (with its attributes).
pub fn set_cookie<'a>(headers: &'a reqwest::header::HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(reqwest::header::SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with(&format!("{name}=")))
}

/// The value in a `Set-Cookie` header: `name=VALUE; Path=…` gives `VALUE`.
pub fn cookie_value(set_cookie: &str) -> &str {
    let pair = set_cookie.split(';').next().unwrap_or_default();
    pair.split_once('=').map_or("", |(_, value)| value)
}

/// The value of the first hidden `csrf_token` input of a page.
#[track_caller]
pub fn csrf_token_in(html: &str) -> String {
    const MARK: &str = r#"name="csrf_token" value=""#;
    let start = html.find(MARK).expect("a csrf_token field") + MARK.len();
    let length = html[start..].find('"').expect("end of the value");
    html[start..start + length].to_owned()
}

/// A browser signed in through the login form: its session cookie and the CSRF token its
/// pages carry.
#[derive(Debug, Clone)]
pub struct Browser {
    /// The `gatekey_session` cookie's value.
    pub session: String,
    /// The session's CSRF token, scraped from the home page.
    pub csrf: String,
}

impl Browser {
    /// The `Cookie` header that presents the session.
    pub fn cookie(&self) -> String {
        format!("gatekey_session={}", self.session)
    }

    /// A request carrying the session cookie (and no CSRF header).
    pub fn request(&self, app: &TestApp, method: Method, path: &str) -> RequestBuilder {
        app.http
            .request(method, app.url(path))
            .header(reqwest::header::COOKIE, self.cookie())
    }
}

/// Fetches the login form: the `gatekey_login_csrf` cookie's value and the form's token.
pub async fn login_form(app: &TestApp) -> (String, String) {
    let (status, headers, html) = send_text(app.http.get(app.url("/login"))).await;
    assert_eq!(status, 200, "{html}");
    let cookie = set_cookie(&headers, "gatekey_login_csrf").expect("login CSRF cookie");
    (cookie_value(cookie).to_owned(), csrf_token_in(&html))
}

/// Submits the login form with the CSRF cookie and token `csrf`.
pub async fn submit_login(
    app: &TestApp,
    csrf: (&str, &str),
    email: &str,
    password: &str,
) -> (u16, reqwest::header::HeaderMap, String) {
    let (cookie, token) = csrf;
    send_text(
        app.http
            .post(app.url("/login"))
            .header(
                reqwest::header::COOKIE,
                format!("gatekey_login_csrf={cookie}"),
            )
            .form(&[
                ("email", email),
                ("password", password),
                ("csrf_token", token),
            ]),
    )
    .await
}

/// Signs in through the web form as a browser would, and reads the CSRF token of the home page.
pub async fn sign_in(app: &TestApp, email: &str, password: &str) -> Browser {
    let (cookie, token) = login_form(app).await;
    let (status, headers, body) = submit_login(app, (&cookie, &token), email, password).await;
    assert_eq!(status, 303, "{body}");
    let session = cookie_value(set_cookie(&headers, "gatekey_session").expect("session cookie"));
    let mut browser = Browser {
        session: session.to_owned(),
        csrf: String::new(),
    };
    let (status, _, home) = send_text(browser.request(app, Method::GET, "/")).await;
    assert_eq!(status, 200, "{home}");
    browser.csrf = csrf_token_in(&home);
    browser
}
