//! Running statements the way every store function does: errors mapped once, a write that
//! must find its row answered `NotFound` when it does not, and a listing paged with its total.

use gatekey_core::page::{Page, PageRequest};
use gatekey_core::store::{StoreError, StoreResult};
use sqlx::any::{AnyArguments, AnyRow};
use sqlx::query::Query;
use sqlx::{Any, Executor};

use crate::error::from_sqlx;
use crate::gated_pool::GatedPool;
use crate::rows::total;

/// A statement with its parameters, before it runs.
pub(crate) type AnyQuery<'q> = Query<'q, Any, AnyArguments<'q>>;

/// Runs a write and returns how many rows it changed.
pub(crate) async fn rows_changed<'c, E>(query: AnyQuery<'_>, executor: E) -> StoreResult<u64>
where
    E: Executor<'c, Database = Any>,
{
    let done = query.execute(executor).await.map_err(from_sqlx)?;
    Ok(done.rows_affected())
}

/// Runs a write that must change a row: none changed means the row is not there (or not in
/// the state the statement asks for), which is `NotFound`.
pub(crate) async fn change_one<'c, E>(query: AnyQuery<'_>, executor: E) -> StoreResult<()>
where
    E: Executor<'c, Database = Any>,
{
    match rows_changed(query, executor).await? {
        0 => Err(StoreError::NotFound),
        _ => Ok(()),
    }
}

/// A listing's statements: `select` takes the filter's parameters and then `LIMIT` and
/// `OFFSET` as the two that follow them; `count` takes the filter's alone and answers a
/// `total` column. Both read under the same filter, so the total matches the pages.
pub(crate) struct Listing<'a> {
    /// The `SELECT` of the page's rows.
    pub select: &'a str,
    /// The `SELECT COUNT(*) AS total` of the whole list.
    pub count: &'a str,
}

/// One page of a listing and the size of the whole list. `bind_filter` binds the filter's
/// values, in order, to either statement.
pub(crate) async fn fetch_page<'a, T>(
    pool: &GatedPool,
    listing: Listing<'a>,
    bind_filter: impl Fn(AnyQuery<'a>) -> AnyQuery<'a>,
    page: PageRequest,
    decode: impl Fn(&AnyRow) -> StoreResult<T>,
) -> StoreResult<Page<T>> {
    let found = bind_filter(sqlx::query(listing.select))
        .bind(page.limit())
        .bind(page.offset())
        .fetch_all(pool)
        .await
        .map_err(from_sqlx)?;
    let count = bind_filter(sqlx::query(listing.count))
        .fetch_one(pool)
        .await
        .map_err(from_sqlx)?;
    Ok(Page {
        items: found.iter().map(decode).collect::<StoreResult<_>>()?,
        total: total(&count)?,
        request: page,
    })
}
