//! `GET /api/v1/openapi.json`: served without a credential, OpenAPI 3.1, and listing every
//! route of the REST API with exactly the methods the server answers.

use std::path::Path;

use reqwest::header::CONTENT_TYPE;
use reqwest::Method;
use serde_json::Value;

use crate::harness::{each_backend, send, TestApp};

const METHODS: [&str; 5] = ["get", "post", "put", "patch", "delete"];

/// The served document, fetched with no credential.
async fn fetch_document(app: &TestApp) -> Value {
    let (status, headers, body) = send(app.http.get(app.url("/api/v1/openapi.json"))).await;
    assert_eq!(status, 200, "served without a credential: {body}");
    assert_eq!(
        headers.get(CONTENT_TYPE).and_then(|v| v.to_str().ok()),
        Some("application/json")
    );
    body
}

/// Each documented operation: (method, path template).
fn operations(doc: &Value) -> Vec<(String, String)> {
    let paths = doc["paths"].as_object().expect("paths");
    let mut found = Vec::new();
    for (path, item) in paths {
        for method in METHODS {
            if item.get(method).is_some() {
                found.push((method.to_owned(), path.clone()));
            }
        }
    }
    found
}

/// A path template with every `{parameter}` filled with a value its handler accepts.
fn concrete(path: &str) -> String {
    path.replace("{role}", "admin")
        .replace("{client_id}", "app_x")
        .replace("{name}", "reports.read")
        .replace("{id}", "1")
}

#[tokio::test]
async fn document_is_openapi_3_1_served_without_a_credential() {
    each_backend(|backend| async move {
        let app = TestApp::start(backend).await;
        let doc = fetch_document(&app).await;
        let version = doc["openapi"].as_str().expect("openapi version");
        assert!(version.starts_with("3.1."), "OpenAPI 3.1.x, got {version}");
        assert_eq!(doc["servers"][0]["url"], app.base_url(), "the issuer");
        assert_eq!(
            doc["components"]["securitySchemes"]["bearer"]["scheme"],
            "bearer"
        );
        assert_eq!(doc["security"][0]["bearer"], Value::Array(vec![]));
        // The document's own operation is the one that needs no credential.
        assert_eq!(
            doc["paths"]["/api/v1/openapi.json"]["get"]["security"],
            serde_json::json!([{}])
        );
        let list = &doc["paths"]["/api/v1/users"]["get"];
        let params: Vec<&str> = list["parameters"]
            .as_array()
            .expect("parameters")
            .iter()
            .filter_map(|p| p["name"].as_str())
            .collect();
        assert_eq!(params, ["page", "per_page"]);
        for status in ["200", "400", "401", "403", "429", "503"] {
            assert!(
                list["responses"].get(status).is_some(),
                "GET /api/v1/users documents {status}"
            );
        }
        assert!(list["responses"]["200"]["headers"]
            .get("X-Ratelimit-Remaining")
            .is_some());
        app.stop().await;
    })
    .await;
}

/// Every documented operation is a real, protected route (401 without a credential, never the
/// 404 of an unknown path or a 405), and every other method on a documented path is 405: the
/// document and the router list the same routes.
#[tokio::test]
async fn document_lists_exactly_the_routes_the_server_answers() {
    each_backend(|backend| async move {
        let app = TestApp::start(backend).await;
        let doc = fetch_document(&app).await;
        let documented = operations(&doc);
        assert!(documented.len() >= 30, "{documented:?}");
        let paths: Vec<&String> = doc["paths"].as_object().expect("paths").keys().collect();
        for path in paths {
            for method in METHODS {
                let is_documented = documented.iter().any(|(m, p)| m == method && p == path);
                let request = app.http.request(
                    Method::from_bytes(method.to_uppercase().as_bytes()).expect("method"),
                    app.url(&concrete(path)),
                );
                let (status, _, body) = send(request).await;
                let expected = match (is_documented, path.as_str()) {
                    (true, "/api/v1/openapi.json") => 200,
                    (true, _) => 401,
                    (false, _) => 405,
                };
                assert_eq!(status, expected, "{method} {path}: {body}");
            }
        }
        app.stop().await;
    })
    .await;
}

/// A route added with a plain `.route(…)` would be served but missing from the document: every
/// API route is registered with `routes!`, which takes its path from `#[utoipa::path]`.
#[test]
fn every_api_route_is_registered_with_its_annotation() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut unregistered = Vec::new();
    let mut files = vec![src.clone()];
    while let Some(path) = files.pop() {
        if path.is_dir() {
            files.extend(
                std::fs::read_dir(&path)
                    .expect("read src")
                    .map(|e| e.expect("entry").path()),
            );
            continue;
        }
        if path.extension().is_none_or(|e| e != "rs") {
            continue;
        }
        let text = std::fs::read_to_string(&path).expect("read source");
        let in_api = path.starts_with(src.join("api"));
        for (at, _) in text.match_indices(".route(") {
            let call: String = text[at..].chars().take(120).collect();
            let served_document = call.contains("DOCUMENT_PATH");
            if !served_document && (in_api || call.contains("/api/")) {
                unregistered.push(format!("{}: {call}", path.display()));
            }
        }
    }
    assert!(
        unregistered.is_empty(),
        "API routes registered without `routes!` (and so without OpenAPI): {unregistered:#?}"
    );
}

/// Each link of the document leads to an operation the document has.
#[tokio::test]
async fn links_lead_to_documented_operations() {
    each_backend(|backend| async move {
        let app = TestApp::start(backend).await;
        let doc = fetch_document(&app).await;
        let mut ids = Vec::new();
        let mut targets = Vec::new();
        for item in doc["paths"].as_object().expect("paths").values() {
            for method in METHODS {
                let Some(operation) = item.get(method) else {
                    continue;
                };
                ids.push(operation["operationId"].as_str().expect("operationId"));
                for response in operation["responses"]
                    .as_object()
                    .expect("responses")
                    .values()
                {
                    if let Some(links) = response.get("links").and_then(Value::as_object) {
                        targets.extend(links.values().map(|l| l["operationId"].clone()));
                    }
                }
            }
        }
        assert!(targets.len() >= 10, "{targets:?}");
        for target in targets {
            let target = target.as_str().expect("operationId");
            assert!(
                ids.contains(&target),
                "a link to {target}, which is not an operation"
            );
        }
        app.stop().await;
    })
    .await;
}
