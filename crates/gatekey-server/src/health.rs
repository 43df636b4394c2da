//! Operations endpoints: `/healthz` (the process answers), `/readyz` (the database answers),
//! `/metrics` (Prometheus).

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;

use crate::metrics::{CacheName, Snapshot, StorageFailure};
use crate::state::AppState;

/// The operations routes.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
}

async fn healthz() -> &'static str {
    "ok\n"
}

async fn readyz(State(state): State<AppState>) -> Response {
    match state.store.ping().await {
        Ok(()) => (StatusCode::OK, "ready\n").into_response(),
        Err(error) => {
            tracing::warn!(%error, "readiness check failed");
            let mut response =
                (StatusCode::SERVICE_UNAVAILABLE, "database unavailable\n").into_response();
            response.extensions_mut().insert(StorageFailure);
            response
        }
    }
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
