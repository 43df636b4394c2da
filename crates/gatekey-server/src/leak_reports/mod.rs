//! Endpoints secret scanners call to report gatekey secrets they found leaked; the rules of
//! what is revoked are in [`gatekey_core::leak_report`]. Each scanner's endpoints exist only
//! while `[leak_reports]` configures it: otherwise they answer 404 like any unknown path.

mod batch;
mod github_alerts;
mod github_signature;
mod gitlab_auth;
mod report_limit;
mod revocable_token_types;
mod revoke_tokens;

pub use report_limit::ReportLimit;

use axum::extract::rejection::BytesRejection;
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Extension, Router};
use gatekey_core::leak_report::MAX_SECRETS_PER_REPORT;

use crate::config::LeakReportsConfig;
use crate::error::ApiError;
use crate::state::AppState;

/// Where GitLab's token revocation API is served; GitLab is configured with the two URLs below
/// it.
pub const GITLAB_BASE: &str = "/leak_reports/gitlab/v1";

/// Where GitHub's secret scanning partner program sends its alerts.
pub const GITHUB_ALERTS: &str = "/leak_reports/github";

/// The routes of the scanners `config` enables.
pub fn routes(config: &LeakReportsConfig) -> Router<AppState> {
    let mut router = Router::new();
    if config.gitlab_enabled() {
        router = router
            .route(
                &format!("{GITLAB_BASE}/revocable_token_types"),
                get(revocable_token_types::list_revocable_token_types),
            )
            .route(
                &format!("{GITLAB_BASE}/revoke_tokens"),
                post(revoke_tokens::revoke_reported_tokens),
            );
    }
    if config.github_enabled() {
        router = router.route(GITHUB_ALERTS, post(github_alerts::receive_github_alerts));
    }
    // One count for all the scanners' endpoints of this server.
    router.layer(Extension(ReportLimit::new(config.reports_per_minute)))
}

/// The answer to a body that could not be read: 413 past the body limit, 400 otherwise.
fn body_rejection(rejection: BytesRejection) -> ApiError {
    if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
        ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload_too_large",
            "the request body is too large",
        )
    } else {
        ApiError::bad_request(rejection.body_text())
    }
}

/// The answer to a report of more secrets than [`MAX_SECRETS_PER_REPORT`]: nothing of it was
/// revoked, and the scanner may send it again in smaller parts.
fn too_many_secrets() -> ApiError {
    ApiError::new(
        StatusCode::PAYLOAD_TOO_LARGE,
        "payload_too_large",
        format!(
            "at most {MAX_SECRETS_PER_REPORT} secrets per report; nothing was revoked, send \
             smaller batches"
        ),
    )
}
