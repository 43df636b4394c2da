//! A pool that refuses at once while the database is known to be down, gives up the acquires
//! waiting when it goes down, and tells the health state what its acquires see (see
//! [`crate::database_health`]). Every query of the store goes through one of these, as `&pool`
//! where sqlx takes an executor.

use std::sync::Arc;

use futures_util::future::BoxFuture;
use futures_util::stream::BoxStream;
use futures_util::{FutureExt, StreamExt, TryFutureExt, TryStreamExt};
use sqlx::any::{AnyQueryResult, AnyRow, AnyStatement, AnyTypeInfo};
use sqlx::pool::PoolConnection;
use sqlx::{Any, AnyPool, Describe, Either, Execute, Executor, Transaction};

use crate::database_health::{DatabaseDown, DatabaseHealth};

/// A pool of connections behind the database's health.
#[derive(Debug, Clone)]
pub(crate) struct GatedPool {
    pool: AnyPool,
    health: Arc<DatabaseHealth>,
}

impl GatedPool {
    /// `pool`, refusing while `health` says the database is down.
    pub(crate) fn new(pool: AnyPool, health: Arc<DatabaseHealth>) -> Self {
        Self { pool, health }
    }

    /// The pool itself, for what must run whatever the health says (migrations, closing).
    pub(crate) fn inner(&self) -> &AnyPool {
        &self.pool
    }

    /// Takes a connection: at once an error while the database is down, and an error as soon
    /// as it is found down while waiting. Only the wait is cut short, never a query: a write
    /// that was sent is left to succeed or fail on its own.
    pub(crate) async fn acquire(&self) -> Result<PoolConnection<Any>, sqlx::Error> {
        if !self.health.is_tracked() {
            return self.pool.acquire().await;
        }
        if self.health.is_down() {
            return Err(down());
        }
        tokio::select! {
            acquired = self.pool.acquire() => {
                if let Err(error) = &acquired {
                    self.health.observe(error);
                }
                acquired
            }
            () = self.health.went_down() => Err(down()),
        }
    }

    /// Begins a transaction on a connection taken as [`Self::acquire`] does.
    pub(crate) async fn begin(&self) -> Result<Transaction<'static, Any>, sqlx::Error> {
        let connection = self.acquire().await?;
        Transaction::begin(connection, None).await
    }
}

/// The error of an acquire while the database is down.
fn down() -> sqlx::Error {
    sqlx::Error::Io(std::io::Error::new(
        std::io::ErrorKind::NotConnected,
        DatabaseDown,
    ))
}

/// As sqlx's executor for a pool, with the acquire of [`GatedPool::acquire`]. Rows are
/// gathered before they are handed on: every query of the store reads them all anyway.
impl<'p> Executor<'p> for &GatedPool {
    type Database = Any;

    fn fetch_many<'e, 'q: 'e, E>(
        self,
        query: E,
    ) -> BoxStream<'e, Result<Either<AnyQueryResult, AnyRow>, sqlx::Error>>
    where
        E: 'q + Execute<'q, Any>,
    {
        let pool = self.clone();
        let all = async move {
            let mut connection = pool.acquire().await?;
            connection.fetch_many(query).try_collect::<Vec<_>>().await
        };
        all.map_ok(|items| futures_util::stream::iter(items.into_iter().map(Ok)))
            .try_flatten_stream()
            .boxed()
    }

    fn fetch_optional<'e, 'q: 'e, E>(
        self,
        query: E,
    ) -> BoxFuture<'e, Result<Option<AnyRow>, sqlx::Error>>
    where
        E: 'q + Execute<'q, Any>,
    {
        let pool = self.clone();
        async move { pool.acquire().await?.fetch_optional(query).await }.boxed()
    }

    fn prepare_with<'e, 'q: 'e>(
        self,
        sql: &'q str,
        parameters: &'e [AnyTypeInfo],
    ) -> BoxFuture<'e, Result<AnyStatement<'q>, sqlx::Error>> {
        let pool = self.clone();
        async move { pool.acquire().await?.prepare_with(sql, parameters).await }.boxed()
    }

    fn describe<'e, 'q: 'e>(
        self,
        sql: &'q str,
    ) -> BoxFuture<'e, Result<Describe<Any>, sqlx::Error>> {
        let pool = self.clone();
        async move { pool.acquire().await?.describe(sql).await }.boxed()
    }
}
