//! Whether the database is known to be down, so that callers are answered at once instead of
//! each waiting the pool's acquire timeout (5 s) for a connection that will not come.
//!
//! The state is kept by a probe ([`SqlStore::probe_database`], run by the server every quarter
//! of a second), which holds a connection of its own, runs `SELECT 1` on it, and marks the
//! database down when that fails or takes longer than [`PROBE_TIMEOUT`], and up again as soon as
//! it answers. A pool that fails to give a connection (a connect that failed, or was refused
//! until the acquire timeout) asks for a probe at once. The probe decides, rather than the
//! failed acquire, because an acquire also times out when the pool is merely busy. While the
//! database is down, the pools refuse every acquire with [`DatabaseDown`], and the acquires
//! that were waiting when it went down give up at once.
//!
//! PostgreSQL only. An SQLite database is a file in this process: there is no server to lose,
//! a failing query fails at once on its own, and waits for the write lock are the busy timeout
//! doing its job. So on SQLite the database is never marked down.

use std::time::Duration;

use sqlx::{AnyConnection, Connection};
use tokio::sync::{watch, Mutex, Notify};

use crate::{Backend, SqlStore};

/// How long the probe waits for `SELECT 1` on its open connection.
pub const PROBE_TIMEOUT: Duration = Duration::from_millis(500);

/// How long the probe waits to open its connection.
const PROBE_CONNECT_TIMEOUT: Duration = Duration::from_secs(2);

/// The error an acquire gets while the database is down: it fails at once.
#[derive(Debug, thiserror::Error)]
#[error("the database is down (the last probe failed); not waiting for a connection")]
pub struct DatabaseDown;

/// Whether the database answers, as far as this process knows.
#[derive(Debug)]
pub(crate) struct DatabaseHealth {
    /// Whether the state is kept at all (PostgreSQL); when not, the database is never down.
    tracked: bool,
    down: watch::Sender<bool>,
    /// Wakes the probe when a pool sees the database fail.
    probe_wanted: Notify,
    /// The probe's own connection, kept open between probes.
    probe_connection: Mutex<Option<AnyConnection>>,
}

impl DatabaseHealth {
    /// The state for a database of `backend`, up to begin with.
    pub(crate) fn new(backend: Backend) -> Self {
        Self {
            tracked: backend == Backend::Postgres,
            down: watch::Sender::new(false),
            probe_wanted: Notify::new(),
            probe_connection: Mutex::new(None),
        }
    }

    /// Whether the state is kept at all: on SQLite the database is never down.
    pub(crate) fn is_tracked(&self) -> bool {
        self.tracked
    }

    /// Whether the database is known to be down.
    pub(crate) fn is_down(&self) -> bool {
        *self.down.borrow()
    }

    /// Resolves when the database is known to be down (at once if it is).
    pub(crate) async fn went_down(&self) {
        let mut state = self.down.subscribe();
        if state.wait_for(|down| *down).await.is_err() {
            std::future::pending::<()>().await;
        }
    }

    /// Notes what an acquire from a pool returned: a failure to get a working connection asks
    /// for a probe now.
    pub(crate) fn observe(&self, error: &sqlx::Error) {
        if self.tracked
            && matches!(
                error,
                sqlx::Error::PoolTimedOut | sqlx::Error::Io(_) | sqlx::Error::Tls(_)
            )
        {
            self.probe_wanted.notify_one();
        }
    }

    fn mark_down(&self, reason: &str) {
        if self.tracked && !self.down.send_replace(true) {
            tracing::warn!(%reason, "the database is down; answering 503 until it is back");
        }
    }

    fn mark_up(&self) {
        if self.down.send_replace(false) {
            tracing::info!("the database is back");
        }
    }
}

impl SqlStore {
    /// Whether the database is known to be down (see [`crate::database_health`]); never on
    /// SQLite.
    pub fn database_is_down(&self) -> bool {
        self.health.is_down()
    }

    /// Runs `SELECT 1` on the probe's own connection (opening it if needed) and records
    /// whether the database answered within [`PROBE_TIMEOUT`]. Returns whether it is up.
    /// Does nothing on SQLite.
    pub async fn probe_database(&self) -> bool {
        if !self.health.tracked {
            return true;
        }
        let mut slot = self.health.probe_connection.lock().await;
        let answered = async {
            let mut connection = match slot.take() {
                Some(connection) => connection,
                None => {
                    tokio::time::timeout(PROBE_CONNECT_TIMEOUT, AnyConnection::connect(&self.url))
                        .await
                        .map_err(|_| format!("no connection within {PROBE_CONNECT_TIMEOUT:?}"))?
                        .map_err(|error| error.to_string())?
                }
            };
            tokio::time::timeout(
                PROBE_TIMEOUT,
                sqlx::query("SELECT 1").execute(&mut connection),
            )
            .await
            .map_err(|_| format!("no answer to SELECT 1 within {PROBE_TIMEOUT:?}"))?
            .map_err(|error| error.to_string())?;
            Ok::<_, String>(connection)
        }
        .await;
        match answered {
            Ok(connection) => {
                *slot = Some(connection);
                self.health.mark_up();
                true
            }
            Err(reason) => {
                self.health.mark_down(&reason);
                false
            }
        }
    }

    /// Resolves when a pool has seen the database fail and asks for a probe now.
    pub async fn probe_wanted(&self) {
        self.health.probe_wanted.notified().await;
    }

    /// Closes the probe's connection.
    pub(crate) async fn close_probe(&self) {
        if let Some(connection) = self.health.probe_connection.lock().await.take() {
            let _ = connection.close().await;
        }
    }
}
