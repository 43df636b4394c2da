//! The invalidation feed: a row per revocation, timed by the database, polled by every server,
//! and on PostgreSQL also announced with `NOTIFY` so other replicas act at once.

use gatekey_core::store::{Invalidation, InvalidationStore, StoreError, StoreResult};
use sqlx::{AnyConnection, Row};

use crate::error::from_sqlx;
use crate::{Backend, SqlStore, NOTIFY_CHANNEL};

fn kind_and_target(invalidation: Invalidation) -> (&'static str, i64) {
    match invalidation {
        Invalidation::ApiKey(id) => ("api_key", id),
        Invalidation::User(id) => ("user", id),
        Invalidation::Session(id) => ("session", id),
        Invalidation::AccessToken(id) => ("access_token", id),
        Invalidation::Family(id) => ("family", id),
        Invalidation::Grant(id) => ("grant", id),
        Invalidation::Application(id) => ("application", id),
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
        _ => None,
    }
}

/// Writes an invalidation in the caller's transaction (and queues its `NOTIFY`, which
/// PostgreSQL delivers only if the transaction commits).
pub(crate) async fn insert_invalidation(
    conn: &mut AnyConnection,
    backend: Backend,
    invalidation: Invalidation,
) -> StoreResult<()> {
    let (kind, target) = kind_and_target(invalidation);
    let sql = format!(
        "INSERT INTO invalidations (at, kind, target) VALUES ({}, $1, $2)",
        backend.now_millis_sql()
    );
    sqlx::query(&sql)
        .bind(kind)
        .bind(target)
        .execute(&mut *conn)
        .await
        .map_err(from_sqlx)?;
    if backend == Backend::Postgres {
        sqlx::query("SELECT pg_notify($1, $2)")
            .bind(NOTIFY_CHANNEL)
            .bind(format!("{kind}:{target}"))
            .execute(&mut *conn)
            .await
            .map_err(from_sqlx)?;
    }
    Ok(())
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
