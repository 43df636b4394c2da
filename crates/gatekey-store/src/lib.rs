//! gatekey's storage traits implemented over SQL, for SQLite (embedded default) and PostgreSQL
//! (many replicas). Queries are written once in the SQL both understand (`$1` placeholders,
//! `RETURNING`, milliseconds in `BIGINT`); the few differences live in [`backend`].

#![warn(missing_docs)]

mod accounts;
mod api_key_roll;
mod api_keys;
mod application_rows;
mod applications;
mod audits;
pub mod backend;
mod connect;
mod credit_leases;
pub mod database_health;
mod database_url;
mod devices;
mod error;
mod first_run;
mod gated_pool;
pub use first_run::{FirstRunFacts, OwnerAccount};
mod grants;
mod invalidations;
mod invitations;
mod issue_batch;
mod job_leases;
pub use invalidations::{parse_invalidation, InvalidationListener, LocalCaches};
mod query;
mod retention;
mod rows;
mod scopes;
mod sessions;
mod signing_keys;
mod tokens;
mod users;
mod wal_checkpoint;

use std::sync::Arc;

use database_health::DatabaseHealth;
use gated_pool::GatedPool;

pub use backend::Backend;
pub use connect::{ConnectError, NOTIFY_CHANNEL};
pub use database_url::redact_database_url;

/// The SQL store. Cheap to clone: the pools are shared. `Debug` shows the URL without its
/// password.
#[derive(Clone)]
pub struct SqlStore {
    /// Connections for reads.
    read: GatedPool,
    /// Connections for writes: a single connection on SQLite, so writers queue in-process
    /// instead of failing with `SQLITE_BUSY`; the same pool as `read` on PostgreSQL.
    write: GatedPool,
    /// Whether the database is known to be down; both pools refuse at once while it is.
    health: Arc<DatabaseHealth>,
    backend: Backend,
    url: String,
    /// Writes issued tokens in group commits.
    issue_batcher: issue_batch::IssueBatcher,
    /// This process's caches, told of every invalidation a write of this store commits.
    local_caches: Option<Arc<dyn LocalCaches>>,
}

impl std::fmt::Debug for SqlStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqlStore")
            .field("backend", &self.backend)
            .field("url", &redact_database_url(&self.url))
            .finish_non_exhaustive()
    }
}

impl SqlStore {
    /// Which database this store talks to.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// The URL the store was opened with, for components that need their own connection
    /// (PostgreSQL's `LISTEN`).
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Checks that the database answers.
    pub async fn ping(&self) -> Result<(), gatekey_core::store::StoreError> {
        sqlx::query("SELECT 1")
            .execute(&self.read)
            .await
            .map(|_| ())
            .map_err(error::from_sqlx)
    }

    /// Closes every connection, waiting for those in use.
    pub async fn close(&self) {
        self.write.inner().close().await;
        self.read.inner().close().await;
        self.close_probe().await;
    }
}

#[cfg(feature = "testing")]
pub mod testing;
