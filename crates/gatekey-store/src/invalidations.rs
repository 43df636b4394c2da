//! The invalidation feed: a row per revocation, timed by the database, polled by every server,
//! and on PostgreSQL also announced with `NOTIFY` so other replicas act at once.
//!
//! A write records its invalidations through an [`InvalidatingTx`], which hands them to this
//! process's [`LocalCaches`] as soon as the transaction commits, before the write returns: the
//! next request on this server already sees the change, and no caller has to remember to
//! evict anything. Other processes learn of it from the feed.

use std::ops::{Deref, DerefMut};
use std::sync::Arc;

use gatekey_core::store::{Invalidation, InvalidationStore, StoreError, StoreResult};
use sqlx::{Any, AnyConnection, Row, Transaction};

use crate::error::from_sqlx;
use crate::{Backend, SqlStore, NOTIFY_CHANNEL};

/// The caches of this process, which a store tells of the invalidations its own writes
/// commit.
pub trait LocalCaches: Send + Sync {
    /// Drops every entry the invalidations make stale. Called right after the commit, on the
    /// writing task, so it must not block for long.
    fn invalidate(&self, invalidations: &[Invalidation]);
}

fn kind_and_target(invalidation: Invalidation) -> (&'static str, i64) {
    match invalidation {
        Invalidation::ApiKey(id) => ("api_key", id),
        Invalidation::User(id) => ("user", id),
        Invalidation::Session(id) => ("session", id),
        Invalidation::AccessToken(id) => ("access_token", id),
        Invalidation::Family(id) => ("family", id),
        Invalidation::Grant(id) => ("grant", id),
        Invalidation::Application(id) => ("application", id),
        Invalidation::ScopeCatalogue => ("scope_catalogue", 0),
        Invalidation::AccountScopes(id) => ("account_scopes", id),
    }
}

/// Parses the `kind:id` text used in rows' parts and in `NOTIFY` payloads.
pub fn parse_invalidation(kind: &str, target: i64) -> Option<Invalidation> {
    match kind {
        "api_key" => Some(Invalidation::ApiKey(target)),
        "user" => Some(Invalidation::User(target)),
        "session" => Some(Invalidation::Session(target)),
        "access_token" => Some(Invalidation::AccessToken(target)),
        "family" => Some(Invalidation::Family(target)),
        "grant" => Some(Invalidation::Grant(target)),
        "application" => Some(Invalidation::Application(target)),
        "scope_catalogue" => Some(Invalidation::ScopeCatalogue),
        "account_scopes" => Some(Invalidation::AccountScopes(target)),
        _ => None,
    }
}

/// A write transaction that records invalidations in the feed and, once committed, hands them
/// to this process's caches. It dereferences to the connection, for the write's other
/// statements.
pub(crate) struct InvalidatingTx {
    tx: Transaction<'static, Any>,
    backend: Backend,
    recorded: Vec<Invalidation>,
    local_caches: Option<Arc<dyn LocalCaches>>,
}

impl InvalidatingTx {
    /// Writes `invalidation` in this transaction (and queues its `NOTIFY`, which PostgreSQL
    /// delivers only if the transaction commits).
    pub(crate) async fn record(&mut self, invalidation: Invalidation) -> StoreResult<()> {
        let (kind, target) = kind_and_target(invalidation);
        let sql = format!(
            "INSERT INTO invalidations (at, kind, target) VALUES ({}, $1, $2)",
            self.backend.now_millis_sql()
        );
        sqlx::query(&sql)
            .bind(kind)
            .bind(target)
            .execute(&mut *self.tx)
            .await
            .map_err(from_sqlx)?;
        if self.backend == Backend::Postgres {
            sqlx::query("SELECT pg_notify($1, $2)")
                .bind(NOTIFY_CHANNEL)
                .bind(format!("{kind}:{target}"))
                .execute(&mut *self.tx)
                .await
                .map_err(from_sqlx)?;
        }
        self.recorded.push(invalidation);
        Ok(())
    }

    /// The connection, for helpers that take the transaction to record invalidations.
    pub(crate) fn conn(&mut self) -> &mut AnyConnection {
        &mut self.tx
    }

    /// Commits, then evicts what the recorded invalidations name from this process's caches.
    /// Nothing is evicted if the commit fails: nothing changed.
    pub(crate) async fn commit(self) -> Result<(), sqlx::Error> {
        self.tx.commit().await?;
        if let (Some(caches), false) = (&self.local_caches, self.recorded.is_empty()) {
            caches.invalidate(&self.recorded);
        }
        Ok(())
    }
}

impl Deref for InvalidatingTx {
    type Target = AnyConnection;

    fn deref(&self) -> &AnyConnection {
        &self.tx
    }
}

impl DerefMut for InvalidatingTx {
    fn deref_mut(&mut self) -> &mut AnyConnection {
        &mut self.tx
    }
}

impl SqlStore {
    /// This store, telling `caches` of the invalidations its writes commit. Clones of the
    /// returned store share them; the store it was made from does not.
    pub fn with_local_caches(self, caches: Arc<dyn LocalCaches>) -> Self {
        Self {
            local_caches: Some(caches),
            ..self
        }
    }

    /// Begins a write that records invalidations.
    pub(crate) async fn begin_invalidating(&self) -> Result<InvalidatingTx, sqlx::Error> {
        Ok(InvalidatingTx {
            tx: self.write.begin().await?,
            backend: self.backend,
            recorded: Vec::new(),
            local_caches: self.local_caches.clone(),
        })
    }

    /// Evicts what `invalidations` make stale from this process's caches: for the feed, which
    /// brings the invalidations other processes recorded, and for a write that finds an entry
    /// stale without changing anything (the change was recorded elsewhere and its feed has not
    /// arrived yet).
    pub fn invalidate_locally(&self, invalidations: &[Invalidation]) {
        if let Some(caches) = &self.local_caches {
            caches.invalidate(invalidations);
        }
    }
}

impl InvalidationStore for SqlStore {
    async fn invalidations_since(
        &self,
        since_millis: i64,
    ) -> StoreResult<(Vec<Invalidation>, i64)> {
        let now_row = sqlx::query(&format!("SELECT {} AS now", self.backend.now_millis_sql()))
            .fetch_one(&self.read)
            .await
            .map_err(from_sqlx)?;
        let now: i64 = now_row
            .try_get("now")
            .map_err(|e| StoreError::Unavailable(e.to_string()))?;
        let rows = sqlx::query("SELECT kind, target FROM invalidations WHERE at >= $1 ORDER BY id")
            .bind(since_millis)
            .fetch_all(&self.read)
            .await
            .map_err(from_sqlx)?;
        let mut found = Vec::with_capacity(rows.len());
        for row in rows {
            let kind: String = row
                .try_get("kind")
                .map_err(|e| StoreError::Unavailable(e.to_string()))?;
            let target: i64 = row
                .try_get("target")
                .map_err(|e| StoreError::Unavailable(e.to_string()))?;
            found.extend(parse_invalidation(&kind, target));
        }
        Ok((found, now))
    }

    async fn prune_invalidations(&self, before_millis: i64) -> StoreResult<()> {
        sqlx::query("DELETE FROM invalidations WHERE at < $1")
            .bind(before_millis)
            .execute(&self.write)
            .await
            .map(|_| ())
            .map_err(from_sqlx)
    }
}

/// A PostgreSQL `LISTEN` on the invalidation channel.
#[derive(Debug)]
pub struct InvalidationListener(sqlx::postgres::PgListener);

impl InvalidationListener {
    /// The next announced invalidation. `Ok(None)` means the connection was lost and has been
    /// re-established: announcements in between may be missed (the poller catches them).
    pub async fn next(&mut self) -> Result<Option<Invalidation>, StoreError> {
        loop {
            match self.0.try_recv().await {
                Ok(Some(notification)) => {
                    let parsed = notification
                        .payload()
                        .split_once(':')
                        .and_then(|(kind, id)| parse_invalidation(kind, id.parse().ok()?));
                    if parsed.is_some() {
                        return Ok(parsed);
                    }
                }
                Ok(None) => return Ok(None),
                Err(error) => return Err(StoreError::Unavailable(error.to_string())),
            }
        }
    }
}

impl SqlStore {
    /// Listens for invalidations announced by any server on this PostgreSQL database; `None`
    /// on SQLite, where the poll is the only channel.
    pub async fn listen_invalidations(&self) -> Option<Result<InvalidationListener, StoreError>> {
        if self.backend != Backend::Postgres {
            return None;
        }
        let listen = async {
            let mut listener = sqlx::postgres::PgListener::connect(&self.url)
                .await
                .map_err(from_sqlx)?;
            listener.listen(NOTIFY_CHANNEL).await.map_err(from_sqlx)?;
            Ok(InvalidationListener(listener))
        };
        Some(listen.await)
    }
}
