//! Opening a store: pools, SQLite's pragmas, and migrations.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use sqlx::any::AnyPoolOptions;
use sqlx::Executor;

use crate::database_health::DatabaseHealth;
use crate::database_url::redact_database_url;
use crate::gated_pool::GatedPool;
use crate::issue_batch::{Durability, IssueBatcher};
use crate::wal_checkpoint;
use crate::{Backend, SqlStore};

/// The PostgreSQL channel on which invalidations are announced.
pub const NOTIFY_CHANNEL: &str = "gatekey_invalidations";

/// Why a store could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum ConnectError {
    /// The URL names no supported database.
    #[error("unsupported database URL (expected sqlite://PATH or postgres://…): {0}")]
    UnsupportedUrl(String),
    /// The SQLite file's folder could not be created.
    #[error("cannot create the folder {path}: {source}")]
    CreateFolder {
        /// The folder.
        path: String,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The database refused the connection.
    #[error("cannot connect to the database: {0}")]
    Connect(#[source] sqlx::Error),
    /// `connect_existing` found no SQLite file at the path.
    #[error("no gatekey database at {0}; run `gatekey serve` there first, or pass --database-url")]
    NoDatabase(String),
    /// The database holds a migration this program does not know: a newer gatekey migrated
    /// it. Running on would mean reading a schema this program was not written for.
    #[error(
        "the database was migrated by a newer gatekey (it has migration {found}; this gatekey \
         knows migrations up to {known}): run the newer version on every replica"
    )]
    NewerSchema {
        /// The unknown migration found in the database.
        found: i64,
        /// The newest migration this program knows.
        known: i64,
    },
    /// A migration failed.
    #[error("cannot migrate the database: {0}")]
    Migrate(#[source] sqlx::migrate::MigrateError),
}

/// SQLite: write-ahead log so readers never block the writer, foreign keys enforced, a commit
/// fsynced before it is acknowledged, and a wait instead of an error when another process (an
/// operator command) holds the write lock. Statement journals (the undo of one statement of a
/// multi-row write, never needed once it has run) are kept in memory rather than in a
/// temporary file. The group commit of the token endpoint makes its commits durable its own
/// way (see [`crate::issue_batch`]).
const SQLITE_PRAGMAS: &str = "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; \
     PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 10000; PRAGMA temp_store = MEMORY;";

impl SqlStore {
    /// Opens the database at `url`, creating an SQLite file (and its folder) if needed, and
    /// applies pending migrations.
    pub async fn connect(url: &str) -> Result<Self, ConnectError> {
        sqlx::any::install_default_drivers();
        let backend = Backend::of_url(url)
            .ok_or_else(|| ConnectError::UnsupportedUrl(redact_database_url(url)))?;
        let store = match backend {
            Backend::Sqlite => connect_sqlite(url).await?,
            Backend::Postgres => {
                let pool = AnyPoolOptions::new()
                    .max_connections(16)
                    .acquire_timeout(Duration::from_secs(5))
                    .connect(url)
                    .await
                    .map_err(ConnectError::Connect)?;
                let health = Arc::new(DatabaseHealth::new(backend));
                let pool = GatedPool::new(pool, Arc::clone(&health));
                SqlStore {
                    read: pool.clone(),
                    issue_batcher: IssueBatcher::spawn(pool.clone(), Durability::InCommit),
                    write: pool,
                    health,
                    backend,
                    url: url.to_owned(),
                    local_caches: None,
                }
            }
        };
        let migrator = match backend {
            Backend::Sqlite => sqlx::migrate!("./migrations/sqlite"),
            Backend::Postgres => sqlx::migrate!("./migrations/postgres"),
        };
        let known = migrator.iter().map(|m| m.version).max().unwrap_or(0);
        migrator
            .run(store.write.inner())
            .await
            .map_err(|error| match error {
                sqlx::migrate::MigrateError::VersionMissing(found) => {
                    ConnectError::NewerSchema { found, known }
                }
                other => ConnectError::Migrate(other),
            })?;
        Ok(store)
    }
}

impl SqlStore {
    /// Like [`SqlStore::connect`], but refuses to create a new SQLite file: for operator commands,
    /// where a mistyped path must be an error rather than a fresh empty database.
    pub async fn connect_existing(url: &str) -> Result<Self, ConnectError> {
        if Backend::of_url(url) == Some(Backend::Sqlite) {
            let path = sqlite_path(url).0;
            if !Path::new(path).is_file() {
                return Err(ConnectError::NoDatabase(path.to_owned()));
            }
        }
        Self::connect(url).await
    }
}

impl SqlStore {
    /// The folder that holds an SQLite database file (`.` for a bare file name); `None` on
    /// PostgreSQL. Files that belong beside the database (the key-encryption key of a
    /// single-machine install) go here.
    pub fn data_folder(&self) -> Option<std::path::PathBuf> {
        if self.backend() != Backend::Sqlite {
            return None;
        }
        let path = Path::new(sqlite_path(self.url()).0);
        Some(
            path.parent()
                .filter(|p| !p.as_os_str().is_empty())
                .unwrap_or(Path::new("."))
                .to_path_buf(),
        )
    }
}

/// The file path and query of an SQLite URL.
fn sqlite_path(url: &str) -> (&str, Option<&str>) {
    let rest = url
        .trim_start_matches("sqlite://")
        .trim_start_matches("sqlite:");
    rest.split_once('?')
        .map_or((rest, None), |(p, q)| (p, Some(q)))
}

async fn connect_sqlite(url: &str) -> Result<SqlStore, ConnectError> {
    let (path, query) = {
        let rest = url
            .trim_start_matches("sqlite://")
            .trim_start_matches("sqlite:");
        rest.split_once('?')
            .map_or((rest, None), |(p, q)| (p, Some(q)))
    };
    if path.is_empty() || path == ":memory:" {
        return Err(ConnectError::UnsupportedUrl(url.to_owned()));
    }
    if let Some(folder) = Path::new(path)
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
    {
        std::fs::create_dir_all(folder).map_err(|source| ConnectError::CreateFolder {
            path: folder.display().to_string(),
            source,
        })?;
    }
    let url = match query {
        Some(query) if query.contains("mode=") => url.to_owned(),
        Some(query) => format!("sqlite://{path}?{query}&mode=rwc"),
        None => format!("sqlite://{path}?mode=rwc"),
    };
    // An embedded database's connection cannot be lost, so it is not pinged at each acquire:
    // that would cost every write a round trip to the connection's thread.
    let options = || {
        AnyPoolOptions::new()
            .acquire_timeout(Duration::from_secs(10))
            .test_before_acquire(false)
            .after_connect(|conn, _| {
                Box::pin(async move {
                    conn.execute(SQLITE_PRAGMAS).await?;
                    Ok(())
                })
            })
    };
    let write = options()
        .max_connections(1)
        .connect(&url)
        .await
        .map_err(ConnectError::Connect)?;
    let read = options()
        .max_connections(4)
        .connect(&url)
        .await
        .map_err(ConnectError::Connect)?;
    let health = Arc::new(DatabaseHealth::new(Backend::Sqlite));
    let (read, write) = (
        GatedPool::new(read, Arc::clone(&health)),
        GatedPool::new(write, Arc::clone(&health)),
    );
    wal_checkpoint::spawn(read.clone());
    Ok(SqlStore {
        read,
        issue_batcher: IssueBatcher::spawn(
            write.clone(),
            Durability::SyncedLog(PathBuf::from(path)),
        ),
        write,
        health,
        backend: Backend::Sqlite,
        url,
        local_caches: None,
    })
}
