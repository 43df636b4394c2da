//! Work done beside the requests: following the invalidation feed, writing API keys'
//! `last_used_at`, pruning old invalidations, reloading (and rotating) the signing keys, the
//! retention purge that deletes expired
//! codes, device codes, tokens and sessions (and old audit events when configured) and the
//! signing keys retired long ago, and, on
//! PostgreSQL, probing the database so that an outage is answered at once.
//!
//! Every replica runs every task but the retention purge, which one replica at a time runs:
//! the one holding the purge's lease in the database ([`JobLeaseStore`]), renewed at each
//! purge for two intervals, so that when its holder stops another replica takes the purge over
//! within two intervals. (The purge would be safe on several at once, each batch deleting only
//! dead rows, but N replicas would do the same work N times.) A batch that fails (the database
//! away) is logged and the next purge tries again.

use std::time::Duration;

use gatekey_core::api_key_credits::CreditLeaseStore;
use gatekey_core::retention::{purge, PurgeLimits, PurgeReport};
use gatekey_core::store::{ApiKeyStore, InvalidationStore, JobLeaseStore, StoreResult};
use gatekey_store::Backend;
use tokio::task::JoinHandle;

use crate::metrics::BackgroundOperation;
use crate::state::AppState;

/// How far back each poll of the invalidation feed looks, beyond the previous poll: covers
/// transactions that committed late and clock steps of the database.
const POLL_OVERLAP_MILLIS: i64 = 5_000;
/// How long invalidations are kept.
const KEEP_INVALIDATIONS_MILLIS: i64 = 3_600_000;
/// The name of the retention purge's lease.
const RETENTION_PURGE_JOB: &str = "retention_purge";
/// The longest lease on the purge, in seconds: a year.
const MAX_PURGE_LEASE_SECONDS: u64 = 366 * 24 * 3600;
/// How often the database is probed (PostgreSQL), whether it is up or down.
const PROBE_INTERVAL: Duration = Duration::from_millis(250);

/// The background tasks; dropping this stops them.
#[derive(Debug)]
pub struct BackgroundTasks {
    _tasks: Vec<CancelOnDrop>,
}

/// Starts every background task.
pub fn start(state: &AppState) -> BackgroundTasks {
    let mut tasks = vec![
        spawn(poll_invalidations(state.clone())),
        spawn(flush_usage_periodically(state.clone())),
        spawn(purge_periodically(state.clone())),
        spawn(refresh_signing_keys_periodically(state.clone())),
    ];
    if state.store.backend() == Backend::Postgres {
        tasks.push(spawn(listen_for_invalidations(state.clone())));
        tasks.push(spawn(probe_database(state.clone())));
    }
    BackgroundTasks { _tasks: tasks }
}

fn spawn(future: impl std::future::Future<Output = ()> + Send + 'static) -> CancelOnDrop {
    CancelOnDrop(tokio::spawn(future))
}

/// Writes pending `last_used_at` values; on failure they are kept for the next try.
pub async fn flush_usage(state: &AppState) {
    let usage = state.credentials.take_usage();
    if usage.is_empty() {
        return;
    }
    if let Err(error) = state.store.record_key_usage(&usage).await {
        state
            .metrics
            .background_storage_error(BackgroundOperation::UsageFlush);
        tracing::warn!(%error, "could not record API key usage; will retry");
        state.credentials.requeue_usage(usage);
    }
}

/// Gives back to the database the credits this server leased and did not spend: of the keys
/// not spent from since `idle_since`, or of every key when `None` (listing keys, stopping).
/// Credits whose return fails are dropped, not kept to try again: if the failed write did
/// commit, they would be counted twice. A key's credits are under-spent, never over-spent.
pub async fn return_credits(state: &AppState, idle_since: Option<time::OffsetDateTime>) {
    let unspent = state.credits.take_unspent(idle_since);
    if unspent.is_empty() {
        return;
    }
    if let Err(error) = state.store.return_credits(&unspent).await {
        state
            .metrics
            .background_storage_error(BackgroundOperation::CreditReturn);
        let credits: i64 = unspent.iter().map(|u| u.credits).sum();
        tracing::warn!(%error, credits, "could not give unspent API key credits back; they are lost");
    }
}

async fn flush_usage_periodically(state: AppState) {
    let interval = Duration::from_secs(state.config.cache.last_used_flush);
    let mut every = tokio::time::interval(interval);
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let idle = time::Duration::try_from(interval).unwrap_or(time::Duration::SECOND);
    loop {
        every.tick().await;
        flush_usage(&state).await;
        return_credits(&state, Some(state.clock.now() - idle)).await;
    }
}

/// Runs one retention purge now: deletes what the configured policy lets go at the clock's
/// current time.
pub async fn purge_expired(state: &AppState) -> StoreResult<PurgeReport> {
    let policy = state.config.retention_policy();
    purge(
        &state.store,
        &policy,
        PurgeLimits::default(),
        state.clock.now(),
    )
    .await
}

async fn purge_periodically(state: AppState) {
    let mut every = tokio::time::interval(Duration::from_secs(state.config.retention.interval));
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        every.tick().await;
        if !holds_purge_lease(&state).await {
            continue;
        }
        match purge_expired(&state).await {
            Ok(report) => {
                for (kind, deleted) in &report.deleted {
                    tracing::info!(what = kind.as_str(), deleted, "retention purge");
                }
            }
            Err(error) => {
                state
                    .metrics
                    .background_storage_error(BackgroundOperation::RetentionPurge);
                tracing::warn!(%error, "retention purge failed; will retry");
            }
        }
        match crate::signing::purge_retired_signing_keys(&state).await {
            Ok(purged) if !purged.is_empty() => {
                tracing::info!(kids = ?purged, "retention purge of retired signing keys");
            }
            Ok(_) => {}
            Err(error) => {
                state
                    .metrics
                    .background_storage_error(BackgroundOperation::RetentionPurge);
                tracing::warn!(%error, "purge of retired signing keys failed; will retry");
            }
        }
    }
}

/// Whether this replica holds (taking or renewing it) the retention purge's lease, for two
/// purge intervals from now. A failure to ask is logged and counted, and skips this purge.
async fn holds_purge_lease(state: &AppState) -> bool {
    // At most a year, so that the lease's end stays a representable time.
    let interval = state
        .config
        .retention
        .interval
        .min(MAX_PURGE_LEASE_SECONDS / 2);
    let lease = time::Duration::seconds(i64::try_from(interval * 2).unwrap_or(i64::MAX));
    match state
        .store
        .claim_job_lease(
            RETENTION_PURGE_JOB,
            &state.replica_id,
            state.clock.now(),
            lease,
        )
        .await
    {
        Ok(held) => {
            if !held {
                tracing::debug!("another replica holds the retention purge");
            }
            held
        }
        Err(error) => {
            state
                .metrics
                .background_storage_error(BackgroundOperation::RetentionPurge);
            tracing::warn!(%error, "could not take the retention purge's lease; will retry");
            false
        }
    }
}

/// Reloads the signing keys, rotating and retiring on schedule. A failure keeps the keys
/// loaded before; the next refresh tries again.
async fn refresh_signing_keys_periodically(state: AppState) {
    let mut every =
        tokio::time::interval(Duration::from_secs(state.config.signing.refresh_interval));
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    // The first tick is at once, and the start-up has just loaded the keys.
    every.tick().await;
    loop {
        every.tick().await;
        if let Err(error) = crate::signing::refresh_signing_keys(&state).await {
            tracing::warn!(%error, "could not refresh the signing keys; will retry");
        }
    }
}

async fn poll_invalidations(state: AppState) {
    let mut every = tokio::time::interval(Duration::from_millis(
        state.config.cache.invalidation_poll_ms,
    ));
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut since: Option<i64> = None;
    let mut polls: u64 = 0;
    loop {
        every.tick().await;
        let from = since.map_or(0, |s| s - POLL_OVERLAP_MILLIS);
        match state.store.invalidations_since(from).await {
            Ok((found, db_now)) => {
                if since.is_some() {
                    state.store.invalidate_locally(&found);
                }
                state.invalidation_feed.read_at(state.clock.now());
                since = Some(db_now);
                polls += 1;
                if polls.is_multiple_of(240) {
                    if let Err(error) = state
                        .store
                        .prune_invalidations(db_now - KEEP_INVALIDATIONS_MILLIS)
                        .await
                    {
                        state
                            .metrics
                            .background_storage_error(BackgroundOperation::InvalidationPrune);
                        tracing::warn!(%error, "could not prune invalidations");
                    }
                }
            }
            Err(error) => {
                state
                    .metrics
                    .background_storage_error(BackgroundOperation::InvalidationPoll);
                // A database known to be down was logged once, when it went down.
                if !state.store.database_is_down() {
                    tracing::warn!(%error, "could not poll invalidations");
                }
            }
        }
    }
}

async fn listen_for_invalidations(state: AppState) {
    loop {
        match state.store.listen_invalidations().await {
            None => return,
            Some(Ok(mut listener)) => loop {
                match listener.next().await {
                    Ok(Some(invalidation)) => {
                        state.store.invalidate_locally(&[invalidation]);
                    }
                    Ok(None) => tracing::info!("invalidation listener reconnected"),
                    Err(error) => {
                        state
                            .metrics
                            .background_storage_error(BackgroundOperation::InvalidationListen);
                        tracing::warn!(%error, "invalidation listener failed");
                        break;
                    }
                }
            },
            Some(Err(error)) => {
                state
                    .metrics
                    .background_storage_error(BackgroundOperation::InvalidationListen);
                tracing::warn!(%error, "could not LISTEN for invalidations");
            }
        }
        // Anything announced while disconnected is caught by the poller.
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}

/// Probes the database every [`PROBE_INTERVAL`], and at once when a request saw it fail: the
/// store then refuses requests at once while it is down, and lets them through again as soon as
/// a probe is answered.
async fn probe_database(state: AppState) {
    loop {
        state.store.probe_database().await;
        tokio::select! {
            () = tokio::time::sleep(PROBE_INTERVAL) => {}
            () = state.store.probe_wanted() => {}
        }
    }
}

/// A task that is aborted when dropped.
#[derive(Debug)]
struct CancelOnDrop(JoinHandle<()>);

impl Drop for CancelOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}
