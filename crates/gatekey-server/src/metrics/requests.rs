//! Counting and timing every request, by route template, method and status; and counting
//! the storage failures answered, by route.

use std::sync::Arc;
use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::http::Method;
use axum::middleware::Next;
use axum::response::Response;
use prometheus_client::encoding::EncodeLabelSet;

use super::Metrics;

/// Labels of a request.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RequestLabels {
    /// The route template, such as `/api/v1/api_keys/{id}`; `unmatched` for 404s.
    pub route: String,
    /// The HTTP method, or `other` (see [`method_label`]).
    pub method: String,
    /// The response status.
    pub status: u16,
}

/// Labels of a latency observation.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RouteLabels {
    /// The route template.
    pub route: String,
    /// The HTTP method, or `other` (see [`method_label`]).
    pub method: String,
}

/// The mark a response carries when it answers a storage failure (a 503 from
/// [`crate::error::ErrorReply::storage_unavailable`] or a page's): [`track_requests`] counts
/// it under the request's route. Response extensions never reach the wire.
#[derive(Clone, Copy, Debug)]
pub struct StorageFailure;

/// The route label of a request no route matched: one label whatever the path, so made-up
/// paths cannot add series.
pub const UNMATCHED_ROUTE: &str = "unmatched";

/// The method label: one of the methods HTTP defines (RFC 9110 §9 and RFC 5789's `PATCH`), or
/// `other` for any extension method, so a made-up method cannot add series (an unbounded label
/// would let any client grow `/metrics` and the server's memory without limit).
pub fn method_label(method: &Method) -> &'static str {
    match *method {
        Method::GET => "GET",
        Method::HEAD => "HEAD",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::DELETE => "DELETE",
        Method::CONNECT => "CONNECT",
        Method::OPTIONS => "OPTIONS",
        Method::TRACE => "TRACE",
        Method::PATCH => "PATCH",
        _ => "other",
    }
}

/// Middleware that counts and times every request, and counts the storage failures answered.
pub async fn track_requests(
    State(metrics): State<Arc<Metrics>>,
    request: Request,
    next: Next,
) -> Response {
    let started = Instant::now();
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| UNMATCHED_ROUTE.to_owned(), |p| p.as_str().to_owned());
    let method = method_label(request.method()).to_owned();
    let response = next.run(request).await;
    let status = response.status().as_u16();
    if response.extensions().get::<StorageFailure>().is_some() {
        metrics.storage_error(&route);
    }
    metrics
        .latency
        .get_or_create(&RouteLabels {
            route: route.clone(),
            method: method.clone(),
        })
        .observe(started.elapsed().as_secs_f64());
    metrics
        .requests
        .get_or_create(&RequestLabels {
            route,
            method,
            status,
        })
        .inc();
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_standard_methods_are_labels() {
        assert_eq!(method_label(&Method::PATCH), "PATCH");
        let made_up = Method::from_bytes("X".repeat(20_000).as_bytes()).expect("a token");
        assert_eq!(method_label(&made_up), "other");
        let lookalike = Method::from_bytes(b"get").expect("a token");
        assert_eq!(
            method_label(&lookalike),
            "other",
            "methods are case-sensitive"
        );
    }
}
