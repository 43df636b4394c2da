//! Prometheus metrics: requests by route, method and status, their latency, and credential
//! checks by outcome. Served at `/metrics` in the text exposition format.

use std::sync::atomic::AtomicU64;
use std::sync::Arc;
use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::http::Method;
use axum::middleware::Next;
use axum::response::Response;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;

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

/// How a credential check ended.
#[derive(Clone, Copy, Debug, Hash, PartialEq, Eq)]
pub enum CredentialOutcome {
    /// Found in the cache.
    CacheHit,
    /// Checked against the database and valid.
    Verified,
    /// Failed the format or checksum check.
    Malformed,
    /// Not issued by this server.
    Unknown,
    /// Revoked, or its user disabled.
    Revoked,
    /// Past its expiry.
    Expired,
}

impl CredentialOutcome {
    /// The label value, in Prometheus' snake_case.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::CacheHit => "cache_hit",
            Self::Verified => "verified",
            Self::Malformed => "malformed",
            Self::Unknown => "unknown",
            Self::Revoked => "revoked",
            Self::Expired => "expired",
        }
    }
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OutcomeLabels {
    outcome: &'static str,
}

/// The server's metrics.
pub struct Metrics {
    registry: Registry,
    requests: Family<RequestLabels, Counter<u64, AtomicU64>>,
    latency: Family<RouteLabels, Histogram>,
    credential_checks: Family<OutcomeLabels, Counter<u64, AtomicU64>>,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Metrics")
    }
}

impl Default for Metrics {
    fn default() -> Self {
        let requests = Family::<RequestLabels, Counter<u64, AtomicU64>>::default();
        let latency = Family::<RouteLabels, Histogram>::new_with_constructor(|| {
            Histogram::new([
                0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
            ])
        });
        let credential_checks = Family::<OutcomeLabels, Counter<u64, AtomicU64>>::default();
        let mut registry = Registry::with_prefix("gatekey");
        registry.register(
            "http_requests",
            "HTTP requests by route, method and status",
            requests.clone(),
        );
        registry.register(
            "http_request_duration_seconds",
            "HTTP request latency by route and method",
            latency.clone(),
        );
        registry.register(
            "credential_checks",
            "Credential checks by outcome",
            credential_checks.clone(),
        );
        Self {
            registry,
            requests,
            latency,
            credential_checks,
        }
    }
}

impl Metrics {
    /// Counts one credential check.
    pub fn credential_check(&self, outcome: CredentialOutcome) {
        self.credential_checks
            .get_or_create(&OutcomeLabels {
                outcome: outcome.as_str(),
            })
            .inc();
    }

    /// The text exposition of every metric.
    pub fn render(&self) -> String {
        let mut out = String::new();
        if prometheus_client::encoding::text::encode(&mut out, &self.registry).is_err() {
            out.clear();
        }
        out
    }
}

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

/// Middleware that counts and times every request.
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
