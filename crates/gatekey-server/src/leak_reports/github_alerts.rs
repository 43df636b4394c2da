//! `POST /leak_reports/github`: GitHub's secret scanning partner program reports secrets it
//! found, `[{"token", "type", "url", "source"}]`, signed by one of the keys the operator
//! configured ([`super::github_signature`]). Each live gatekey credential among them is revoked
//! ([`gatekey_core::leak_report`]), and the answer gives GitHub its feedback per secret:
//! `true_positive` for a credential revoked now, `false_positive` for everything else, so a
//! secret that never existed and one already dead look alike. Secrets are named in the answer
//! by their SHA-256 (`token_hash`), never echoed.
//!
//! The signature is checked on the raw body before it is parsed; then the whole report is
//! checked (more than [`MAX_SECRETS_PER_REPORT`] entries: 413; past the minute's reports:
//! 429) before anything is revoked. A
//! storage failure on any entry is 503 with no feedback, never a partial answer.
//!
//! [`MAX_SECRETS_PER_REPORT`]: gatekey_core::leak_report::MAX_SECRETS_PER_REPORT

use std::fmt::Write;

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use axum::Extension;
use gatekey_core::leak_report::{revoke_leaked_secret, LeakOutcome, LeakReport};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::batch::BoundedBatch;
use super::github_signature::SignatureHeaders;
use super::report_limit::ReportLimit;
use super::{body_rejection, too_many_secrets};
use crate::error::ApiError;
use crate::json::Json;
use crate::state::AppState;

/// One match GitHub reports. Fields GitHub may add later are ignored.
#[derive(Deserialize)]
struct GithubAlert {
    /// The secret in clear.
    token: String,
    /// The pattern's name in GitHub's program, handed back in the feedback.
    #[serde(rename = "type", default)]
    token_type: String,
    /// Where it was found.
    #[serde(default)]
    url: String,
    /// What kind of place (`content`, `commit`, `issue_comment`, …).
    #[serde(default)]
    source: String,
}

/// The feedback on one reported secret.
#[derive(Serialize)]
struct AlertFeedback {
    token_hash: String,
    token_type: String,
    label: &'static str,
}

/// Verifies, then revokes the live credentials among the reported secrets.
pub async fn receive_github_alerts(
    State(state): State<AppState>,
    Extension(limit): Extension<ReportLimit>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    match revoke_all(&state, &limit, &headers, body).await {
        Ok(feedback) => Json(feedback).into_response(),
        Err(refused) => refused,
    }
}

async fn revoke_all(
    state: &AppState,
    limit: &ReportLimit,
    headers: &HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Vec<AlertFeedback>, Response> {
    let signature = SignatureHeaders::from_headers(headers).map_err(refusal)?;
    let body = body.map_err(body_rejection).map_err(refusal)?;
    signature
        .verify(&state.config.leak_reports, &body)
        .map_err(refusal)?;
    limit
        .take(state.clock.now())
        .map_err(IntoResponse::into_response)?;
    revoke_verified(state, &body).await.map_err(refusal)
}

fn refusal(error: impl Into<ApiError>) -> Response {
    error.into().into_response()
}

async fn revoke_verified(state: &AppState, body: &[u8]) -> Result<Vec<AlertFeedback>, ApiError> {
    let batch: BoundedBatch<GithubAlert> = serde_json::from_slice(body).map_err(|e| {
        ApiError::bad_request(format!(
            "the body must be a JSON array of {{\"token\", \"type\", \"url\", \"source\"}}: {e}"
        ))
    })?;
    if batch.overflowed {
        return Err(too_many_secrets());
    }
    let now = state.clock.now();
    let mut feedback = Vec::with_capacity(batch.entries.len());
    for alert in &batch.entries {
        let location = if alert.url.is_empty() {
            &alert.source
        } else {
            &alert.url
        };
        let report = LeakReport {
            secret: &alert.token,
            location,
            reporter: "github",
        };
        let label = match revoke_leaked_secret(&state.store, &report, now).await? {
            LeakOutcome::Revoked => "true_positive",
            LeakOutcome::NotLive => "false_positive",
        };
        feedback.push(AlertFeedback {
            token_hash: sha256_hex(&alert.token),
            token_type: alert.token_type.clone(),
            label,
        });
    }
    Ok(feedback)
}

/// The lowercase hex SHA-256 of `token`, as GitHub's feedback format names a secret.
fn sha256_hex(token: &str) -> String {
    let digest = Sha256::digest(token.as_bytes());
    let mut hex = String::with_capacity(64);
    for byte in digest {
        // Writing to a String cannot fail.
        let _ = write!(hex, "{byte:02x}");
    }
    hex
}
