//! `GET /leak_reports/gitlab/v1/revocable_token_types`: the `type` values GitLab may send to
//! [`super::revoke_tokens`], one per kind of gatekey secret a scanner may find.

use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use gatekey_core::leak_report::REPORTABLE_KINDS;
use gatekey_core::secret::SecretKind;
use serde::Serialize;

use super::gitlab_auth::require_gitlab_token;
use crate::json::Json;
use crate::state::AppState;

/// The `type` GitLab names a secret kind with: its secret detection rule's identifier
/// (`gitleaks_rule_id_` + the rule id an operator gives the pattern in docs/security.md).
pub fn gitlab_type_of(kind: SecretKind) -> Option<&'static str> {
    match kind {
        SecretKind::ApiKey => Some("gitleaks_rule_id_gatekey_api_key"),
        SecretKind::AccessToken => Some("gitleaks_rule_id_gatekey_access_token"),
        SecretKind::RefreshToken => Some("gitleaks_rule_id_gatekey_refresh_token"),
        SecretKind::ClientSecret => Some("gitleaks_rule_id_gatekey_client_secret"),
        _ => None,
    }
}

#[derive(Serialize)]
struct RevocableTokenTypes {
    types: Vec<&'static str>,
}

/// Lists the token types this server revokes.
pub async fn list_revocable_token_types(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Response {
    if let Err(refused) = require_gitlab_token(&state.config.leak_reports, &headers) {
        return refused.into_response();
    }
    let types = REPORTABLE_KINDS
        .into_iter()
        .filter_map(gitlab_type_of)
        .collect();
    Json(RevocableTokenTypes { types }).into_response()
}
