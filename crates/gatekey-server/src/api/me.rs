//! `GET /api/v1/me`: who the credential acts as.

use axum::response::{IntoResponse, Response};
use axum::Json;
use gatekey_proto::api::MeResponse;

use super::views::{account_view, credential_view, user_view};
use crate::auth::Caller;

/// Shows the caller's user, account, credential and effective scopes. Needs no scope: any
/// valid credential may ask who it is.
pub async fn show_me(caller: Caller) -> Response {
    let p = &caller.principal;
    Json(MeResponse {
        user: user_view(&p.user),
        account: account_view(&p.account),
        role: p.role.as_str().to_owned(),
        credential: credential_view(&p.credential, p.expires_at),
        scopes: p
            .effective_scopes()
            .names()
            .into_iter()
            .map(str::to_owned)
            .collect(),
    })
    .into_response()
}
