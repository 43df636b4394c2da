//! Throwaway databases for tests: a temporary SQLite file, or a fresh PostgreSQL database
//! created on the server named by `GATEKEY_TEST_POSTGRES_URL` and dropped afterwards; and the
//! applications tests store when their settings are not what the test is about.

mod applications;

pub use applications::{application_settings, public_application};

use rand::Rng;
use sqlx::Connection;

use crate::Backend;

/// The variable naming the PostgreSQL server tests may create databases on.
pub const POSTGRES_URL_VAR: &str = "GATEKEY_TEST_POSTGRES_URL";

/// A database that exists for one test.
pub struct TestDatabase {
    /// The URL to open it with.
    pub url: String,
    backend: Backend,
    admin_url: Option<String>,
    name: Option<String>,
    _dir: Option<tempfile::TempDir>,
}

/// The backends a test should run against: SQLite always, PostgreSQL when configured.
pub fn backends() -> Vec<Backend> {
    let mut found = vec![Backend::Sqlite];
    if std::env::var(POSTGRES_URL_VAR).is_ok_and(|v| !v.is_empty()) {
        found.push(Backend::Postgres);
    }
    found
}

impl TestDatabase {
    /// Creates an empty database of `backend`. Panics when PostgreSQL is asked for but cannot be
    /// reached: a configured suite that cannot run must fail, not pass silently.
    pub async fn create(backend: Backend) -> Self {
        match backend {
            Backend::Sqlite => {
                let dir = tempfile::tempdir().expect("temporary folder");
                let url = format!("sqlite://{}/gatekey.db", dir.path().display());
                Self {
                    url,
                    backend,
                    admin_url: None,
                    name: None,
                    _dir: Some(dir),
                }
            }
            Backend::Postgres => {
                let admin_url =
                    std::env::var(POSTGRES_URL_VAR).expect("GATEKEY_TEST_POSTGRES_URL is set");
                let name = format!("gatekey_t_{:016x}", rand::thread_rng().gen::<u64>());
                let mut conn = sqlx::PgConnection::connect(&admin_url)
                    .await
                    .unwrap_or_else(|e| {
                        panic!("cannot reach PostgreSQL at {POSTGRES_URL_VAR}: {e}")
                    });
                sqlx::query(&format!("CREATE DATABASE {name}"))
                    .execute(&mut conn)
                    .await
                    .expect("create database");
                let _ = conn.close().await;
                let url = with_database(&admin_url, &name);
                Self {
                    url,
                    backend,
                    admin_url: Some(admin_url),
                    name: Some(name),
                    _dir: None,
                }
            }
        }
    }

    /// The backend of this database.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// Drops a PostgreSQL database (a temporary SQLite folder goes with `self`).
    pub async fn drop_database(self) {
        if let (Some(admin_url), Some(name)) = (&self.admin_url, &self.name) {
            if let Ok(mut conn) = sqlx::PgConnection::connect(admin_url).await {
                let _ = sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                    .execute(&mut conn)
                    .await;
                let _ = conn.close().await;
            }
        }
    }
}

/// `url` with its database name replaced by `name`.
fn with_database(url: &str, name: &str) -> String {
    let (base, query) = url
        .split_once('?')
        .map_or((url, None), |(b, q)| (b, Some(q)));
    let scheme_end = base.find("://").map_or(0, |i| i + 3);
    let path_start = base[scheme_end..]
        .find('/')
        .map_or(base.len(), |i| scheme_end + i);
    let mut out = format!("{}/{name}", &base[..path_start]);
    if let Some(query) = query {
        out.push('?');
        out.push_str(query);
    }
    out
}
