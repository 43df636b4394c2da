//! `/auth/verify`: whether the request a proxy holds may go on to the upstream, and as whom.
//!
//! The credential is the original request's `Authorization: Bearer` header (an API key or an
//! OAuth access token, opaque or JWT), checked exactly as the REST API checks it, from the same
//! cache; the request is metered as an API call is (the key's own limits, the account's rate
//! limit, and the key's credits at the cost the route rule gives). Gatekey answers with honest
//! statuses (401, 403, 429, 503, 400); docs/gateway.md shows how each proxy passes them on.

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use gatekey_core::audit::{AuditAction, AuditEntry, CredentialRef};
use gatekey_core::gateway::route_rules::{RouteAccess, RouteDecision};
use gatekey_core::principal::Principal;
use gatekey_core::scope::ScopeSet;
use gatekey_core::store::AuditStore;

use super::identity_headers::{insert_identity, insert_key_meta};
use super::original_request::OriginalRequest;
use crate::auth::caller::{audit_refusal, bearer_token, check_bearer};
use crate::auth::client::client_ip;
use crate::auth::{Caller, ClientInfo};
use crate::error::ApiError;
use crate::metering::admit;
use crate::metering::policy::KeyPolicy;
use crate::metrics::BackgroundOperation;
use crate::state::AppState;

/// Longest `Authorization` header read, in bytes: several times a JWT access token's size.
const MAX_AUTHORIZATION_LEN: usize = 4096;

/// Answers a proxy's question about one request: 200 with the identity headers and the rate
/// limit headers, or the refusal the client should get.
pub async fn verify_request(State(state): State<AppState>, request: Request) -> Response {
    let (parts, _) = request.into_parts();
    let original = match OriginalRequest::of(&parts.method, &parts.uri, &parts.headers) {
        Ok(original) => original,
        Err(error) => return error.into_response(),
    };
    let decision = state
        .gateway_routes
        .decide(original.method.as_str(), &original.path);
    let required = match decision.access {
        RouteAccess::Public => return allowed(HeaderMap::new()),
        RouteAccess::Denied => {
            return ApiError::forbidden("no gateway route rule allows this request").into_response()
        }
        RouteAccess::Authenticated(scopes) => scopes,
    };
    let client_ip = client_ip(&parts, &state.config.http);
    let (principal, policy) = match authenticate(&state, &parts.headers, client_ip).await {
        Ok(authenticated) => authenticated,
        Err(error) => return error.into_response(),
    };
    let admission = match admit(&state, &principal, policy.as_deref(), decision.cost).await {
        Ok(admission) => admission,
        Err(error) => return error.into_response(),
    };
    let mut response = if let Some(refusal) = admission.refusal(state.clock.now()) {
        refusal.into_response()
    } else {
        match check_scopes(&principal, required) {
            Ok(effective) => {
                let mut identity = HeaderMap::with_capacity(13);
                insert_identity(&mut identity, &principal, &effective);
                if let (Some(name), Some(policy)) = (&state.gateway_meta_header, &policy) {
                    insert_key_meta(&mut identity, name, policy);
                }
                sample_audit(&state, &principal, &parts, &original, &decision);
                allowed(identity)
            }
            Err((error, code)) => {
                let caller = Caller {
                    principal,
                    client: ClientInfo::of(&parts, &state.config.http),
                };
                let route = decision.pattern.unwrap_or("(unmatched)");
                audit_refusal(&state, &caller, &original.method, route, code).await;
                error.into_response()
            }
        }
    };
    admission.rate.insert_headers(response.headers_mut());
    response
}

/// The credential of the `Authorization` header, checked, with the meta, limits and credits
/// of an API key that has any; no header is a 401 with a Bearer challenge (RFC 6750 §3.1), two
/// are a 400.
async fn authenticate(
    state: &AppState,
    headers: &HeaderMap,
    client_ip: Option<std::net::IpAddr>,
) -> Result<(Arc<Principal>, Option<Arc<KeyPolicy>>), ApiError> {
    let mut values = headers.get_all(header::AUTHORIZATION).iter();
    let Some(authorization) = values.next() else {
        return Err(ApiError::missing_credential());
    };
    if values.next().is_some() {
        return Err(ApiError::invalid_auth_request(
            "the Authorization header is given more than once",
        ));
    }
    if authorization.len() > MAX_AUTHORIZATION_LEN {
        return Err(ApiError::invalid_auth_request(
            "the Authorization header is too long",
        ));
    }
    let presented = bearer_token(authorization)?;
    let entry = check_bearer(state, presented, client_ip).await?;
    Ok((entry.principal.clone(), entry.policy.clone()))
}

/// The caller's effective scopes when they hold every one of `required`; otherwise the refusal
/// and its audit code. Like [`Caller::require`]: `forbidden` when the credential has the
/// scope but the role does not, `insufficient_scope` when the credential lacks it. An OAuth
/// token holding only OpenID Connect identity scopes opens no route, as in the REST API.
fn check_scopes(
    principal: &Principal,
    required: &ScopeSet,
) -> Result<ScopeSet, (ApiError, &'static str)> {
    let effective = principal.effective_scopes();
    if let Some(missing) = required.first_missing_from(&effective) {
        return Err(if principal.credential_scopes.contains_name(missing) {
            (
                ApiError::forbidden(format!(
                    "your role ({}) does not allow this",
                    principal.role
                )),
                "forbidden",
            )
        } else {
            (ApiError::insufficient_scope(missing), "insufficient_scope")
        });
    }
    if matches!(principal.credential, CredentialRef::OAuth { .. })
        && effective.without_identity().is_empty()
    {
        return Err((
            ApiError::forbidden(
                "this token holds only OpenID Connect identity scopes, which open no API route",
            ),
            "forbidden",
        ));
    }
    Ok(effective)
}

/// 200 with `headers`, an empty body, and nothing any cache may keep: the next request with
/// the same credential must be asked about again, or a revocation would not be seen.
fn allowed(mut headers: HeaderMap) -> Response {
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    (StatusCode::OK, headers).into_response()
}

/// Writes a `gateway.request_allowed` event for the configured fraction of allowed calls, in
/// the background: the proxy's answer does not wait for the audit log. The detail is the
/// method and the rule's path pattern, never the path the client sent.
fn sample_audit(
    state: &AppState,
    principal: &Principal,
    parts: &axum::http::request::Parts,
    original: &OriginalRequest,
    decision: &RouteDecision<'_>,
) {
    let rate = state.config.gateway.audit_sample_rate.get();
    if rate <= 0.0 || rand::random::<f64>() >= rate {
        return;
    }
    let client = ClientInfo::of(parts, &state.config.http);
    let actor = principal.actor(client.ip, client.user_agent);
    let method = if crate::auth::caller::is_standard(&original.method) {
        original.method.as_str()
    } else {
        "OTHER"
    };
    let route = decision.pattern.unwrap_or("(unmatched)");
    let entry = AuditEntry::new(
        state.clock.now(),
        &actor,
        AuditAction::GatewayRequestAllowed,
        "request",
    )
    .in_account(principal.account.id)
    .detail(format!("{method} {route}"));
    let state = state.clone();
    tokio::spawn(async move {
        if let Err(error) = state.store.record_audit(entry).await {
            state
                .metrics
                .background_storage_error(BackgroundOperation::GatewayAudit);
            tracing::warn!(%error, "could not record a verified gateway request in the audit log");
        }
    });
}
