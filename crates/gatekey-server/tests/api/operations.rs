//! Operations endpoints: liveness, readiness, Prometheus metrics.

use reqwest::Method;

use crate::harness::{each_backend, send, send_text, TestApp};

/// The value of the sample whose line starts with `metric{` and contains every label given.
pub(crate) fn sample(metrics: &str, metric: &str, labels: &[&str]) -> Option<f64> {
    metrics
        .lines()
        .filter(|line| line.starts_with(&format!("{metric}{{")))
        .find(|line| labels.iter().all(|label| line.contains(label)))
        .and_then(|line| line.rsplit(' ').next())
        .and_then(|value| value.parse().ok())
}

#[tokio::test]
async fn health_and_readiness() {
    each_backend(|backend| async move {
        let app = TestApp::start(backend).await;
        let (status, _, body) = send_text(app.http.get(app.url("/healthz"))).await;
        assert_eq!((status, body.trim()), (200, "ok"));
        let (status, _, body) = send_text(app.http.get(app.url("/readyz"))).await;
        assert_eq!((status, body.trim()), (200, "ready"));
        app.stop().await;
    })
    .await;
}

#[tokio::test]
async fn metrics_count_requests_by_route_and_credential_checks_by_outcome() {
    each_backend(|backend| async move {
        let (app, seeded) = TestApp::start_seeded(backend).await;
        let key = app.key(&seeded.owner, None).await;
        for _ in 0..3 {
            let me = send(app.request(Method::GET, "/api/v1/me", &key)).await;
            assert_eq!(me.0, 200);
        }
        // One character changed; never to itself (a key ending in "x" stayed valid once).
        let last = if key.ends_with('x') { 'y' } else { 'x' };
        let typo = format!("{}{last}", &key[..key.len() - 1]);
        assert_eq!(
            send(app.request(Method::GET, "/api/v1/me", &typo)).await.0,
            401
        );
        let unknown = app.key(&seeded.owner, None).await;
        let unknown_id = app.key_id(&unknown).await;
        let revoked = send(app.request(
            Method::DELETE,
            &format!("/api/v1/api_keys/{unknown_id}"),
            &key,
        ))
        .await;
        assert_eq!(revoked.0, 204);
        assert_eq!(
            send(app.request(Method::GET, "/api/v1/me", &unknown))
                .await
                .0,
            401
        );
        assert_eq!(
            send(app.http.get(app.url("/no/such/path-4711"))).await.0,
            404
        );

        let (status, headers, metrics) = send_text(app.http.get(app.url("/metrics"))).await;
        assert_eq!(status, 200);
        assert!(
            headers["content-type"]
                .to_str()
                .unwrap()
                .starts_with("application/openmetrics-text"),
            "{headers:?}"
        );
        let me_ok = sample(
            &metrics,
            "gatekey_http_requests_total",
            &[
                r#"route="/api/v1/me""#,
                r#"method="GET""#,
                r#"status="200""#,
            ],
        );
        assert!(me_ok >= Some(4.0), "GET /api/v1/me 200 counted:\n{metrics}");
        let me_refused = sample(
            &metrics,
            "gatekey_http_requests_total",
            &[r#"route="/api/v1/me""#, r#"status="401""#],
        );
        assert_eq!(me_refused, Some(2.0), "{metrics}");
        assert!(
            sample(
                &metrics,
                "gatekey_http_requests_total",
                &[
                    r#"route="/api/v1/api_keys/{id}""#,
                    r#"method="DELETE""#,
                    r#"status="204""#
                ],
            ) == Some(1.0),
            "routes are templates, not paths:\n{metrics}"
        );
        assert!(
            !metrics.contains("path-4711") && !metrics.contains(&format!("/{unknown_id}\"")),
            "no raw paths in labels:\n{metrics}"
        );
        assert!(
            sample(
                &metrics,
                "gatekey_http_requests_total",
                &[r#"route="unmatched""#]
            )
            .is_some(),
            "{metrics}"
        );
        assert!(
            metrics.contains("gatekey_http_request_duration_seconds"),
            "{metrics}"
        );

        for outcome in ["verified", "cache_hit", "malformed", "revoked"] {
            let count = sample(
                &metrics,
                "gatekey_credential_checks_total",
                &[&format!(r#"outcome="{outcome}""#)],
            );
            assert!(count >= Some(1.0), "{outcome} counted:\n{metrics}");
        }
        assert!(
            !metrics.contains(&key) && !metrics.contains(&key[..20]),
            "no secret in the metrics"
        );
        app.stop().await;
    })
    .await;
}
