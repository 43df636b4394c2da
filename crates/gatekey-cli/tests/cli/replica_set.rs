//! A replica set: several `gatekey serve` processes on one throwaway PostgreSQL database, each on
//! a port of its own, reaching the database directly or through a proxy the test can cut; and
//! what the load tests share: fresh accounts, load that stops on a flag, percentiles.
#![allow(dead_code)] // Shared by the replica test modules; not every module uses each part.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use gatekey_server::testing::DatabaseProxy;
use gatekey_store::testing::{TestDatabase, POSTGRES_URL_VAR};
use gatekey_store::Backend;

use crate::fixtures::{add_membership, create_account, create_api_key};
use crate::process::Server;

/// A fresh PostgreSQL database, or `None` (with a note) when PostgreSQL is not configured:
/// replicas share one database server, which SQLite is not.
pub async fn postgres_database() -> Option<TestDatabase> {
    if std::env::var(POSTGRES_URL_VAR).map_or(true, |url| url.is_empty()) {
        eprintln!("replica sets run on PostgreSQL only; {POSTGRES_URL_VAR} is not set, skipped");
        return None;
    }
    Some(TestDatabase::create(Backend::Postgres).await)
}

/// `count` replicas of `gatekey serve` on one database.
pub struct ReplicaSet {
    /// The database, reached directly: the operator's way in, never cut.
    pub db: TestDatabase,
    /// The proxy the replicas reach the database through, when started behind one.
    pub proxy: Option<Arc<DatabaseProxy>>,
    /// The replicas' base URLs, in start order; a killed replica's URL stays in its place.
    pub urls: Vec<String>,
    replicas: Vec<Option<Server>>,
    _turn: tokio::sync::MutexGuard<'static, ()>,
}

/// Held by the replica set that runs; the others wait for it.
static ONE_SET_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

impl ReplicaSet {
    /// Starts `count` replicas on `db` with `envs` (on top of [`Server::start`]'s own).
    pub async fn start(db: TestDatabase, count: usize, envs: &[(&str, &str)]) -> Self {
        let database_url = db.url.clone();
        Self::spawn(db, None, &database_url, count, envs).await
    }

    /// Starts `count` replicas on `db` whose every database connection goes through a proxy the
    /// test can cut (`self.proxy`).
    pub async fn start_behind_proxy(db: TestDatabase, count: usize, envs: &[(&str, &str)]) -> Self {
        let proxy = DatabaseProxy::start(&db.url).await;
        let database_url = proxy.route(&db.url);
        Self::spawn(db, Some(proxy), &database_url, count, envs).await
    }

    async fn spawn(
        db: TestDatabase,
        proxy: Option<Arc<DatabaseProxy>>,
        database_url: &str,
        count: usize,
        envs: &[(&str, &str)],
    ) -> Self {
        let envs: Vec<(String, String)> = envs
            .iter()
            .map(|(name, value)| ((*name).to_owned(), (*value).to_owned()))
            .collect();
        // One replica set at a time: each holds up to 16 connections per replica, and load
        // tests that share two cores time each other, not the replicas.
        let turn = ONE_SET_AT_A_TIME.lock().await;
        // Started side by side, off the runtime's threads: waiting for "listening" blocks, and a
        // replica behind the proxy needs this runtime to reach its database while it starts.
        let starting: Vec<_> = (0..count)
            .map(|_| {
                let log = tempfile::NamedTempFile::new().expect("a log file");
                let stderr = log.reopen().expect("the log file, to write");
                let (database_url, envs) = (database_url.to_owned(), envs.clone());
                let started = tokio::task::spawn_blocking(move || {
                    let envs: Vec<(&str, &str)> = envs
                        .iter()
                        .map(|(name, value)| (name.as_str(), value.as_str()))
                        .collect();
                    let mut command = Server::command(&database_url, &envs);
                    command.stderr(stderr);
                    Server::spawn(command)
                });
                (started, log)
            })
            .collect();
        let mut replicas = Vec::new();
        for (started, log) in starting {
            match started.await {
                Ok(server) => replicas.push(Some(server)),
                Err(_) => {
                    let said = std::fs::read_to_string(log.path()).unwrap_or_default();
                    panic!("a replica did not start; it said:\n{said}");
                }
            }
        }
        let urls = replicas
            .iter()
            .flatten()
            .map(|server| server.url.clone())
            .collect();
        Self {
            db,
            proxy,
            urls,
            replicas,
            _turn: turn,
        }
    }

    /// The proxy between the replicas and the database; panics unless started behind one.
    pub fn proxy(&self) -> &Arc<DatabaseProxy> {
        self.proxy.as_ref().expect("started behind a proxy")
    }

    /// `kill -9` of replica `index`: no shutdown, no flush.
    pub fn kill_hard(&mut self, index: usize) {
        if let Some(server) = self.replicas[index].take() {
            server.kill_hard();
        }
    }

    /// Stops every replica and drops the database.
    pub async fn stop(mut self) {
        for replica in &mut self.replicas {
            if let Some(server) = replica.take() {
                server.kill_hard();
            }
        }
        self.db.drop_database().await;
    }
}

/// Creates the account `slug`, makes ada@acme.test (made by `seed_owner_key`) its owner, and
/// returns a key of hers in it: an account no request has been counted against yet.
pub fn fresh_account_key(database_url: &str, slug: &str) -> String {
    create_account(database_url, slug, slug);
    add_membership(database_url, "ada@acme.test", slug, "owner");
    let key = create_api_key(
        database_url,
        ["--email", "ada@acme.test"],
        slug,
        "load",
        &[],
    );
    key["secret"].as_str().expect("secret").to_owned()
}

/// A flag the load tasks of a test poll: set, they finish their request and end.
#[derive(Clone, Default)]
pub struct StopFlag(Arc<AtomicBool>);

impl StopFlag {
    /// Asks every task to end.
    pub fn stop(&self) {
        self.0.store(true, Ordering::Relaxed);
    }

    /// Whether the tasks should end.
    pub fn stopped(&self) -> bool {
        self.0.load(Ordering::Relaxed)
    }
}

/// The value below which `percent` % of `times` lie (nearest rank); zero for no times.
pub fn percentile(times: &[Duration], percent: usize) -> Duration {
    let mut sorted = times.to_vec();
    sorted.sort();
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let rank = (sorted.len() * percent).div_ceil(100).max(1);
    sorted[rank - 1]
}

/// Waits, when fewer than `margin` are left in the current wall-clock minute, until just after
/// the next minute starts: a per-minute window counted against wall-clock minutes then holds a
/// whole load phase of less than `margin`.
pub async fn clear_of_minute_edge(margin: Duration) {
    let since_epoch = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("the clock is past 1970");
    let into_minute =
        Duration::from_millis(u64::try_from(since_epoch.as_millis() % 60_000).unwrap_or(0));
    let left = Duration::from_secs(60) - into_minute;
    if left < margin {
        tokio::time::sleep(left + Duration::from_millis(50)).await;
    }
}
