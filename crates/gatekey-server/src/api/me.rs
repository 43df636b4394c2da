//! `GET /api/v1/me`: who the credential acts as.

use axum::response::{IntoResponse, Response};
use axum::Json;
use gatekey_proto::api::MeResponse;
use gatekey_proto::ErrorBody;

use super::views::{account_view, credential_view, user_view};
use crate::auth::Caller;
use crate::error::ApiError;
use gatekey_core::audit::CredentialRef;

/// Shows the caller's user, account, credential and effective scopes. Needs no scope: any
/// valid credential may ask who it is, except an OAuth access token with identity scopes only
/// (`openid`, …), which opens no REST route: it asks UserInfo, which answers only the claims its
/// scopes allow, where this would show the email and name regardless.
#[utoipa::path(
    get,
    path = "/api/v1/me",
    tag = "me",
    responses(
        (status = 200, description = "The caller", body = MeResponse),
        (status = 403, description = "An OAuth access token with identity scopes only", body = ErrorBody),
    )
)]
pub async fn show_me(caller: Caller) -> Response {
    let p = &caller.principal;
    let scopes = p.effective_scopes();
    if matches!(p.credential, CredentialRef::OAuth { .. })
        && !scopes.identity_only().is_empty()
        && scopes.without_identity().is_empty()
    {
        return ApiError::insufficient_scope("read").into_response();
    }
    Json(MeResponse {
        user: user_view(&p.user),
        account: account_view(&p.account),
        role: p.role.as_str().to_owned(),
        credential: credential_view(&p.credential, p.expires_at),
        scopes: scopes.names().into_iter().map(str::to_owned).collect(),
    })
    .into_response()
}
