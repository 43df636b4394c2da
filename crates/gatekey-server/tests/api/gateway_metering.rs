//! The forward-auth endpoint meters an API key as the REST API does: its own rate limits and
//! its credits, each request costing what its route rule says (`cost`, 1 by default, 0 free);
//! and it hands the key's `meta` to the upstream in the configured header.

use gatekey_core::api_key_usage::{KeyLimits, KeyMeta, KeyUsageSettings};
use gatekey_server::config::GatewayRoute;
use gatekey_server::Config;
use reqwest::header::HeaderMap;
use serde_json::json;

use crate::harness::{assert_error, each_backend, seed, send, Answer, TestApp};

const META_HEADER: &str = "x-gatekey-key-meta";

fn route(path: &str, cost: Option<u64>) -> GatewayRoute {
    GatewayRoute {
        path: path.into(),
        cost,
        ..GatewayRoute::default()
    }
}

/// A reports API whose reports cost 5, whose status is free, and whose other routes cost 1.
fn reports_api(config: &mut Config) {
    config.gateway.key_meta_header = Some(META_HEADER.into());
    config.gateway.routes = vec![
        route("/v1/reports", Some(5)),
        route("/v1/status", Some(0)),
        route("/v1/**", None),
    ];
}

async fn ask(app: &TestApp, uri: &str, key: &str) -> Answer {
    let request = app
        .http
        .get(app.url("/auth/verify"))
        .header("x-original-method", "GET")
        .header("x-original-uri", uri)
        .bearer_auth(key);
    send(request).await
}

fn header<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).map(|v| v.to_str().expect("ASCII header"))
}

#[tokio::test]
async fn each_route_costs_what_its_rule_says() {
    each_backend(|backend| async move {
        let app = TestApp::start_with(backend, reports_api).await;
        let seeded = seed(&app).await;
        let usage = KeyUsageSettings {
            credits: Some(12),
            ..KeyUsageSettings::default()
        };
        let key = app.metered_key(&seeded.owner, usage).await;
        assert_eq!(ask(&app, "/v1/reports", &key).await.0, 200);
        assert_eq!(ask(&app, "/v1/reports", &key).await.0, 200);
        let dear = ask(&app, "/v1/reports", &key).await;
        assert_error(&dear, 429, "usage_exceeded");
        for _ in 0..5 {
            assert_eq!(ask(&app, "/v1/status", &key).await.0, 200, "free");
        }
        assert_eq!(ask(&app, "/v1/notes", &key).await.0, 200);
        assert_eq!(ask(&app, "/v1/notes", &key).await.0, 200);
        assert_error(&ask(&app, "/v1/notes", &key).await, 429, "usage_exceeded");
        assert_eq!(
            ask(&app, "/v1/status", &key).await.0,
            200,
            "a free route stays open at zero"
        );
        app.stop().await;
    })
    .await;
}

#[tokio::test]
async fn a_keys_meta_goes_upstream_in_the_configured_header_and_its_limits_apply() {
    each_backend(|backend| async move {
        let clock_app = TestApp::start_with_manual_clock(backend, reports_api).await;
        let (app, _clock) = clock_app;
        let seeded = seed(&app).await;
        let meta = json!({"plan": "pro", "customer": "Zoë"});
        let usage = KeyUsageSettings {
            meta: Some(KeyMeta::from_value(&meta).unwrap()),
            limits: KeyLimits {
                per_second: Some(2),
                ..KeyLimits::default()
            },
            ..KeyUsageSettings::default()
        };
        let key = app.metered_key(&seeded.owner, usage).await;
        let (status, headers, _) = ask(&app, "/v1/notes", &key).await;
        assert_eq!(status, 200);
        let sent = header(&headers, META_HEADER).expect("the meta header");
        assert!(sent.is_ascii());
        assert_eq!(
            serde_json::from_str::<serde_json::Value>(sent).unwrap(),
            meta
        );
        assert_eq!(header(&headers, "x-ratelimit-limit"), Some("2"));
        assert_eq!(header(&headers, "x-ratelimit-remaining"), Some("1"));
        assert_eq!(ask(&app, "/v1/notes", &key).await.0, 200);
        let refused = ask(&app, "/v1/notes", &key).await;
        assert_error(&refused, 429, "rate_limited");
        assert_eq!(header(&refused.1, META_HEADER), None, "nothing upstream");

        let plain = app.key(&seeded.owner, None).await;
        let (status, headers, _) = ask(&app, "/v1/notes", &plain).await;
        assert_eq!(status, 200);
        assert_eq!(header(&headers, META_HEADER), None, "a key without meta");
        app.stop().await;
    })
    .await;
}

#[tokio::test]
async fn without_the_setting_no_meta_header_is_sent() {
    each_backend(|backend| async move {
        let app = TestApp::start_with(backend, |config| {
            reports_api(config);
            config.gateway.key_meta_header = None;
        })
        .await;
        let seeded = seed(&app).await;
        let usage = KeyUsageSettings {
            meta: Some(KeyMeta::from_value(&json!({"plan": "pro"})).unwrap()),
            ..KeyUsageSettings::default()
        };
        let key = app.metered_key(&seeded.owner, usage).await;
        let (status, headers, _) = ask(&app, "/v1/notes", &key).await;
        assert_eq!(status, 200);
        assert!(
            headers.keys().all(|name| !name.as_str().contains("meta")),
            "{headers:?}"
        );
        app.stop().await;
    })
    .await;
}
