//! Operations endpoints: `/healthz` (the process answers), `/readyz` (the database answers
//! and the invalidation feed is current), `/metrics` (Prometheus).

use std::time::Duration;

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;

use crate::metrics::{CacheName, Snapshot, StorageFailure};
use crate::state::AppState;

/// How long `/readyz` waits for the database.
const PING_TIMEOUT: Duration = Duration::from_secs(2);

/// The probes: `/healthz` and `/readyz`. They tell nothing but up and ready, and load
/// balancers often probe the port they send traffic to, so every listener serves them.
pub fn probes() -> Router<AppState> {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
}

/// `/metrics`: on the operations listener when there is one, else on the main one.
pub fn metrics_route() -> Router<AppState> {
    Router::new().route("/metrics", get(metrics))
}

async fn healthz() -> &'static str {
    "ok\n"
}

/// Ready when the database is not known to be down (PostgreSQL's probe, see
/// `gatekey_store::database_health`), answers `SELECT 1` within [`PING_TIMEOUT`], and the invalidation
/// feed was read within its bound: a server that cannot hear of revocations should not be sent
/// requests, even while its database answers.
async fn readyz(State(state): State<AppState>) -> Response {
    let unready = |reason: String| (StatusCode::SERVICE_UNAVAILABLE, reason).into_response();
    if state.store.database_is_down() {
        let mut response = unready("database unavailable\n".to_owned());
        response.extensions_mut().insert(StorageFailure);
        return response;
    }
    let ping = tokio::time::timeout(PING_TIMEOUT, state.store.ping()).await;
    if let Some(error) = match ping {
        Ok(Ok(())) => None,
        Ok(Err(error)) => Some(error.to_string()),
        Err(_) => Some(format!("no answer within {PING_TIMEOUT:?}")),
    } {
        tracing::warn!(%error, "readiness check failed");
        let mut response = unready("database unavailable\n".to_owned());
        response.extensions_mut().insert(StorageFailure);
        return response;
    }
    let age = state.invalidation_feed.age(state.clock.now());
    let bound = state
        .config
        .operations
        .invalidation_feed_max_age(&state.config.cache);
    if age > bound {
        let seconds = age.whole_seconds();
        tracing::warn!(
            seconds,
            "readiness check failed: the invalidation feed is stale"
        );
        return unready(format!(
            "invalidation feed stale: last read {seconds} s ago\n"
        ));
    }
    (StatusCode::OK, "ready\n").into_response()
}

async fn metrics(State(state): State<AppState>) -> Response {
    state.metrics.observe(&snapshot(&state));
    (
        [(
            header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        state.metrics.render(),
    )
        .into_response()
}

/// The states `/metrics` reports as they are now.
fn snapshot(state: &AppState) -> Snapshot {
    let feed_age = state.invalidation_feed.age(state.clock.now());
    Snapshot {
        invalidation_feed_age: feed_age.unsigned_abs(),
        cache_entries: [
            (CacheName::Credentials, state.credentials.entry_count()),
            (CacheName::Applications, state.applications.entry_count()),
            (
                CacheName::ServiceAccounts,
                state.service_accounts.entry_count(),
            ),
        ],
    }
}
