//! Checkpoints of SQLite's write-ahead log beside the writer rather than inside its commits.
//!
//! In WAL mode a commit appends pages to the log and a checkpoint copies them back into the
//! database file. SQLite runs that checkpoint within the commit that takes the log past
//! `wal_autocheckpoint` pages, on the one write connection every write queues behind, so every
//! thousand pages one group commit also copies and fsyncs them all while the next waits. A
//! passive checkpoint from a read connection makes the same copy on another thread without
//! blocking the writer; the writer's own checkpoint then finds the pages already copied and
//! only has the log restarted. Nothing about durability changes: a commit is still on disk in
//! the log before it is answered.

use std::time::Duration;

use crate::gated_pool::GatedPool;

/// How often the log is copied back while the store is open: under load, a fraction of the
/// thousand pages after which the writer would checkpoint itself.
const PERIOD: Duration = Duration::from_millis(50);

/// Starts checkpointing the database of `pool` every [`PERIOD`] until the pool is closed.
pub(crate) fn spawn(pool: GatedPool) {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(PERIOD);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            if pool.inner().is_closed() {
                break;
            }
            // A checkpoint that finds another running, or cannot copy every page because a
            // reader still needs them, is tried again at the next tick.
            if let Err(error) = sqlx::query("PRAGMA wal_checkpoint(PASSIVE)")
                .execute(&pool)
                .await
            {
                tracing::debug!(%error, "a passive checkpoint of the write-ahead log failed");
            }
        }
    });
}
