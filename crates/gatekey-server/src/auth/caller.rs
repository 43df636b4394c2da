//! The API's authentication middleware and the [`Caller`] handlers receive.

use std::sync::Arc;

use axum::extract::{FromRequestParts, MatchedPath, Request, State};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use gatekey_core::audit::{AuditAction, AuditEntry};
use gatekey_core::principal::Principal;
use gatekey_core::scope::Scope;
use gatekey_core::secret::SecretKind;
use subtle::ConstantTimeEq;

use super::access_token::{check_access_token, check_jwt_access_token};
use super::api_key::check_api_key;
use super::cache::CredentialSource;
use super::client::client_ip;
use super::session::{current_session, password_change_pending};
use super::ClientInfo;
use crate::error::ApiError;
use crate::metering::admit;
use crate::metering::policy::KeyPolicy;
use crate::metrics::BackgroundOperation;
use crate::state::AppState;
use gatekey_core::oauth::jwt_access_token::looks_like_jwt;
use gatekey_core::store::AuditStore;

/// The header a cookie-authenticated caller echoes its CSRF token in.
pub const CSRF_HEADER: &str = "x-csrf-token";

/// Query parameters that would carry a credential; refused, because URLs end up in logs,
/// browser history and `Referer` headers (RFC 6750 §5.3, RFC 9700 §4.3.2).
const CREDENTIAL_QUERY_PARAMS: &[&str] = &["access_token", "api_key", "apikey", "token", "key"];

/// The authenticated caller of an API request.
#[derive(Debug, Clone)]
pub struct Caller {
    /// Who, where, with what.
    pub principal: Arc<Principal>,
    /// Where the request came from.
    pub client: ClientInfo,
}

impl Caller {
    /// Fails with 403 `insufficient_scope` unless the caller may exercise `scope`. When the
    /// credential has the scope but the user's role does not, the answer is 403 `forbidden`,
    /// since no other credential of that user would do better.
    pub fn require(&self, scope: Scope) -> Result<(), ApiError> {
        if self.principal.may(scope) {
            Ok(())
        } else if self.principal.credential_scopes.contains(scope) {
            Err(ApiError::forbidden(format!(
                "your role ({}) does not allow this",
                self.principal.role
            )))
        } else {
            Err(ApiError::insufficient_scope(scope.as_str()))
        }
    }

    /// Fails unless the credential itself carries `scope`, whatever the role: for actions on
    /// one's own credentials, which every role may take.
    pub fn require_credential_scope(&self, scope: Scope) -> Result<(), ApiError> {
        if self.principal.credential_scopes.contains(scope) {
            Ok(())
        } else {
            Err(ApiError::insufficient_scope(scope.as_str()))
        }
    }

    /// Fails with 403 `forbidden` unless the credential is first-party (an API key or a web
    /// session; see [`Principal::is_first_party`]). Every handler that creates, lists, rotates
    /// or revokes a credential calls this once, before anything else.
    pub fn require_first_party(&self) -> Result<(), ApiError> {
        if self.principal.is_first_party() {
            Ok(())
        } else {
            Err(ApiError::forbidden(
                "credentials are managed only with an API key or a web session, never with an OAuth access token",
            ))
        }
    }

    /// The one check of a handler that manages credentials or members: first-party (403
    /// `forbidden` otherwise, checked first), then [`Caller::require`] for `scope`.
    pub fn require_first_party_with(&self, scope: Scope) -> Result<(), ApiError> {
        self.require_first_party()?;
        self.require(scope)
    }

    /// Like [`Caller::require_first_party_with`], but checks the credential's own scopes
    /// ([`Caller::require_credential_scope`]): for actions on one's own credentials.
    pub fn require_first_party_credential(&self, scope: Scope) -> Result<(), ApiError> {
        self.require_first_party()?;
        self.require_credential_scope(scope)
    }

    /// The actor to record in audit events.
    pub fn actor(&self) -> gatekey_core::audit::Actor {
        self.principal
            .actor(self.client.ip.clone(), self.client.user_agent.clone())
    }
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &AppState) -> Result<Self, Self::Rejection> {
        parts
            .extensions
            .get::<Caller>()
            .cloned()
            .ok_or_else(ApiError::missing_credential)
    }
}

/// The meta, limits and credits of the API key a request authenticated with, when it has
/// any, in the request's extensions for the handlers that ask (a metered key creates keys
/// only for an administrator).
#[derive(Debug, Clone)]
pub struct CallerKeyPolicy(pub Arc<KeyPolicy>);

/// Authenticates every request under `/api`, meters it (the key's own limits, the account's
/// rate limit, the key's credits: [`crate::metering`]), and hands the [`Caller`] to the
/// handler. Adds the `X-Ratelimit-*` headers to the response.
pub async fn require_caller(
    State(state): State<AppState>,
    mut request: Request,
    next: Next,
) -> Response {
    let (parts, body) = request.into_parts();
    let (caller, policy) = match authenticate(&state, &parts).await {
        Ok(authenticated) => authenticated,
        Err(error) => return error.into_response(),
    };
    let admission = match admit(&state, &caller.principal, policy.as_deref(), 1).await {
        Ok(admission) => admission,
        Err(error) => return error.into_response(),
    };
    // Kept for the refusal audit; a matched path is a shared string, so this copies nothing.
    let route = parts.extensions.get::<MatchedPath>().cloned();
    let method = parts.method.clone();
    request = Request::from_parts(parts, body);
    let mut response = match admission.refusal(state.clock.now()) {
        Some(refusal) => refusal.into_response(),
        None => {
            request.extensions_mut().insert(caller.clone());
            if let Some(policy) = policy {
                request.extensions_mut().insert(CallerKeyPolicy(policy));
            }
            next.run(request).await
        }
    };
    if response.status() == StatusCode::FORBIDDEN {
        let code = match response.headers().get(header::WWW_AUTHENTICATE) {
            Some(challenge)
                if challenge
                    .as_bytes()
                    .windows(18)
                    .any(|w| w == b"insufficient_scope") =>
            {
                "insufficient_scope"
            }
            _ => "forbidden",
        };
        let route = route.as_ref().map_or("(unmatched)", MatchedPath::as_str);
        audit_refusal(&state, &caller, &method, route, code).await;
    }
    // API answers are per caller and may carry secrets (a new key): no cache may keep them.
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    admission.rate.insert_headers(response.headers_mut());
    response
}

/// Records that `caller` was refused (403, `code`) on `method route`, at most once per caller per
/// minute (see [`super::refusals`]). The detail names only the method, the route template and
/// the error code, never anything the caller sent. A storage failure is logged, not answered:
/// the caller already has their answer.
pub(crate) async fn audit_refusal(
    state: &AppState,
    caller: &Caller,
    method: &Method,
    route: &str,
    code: &str,
) {
    let p = &caller.principal;
    let now = state.clock.now();
    let Some(earlier) = state.refusals.record((p.account.id, p.user.id), now) else {
        return;
    };
    let method = if is_standard(method) {
        method.as_str()
    } else {
        "OTHER"
    };
    let mut detail = format!("{method} {route}: 403 {code}");
    if earlier > 0 {
        detail.push_str(&format!(
            "; {earlier} more refusals of this caller in the minute before were not recorded one by one"
        ));
    }
    let entry = AuditEntry::new(now, &caller.actor(), AuditAction::AccessRefused, "request")
        .in_account(p.account.id)
        .detail(detail)
        .failed();
    if let Err(error) = state.store.record_audit(entry).await {
        state
            .metrics
            .background_storage_error(BackgroundOperation::RefusalAudit);
        tracing::warn!(%error, "could not record a refused request in the audit log");
    }
}

pub(crate) fn is_standard(method: &Method) -> bool {
    matches!(
        *method,
        Method::GET
            | Method::HEAD
            | Method::POST
            | Method::PUT
            | Method::PATCH
            | Method::DELETE
            | Method::OPTIONS
    )
}

/// Refuses a request whose URL query carries a credential (400 `invalid_request` with a Bearer
/// challenge).
pub(crate) fn refuse_credential_in_query(parts: &Parts) -> Result<(), ApiError> {
    let Some(query) = parts.uri.query() else {
        return Ok(());
    };
    let carries_credential = query
        .split('&')
        .filter_map(|pair| pair.split('=').next())
        .any(|name| {
            CREDENTIAL_QUERY_PARAMS
                .iter()
                .any(|p| p.eq_ignore_ascii_case(name))
        });
    if carries_credential {
        return Err(ApiError::invalid_auth_request(
            "credentials are not accepted in the URL; use the Authorization header",
        ));
    }
    Ok(())
}

/// Checks a presented Bearer credential, whatever its kind: an opaque or JWT OAuth access
/// token, or an API key. Every Bearer check goes through here, so a new kind of token is accepted everywhere at
/// once.
/// `client_ip` is where the request came from, recorded as an API key's last use.
pub(crate) async fn check_bearer(
    state: &AppState,
    presented: &str,
    client_ip: Option<std::net::IpAddr>,
) -> Result<Arc<super::cache::CachedKey>, ApiError> {
    let entry = match SecretKind::of(presented) {
        Some(SecretKind::AccessToken) => check_access_token(state, presented).await?,
        None if looks_like_jwt(presented) => {
            check_jwt_access_token(state, presented, Some(&state.issuer)).await?
        }
        _ => check_api_key(state, presented, client_ip).await?,
    };
    // RFC 8707: a token issued for named resource servers is theirs alone, unless gatekey's
    // own issuer is among them. Checked on every use, cache hits included.
    if let CredentialSource::AccessToken { audience, .. } = &entry.source {
        if !audience.is_empty() && !audience.iter().any(|aud| *aud == state.issuer) {
            return Err(ApiError::invalid_token(
                "the token is meant for another resource server",
            ));
        }
    }
    Ok(entry)
}

/// The caller of a request, and the meta, limits and credits of the API key it
/// authenticated with when it has any.
pub(crate) async fn authenticate(
    state: &AppState,
    parts: &Parts,
) -> Result<(Caller, Option<Arc<KeyPolicy>>), ApiError> {
    refuse_credential_in_query(parts)?;
    let ip = client_ip(parts, &state.config.http);
    let client = ClientInfo::at(parts, ip);
    if let Some(authorization) = parts.headers.get(header::AUTHORIZATION) {
        let presented = bearer_token(authorization)?;
        let entry = check_bearer(state, presented, ip).await?;
        let caller = Caller {
            principal: entry.principal.clone(),
            client,
        };
        return Ok((caller, entry.policy.clone()));
    }
    match current_session(state, &parts.headers).await? {
        Some(web) => {
            if !is_safe(&parts.method) && !csrf_matches(&parts.headers, &web.session.csrf_token) {
                return Err(ApiError::forbidden(
                    "a cookie-authenticated change needs the X-CSRF-Token header",
                ));
            }
            let caller = Caller {
                principal: Arc::new(web.principal),
                client,
            };
            Ok((caller, None))
        }
        None if password_change_pending(state, &parts.headers).await? => Err(ApiError::forbidden(
            "this session must change its password first: open /password in the browser",
        )),
        None => Err(ApiError::missing_credential()),
    }
}

/// The token of an `Authorization: Bearer …` header (scheme case-insensitive, RFC 6750 §2.1).
pub(crate) fn bearer_token(value: &HeaderValue) -> Result<&str, ApiError> {
    let text = value
        .to_str()
        .map_err(|_| ApiError::invalid_auth_request("the Authorization header is not ASCII"))?;
    let (scheme, token) = text.split_once(' ').unwrap_or((text, ""));
    if !scheme.eq_ignore_ascii_case("bearer") {
        return Err(ApiError::missing_credential());
    }
    let token = token.trim();
    if token.is_empty() || token.contains(' ') {
        return Err(ApiError::invalid_auth_request(
            "the Bearer credential is malformed",
        ));
    }
    Ok(token)
}

fn is_safe(method: &Method) -> bool {
    matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS)
}

fn csrf_matches(headers: &HeaderMap, expected: &str) -> bool {
    headers
        .get(CSRF_HEADER)
        .map(|given| bool::from(given.as_bytes().ct_eq(expected.as_bytes())))
        .unwrap_or(false)
}
