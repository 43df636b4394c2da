//! Starting the app for a test on a throwaway database, and stopping it.

use std::future::Future;
use std::sync::Arc;

use gatekey_core::{Clock, ManualClock, SystemClock};
use gatekey_store::testing::{backends, TestDatabase};
use gatekey_store::{Backend, SqlStore};
use reqwest::{Method, RequestBuilder};
use serde_json::Value;
use time::OffsetDateTime;

use super::http::{send, Answer};
use crate::{Config, RunningServer};

/// A running app, its database and an HTTP client that follows no redirect.
pub struct TestApp {
    /// The running server, with its state.
    pub server: RunningServer,
    /// A client that follows no redirect, so tests see each `Location`.
    pub http: reqwest::Client,
    clock: Arc<dyn Clock>,
    db: Option<TestDatabase>,
    config: Config,
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
    // PostgreSQL needs a configured key-encryption key; SQLite would make one beside the file.
    config.signing.key_encryption_key =
        Some(gatekey_core::oauth::signing_key_material::KeyEncryptionKey::generate().to_base64());
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

    /// Starts the app on a fresh database with a [`ManualClock`] set to now, adjusting the
    /// configuration first; the test moves the clock to pass time.
    pub async fn start_with_manual_clock(
        backend: Backend,
        configure: impl FnOnce(&mut Config),
    ) -> (Self, Arc<ManualClock>) {
        let clock = Arc::new(ManualClock::new(OffsetDateTime::now_utc()));
        let app = Self::start_with_clock(backend, clock.clone(), configure).await;
        (app, clock)
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
        let server = crate::start(config.clone(), clock.clone())
            .await
            .expect("server starts");
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("client");
        Self {
            server,
            http,
            clock,
            db: Some(db),
            config,
        }
    }

    /// Starts a new server on the same database, configuration and clock (on a new port),
    /// then stops the one running as `SIGTERM` does: draining, then writing what it kept in
    /// memory. Requests sent after this returns reach the new server only.
    pub async fn restart(&mut self) {
        let next = crate::start(self.config.clone(), self.clock.clone())
            .await
            .expect("server starts again");
        let previous = std::mem::replace(&mut self.server, next);
        let store = previous.state.store.clone();
        // Its kept-alive connections close with it, so the drain need not wait for them.
        self.http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("client");
        previous.shutdown().await.expect("the server stops");
        store.close().await;
    }

    /// Stops the app and drops its database.
    pub async fn stop(mut self) {
        let store = self.server.state.store.clone();
        // Its kept-alive connections close with it, so the drain need not wait for them.
        self.http = reqwest::Client::new();
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

    /// The time on the app's clock.
    pub fn now(&self) -> OffsetDateTime {
        self.clock.now()
    }

    /// The base URL (the issuer), with no trailing slash.
    pub fn base_url(&self) -> String {
        self.server.url()
    }

    /// The URL of `path` on the app.
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.server.url())
    }

    /// A request to `path` with `Authorization: Bearer key`.
    pub fn request(&self, method: Method, path: &str, key: &str) -> RequestBuilder {
        self.http.request(method, self.url(path)).bearer_auth(key)
    }

    /// Sends `body` as JSON to `path` with `Authorization: Bearer key`; the answer as [`send`]
    /// reads it.
    pub async fn send_json(&self, method: Method, path: &str, key: &str, body: Value) -> Answer {
        send(self.request(method, path, key).json(&body)).await
    }

    /// POSTs `body` as JSON to `path` with `Authorization: Bearer key`, asserts `201 Created`,
    /// and returns what was created (the answer's body).
    pub async fn create(&self, path: &str, key: &str, body: Value) -> Value {
        let (status, _, created) = self.send_json(Method::POST, path, key, body).await;
        assert_eq!(status, 201, "creating at {path}: {created}");
        created
    }

    /// Sends `body` to `PATCH /api/v1/applications/{application_id}`, authenticated by `key`.
    pub async fn patch_application(&self, application_id: i64, key: &str, body: Value) -> Answer {
        let path = format!("/api/v1/applications/{application_id}");
        self.send_json(Method::PATCH, &path, key, body).await
    }

    /// Asks `POST /api/v1/api_keys` for a key described by `body`, authenticated by `key`.
    pub async fn post_api_key(&self, key: &str, body: Value) -> Answer {
        self.send_json(Method::POST, "/api/v1/api_keys", key, body)
            .await
    }

    /// The audit events `key` may read on `GET /api/v1/audits`, newest first.
    pub async fn audit_events(&self, key: &str) -> Vec<Value> {
        let (status, _, body) = send(self.request(Method::GET, "/api/v1/audits", key)).await;
        assert_eq!(status, 200, "the audit log; body {body}");
        body["audits"].as_array().expect("an audit list").clone()
    }

    /// The audit events `key` may read whose action is `action`, newest first.
    pub async fn audit_events_of(&self, key: &str, action: &str) -> Vec<Value> {
        let mut events = self.audit_events(key).await;
        events.retain(|event| event["action"] == action);
        events
    }

    /// The `action` of each audit event `key` may read on `GET /api/v1/audits`, newest first.
    pub async fn audit_actions(&self, key: &str) -> Vec<String> {
        let events = self.audit_events(key).await;
        let action = |event: &Value| event["action"].as_str().expect("an action").to_owned();
        events.iter().map(action).collect()
    }

    /// A connection of its own to the app's database, behind the server's back: for reading
    /// what is stored, or breaking it.
    pub async fn second_connection(&self) -> sqlx::AnyPool {
        sqlx::any::install_default_drivers();
        sqlx::any::AnyPoolOptions::new()
            .max_connections(1)
            .connect(self.store().url())
            .await
            .expect("a second connection to the database")
    }

    /// Requests the app has answered at `route` so far, counted by its own metrics.
    pub fn requests_to(&self, route: &str) -> u64 {
        let mark = format!("route=\"{route}\"");
        self.server
            .state
            .metrics
            .render()
            .lines()
            .filter(|line| line.starts_with("gatekey_http_requests_total{") && line.contains(&mark))
            .filter_map(|line| line.rsplit(' ').next()?.parse::<u64>().ok())
            .sum()
    }
}
