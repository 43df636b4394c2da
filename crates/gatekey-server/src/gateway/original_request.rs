//! Which request a proxy asks about: its method and path, from the headers each proxy sends.

use axum::http::{HeaderMap, HeaderName, Method, Uri};
use gatekey_core::gateway::original_path::OriginalPath;

use crate::error::ApiError;

/// The prefix of the endpoint; what follows it is Envoy's original path.
const VERIFY_PATH: &str = "/auth/verify";

/// Headers naming the original method: nginx's (set by its configuration), then Caddy's and
/// Traefik's.
const METHOD_HEADERS: [&str; 2] = ["x-original-method", "x-forwarded-method"];
/// Headers naming the original request-target, in the same order.
const URI_HEADERS: [&str; 2] = ["x-original-uri", "x-forwarded-uri"];

/// The original request: method as sent, and its checked path.
#[derive(Debug)]
pub struct OriginalRequest {
    /// The method, as the client sent it.
    pub method: Method,
    /// The path, decoded and checked.
    pub path: OriginalPath,
}

impl OriginalRequest {
    /// Reads the original request from the verify request: the method and URI headers (which
    /// must agree where a request carries more than one of them), else the verify request's own method and what follows `/auth/verify`
    /// in its path (Envoy's HTTP `ext_authz` replays the original method, with the original
    /// path after a configured prefix). A header given twice, a method that is no HTTP token, a
    /// URI that is missing or cannot be checked: 400 `invalid_request`.
    pub fn of(method: &Method, uri: &Uri, headers: &HeaderMap) -> Result<Self, ApiError> {
        let method = match first_of(headers, &METHOD_HEADERS, same_method)? {
            Some(value) => Method::from_bytes(value.as_bytes()).map_err(|_| {
                ApiError::bad_request("the original method header is not an HTTP method")
            })?,
            None => method.clone(),
        };
        let target = match first_of(headers, &URI_HEADERS, same_path)? {
            Some(value) => value,
            None => envoy_target(uri).ok_or_else(|| {
                ApiError::bad_request(
                    "the proxy sent no original URI: set X-Original-URI (nginx) or \
                     X-Forwarded-Uri, or put the original path after /auth/verify",
                )
            })?,
        };
        let path = OriginalPath::parse(target)
            .map_err(|error| ApiError::bad_request(error.to_string()))?;
        Ok(Self { method, path })
    }
}

/// The value of the first of `names` present, as text; `None` when none is. When several of
/// `names` are present they must agree (on the path, for a URI): each proxy sets one of them
/// and passes the client's other headers through (Caddy's and Traefik's forward-auth do by
/// default), so a client could otherwise send `X-Original-URI: /public` behind Caddy and have
/// gatekey judge a route other than the one the upstream serves. A client can only make its own
/// request fail this way.
fn first_of<'h>(
    headers: &'h HeaderMap,
    names: &[&'static str],
    same: fn(&str, &str) -> bool,
) -> Result<Option<&'h str>, ApiError> {
    let mut found: Option<&'h str> = None;
    for name in names {
        let Some(value) = single(headers, name)? else {
            continue;
        };
        match found {
            None => found = Some(value),
            Some(first) if same(first, value) => {}
            Some(_) => {
                return Err(ApiError::bad_request(format!(
                    "the {} headers disagree: {} says otherwise",
                    names.join(" and "),
                    name
                )))
            }
        }
    }
    Ok(found)
}

/// The one value of header `name`, as text.
fn single<'h>(headers: &'h HeaderMap, name: &'static str) -> Result<Option<&'h str>, ApiError> {
    let name = HeaderName::from_static(name);
    let mut values = headers.get_all(&name).iter();
    let Some(value) = values.next() else {
        return Ok(None);
    };
    if values.next().is_some() {
        return Err(ApiError::bad_request(format!(
            "the {name} header is given more than once"
        )));
    }
    value
        .to_str()
        .map(Some)
        .map_err(|_| ApiError::bad_request(format!("the {name} header is not ASCII")))
}

fn same_method(a: &str, b: &str) -> bool {
    a == b
}

/// Whether two request-targets name the same path; their queries may differ.
fn same_path(a: &str, b: &str) -> bool {
    fn path(uri: &str) -> &str {
        uri.split(['?', '#']).next().unwrap_or_default()
    }
    path(a) == path(b)
}

/// The original request-target carried after `/auth/verify` in the path, with its query.
fn envoy_target(uri: &Uri) -> Option<&str> {
    let target = uri.path_and_query()?.as_str().strip_prefix(VERIFY_PATH)?;
    target.starts_with('/').then_some(target)
}
