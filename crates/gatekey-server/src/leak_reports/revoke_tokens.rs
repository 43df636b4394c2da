//! `POST /leak_reports/gitlab/v1/revoke_tokens`: GitLab's secret detection reports secrets it
//! found, `[{"type", "token", "location"}]`, and each live gatekey credential among them is
//! revoked ([`gatekey_core::leak_report`]).
//!
//! The whole report is checked before anything is revoked: a malformed body or an unknown
//! `type` is 400, more than [`MAX_SECRETS_PER_REPORT`] entries 413, past the minute's reports
//! ([`ReportLimit`]) 429, and nothing is revoked.
//! Then every entry is handled in turn; 204 means every one of them was, and a storage failure
//! on any is 503, so GitLab sends the report again (revoking is idempotent: a secret revoked
//! the first time is no longer live the second).
//!
//! [`MAX_SECRETS_PER_REPORT`]: gatekey_core::leak_report::MAX_SECRETS_PER_REPORT

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Extension;
use gatekey_core::leak_report::{revoke_leaked_secret, LeakReport, REPORTABLE_KINDS};
use serde::Deserialize;

use super::batch::BoundedBatch;
use super::gitlab_auth::require_gitlab_token;
use super::report_limit::ReportLimit;
use super::revocable_token_types::gitlab_type_of;
use super::{body_rejection, too_many_secrets};
use crate::error::ApiError;
use crate::state::AppState;

/// One reported secret. Fields GitLab may add later are ignored.
#[derive(Deserialize)]
struct ReportedToken {
    /// One of the types of `revocable_token_types`.
    #[serde(rename = "type")]
    token_type: String,
    /// The secret in clear.
    token: String,
    /// Where it was found; optional, as an event without it is still worth writing.
    #[serde(default)]
    location: String,
}

/// Revokes the live credentials among the reported tokens.
pub async fn revoke_reported_tokens(
    State(state): State<AppState>,
    Extension(limit): Extension<ReportLimit>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    if let Err(refused) = require_gitlab_token(&state.config.leak_reports, &headers) {
        return refused.into_response();
    }
    if let Err(limited) = limit.take(state.clock.now()) {
        return limited.into_response();
    }
    match revoke_all(&state, body).await {
        Ok(()) => StatusCode::NO_CONTENT.into_response(),
        Err(error) => error.into_response(),
    }
}

async fn revoke_all(state: &AppState, body: Result<Bytes, BytesRejection>) -> Result<(), ApiError> {
    let body = body.map_err(body_rejection)?;
    let batch: BoundedBatch<ReportedToken> = serde_json::from_slice(&body).map_err(|e| {
        ApiError::bad_request(format!(
            "the body must be a JSON array of {{\"type\", \"token\", \"location\"}}: {e}"
        ))
    })?;
    if batch.overflowed {
        return Err(too_many_secrets());
    }
    let known = |name: &str| {
        REPORTABLE_KINDS
            .into_iter()
            .filter_map(gitlab_type_of)
            .any(|known| known == name)
    };
    if let Some(unknown) = batch.entries.iter().find(|entry| !known(&entry.token_type)) {
        return Err(ApiError::bad_request(format!(
            "unsupported token type {:?}; nothing was revoked",
            gatekey_core::audit::truncate_for_storage(&unknown.token_type, 64)
        )));
    }
    let now = state.clock.now();
    for entry in &batch.entries {
        // The secret's own prefix says what it is; the type only says which rule found it.
        let report = LeakReport {
            secret: &entry.token,
            location: &entry.location,
            reporter: "gitlab",
        };
        revoke_leaked_secret(&state.store, &report, now).await?;
    }
    Ok(())
}
