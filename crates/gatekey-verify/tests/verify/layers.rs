//! The layers and the extractor in an axum router: RFC 6750 answers for each refusal, the
//! caller handed to the handler, and scopes required per route.

use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use axum::routing::{get, post};
use axum::{Extension, Router};
use gatekey_verify::{require_scopes, Caller, RequireCallerLayer};
use serde_json::Value;
use tower::ServiceExt;

use crate::harness::{each_backend, Gatekey};

async fn whoami(caller: Caller) -> String {
    format!("{} in {}", caller.user.id, caller.account.slug)
}

async fn greet(caller: Option<Caller>) -> String {
    caller.map_or_else(
        || "hello, stranger".to_owned(),
        |c| format!("hello, {}", c.user.id),
    )
}

/// Sends `method path` with `credential` as Bearer, when given: status, challenge, body.
pub async fn call(
    router: &Router,
    method: &str,
    path: &str,
    credential: Option<&str>,
    body: &str,
) -> (StatusCode, Option<String>, Value) {
    let mut request = Request::builder().method(method).uri(path);
    if let Some(credential) = credential {
        request = request.header(header::AUTHORIZATION, format!("Bearer {credential}"));
    }
    let request = request
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(body.to_owned()))
        .expect("request");
    let response = router.clone().oneshot(request).await.expect("answered");
    let status = response.status();
    let challenge = response
        .headers()
        .get(header::WWW_AUTHENTICATE)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let bytes = axum::body::to_bytes(response.into_body(), 64 * 1024)
        .await
        .expect("body");
    let body = serde_json::from_slice(&bytes)
        .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into_owned()));
    (status, challenge, body)
}

#[tokio::test]
async fn the_layers_answer_each_refusal_as_rfc_6750_says() {
    each_backend(|backend| async move {
        let gatekey = Gatekey::start(backend).await;
        let verifier = gatekey.verifier();
        let router = Router::new()
            .route("/whoami", get(whoami))
            .route(
                "/write",
                post(whoami).route_layer(require_scopes(["write"])),
            )
            .layer(RequireCallerLayer::new(verifier.clone()));
        let reader = gatekey.owner_key("read").await;
        let writer = gatekey.owner_key("read write").await;
        let owner = gatekey.seeded.owner.user.id;

        let (status, challenge, body) = call(&router, "GET", "/whoami", Some(&reader), "").await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_eq!(body, Value::String(format!("{owner} in acme")));
        assert_eq!(challenge, None);

        let (status, challenge, body) = call(&router, "GET", "/whoami", None, "").await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
        assert_eq!(challenge.as_deref(), Some("Bearer"));
        assert_eq!(body["error"], "unauthorized");

        let (status, challenge, body) =
            call(&router, "GET", "/whoami", Some("gk_key_forged"), "").await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
        assert!(challenge.is_some_and(|c| c.starts_with("Bearer error=\"invalid_token\"")));
        assert_eq!(body["error"], "invalid_token");
        assert!(body["error_description"].is_string());

        let (status, challenge, body) = call(&router, "POST", "/write", Some(&reader), "").await;
        assert_eq!(status, StatusCode::FORBIDDEN);
        assert!(
            challenge
                .as_deref()
                .is_some_and(|c| c.contains("error=\"insufficient_scope\", scope=\"write\"")),
            "{challenge:?}"
        );
        assert_eq!(body["error"], "insufficient_scope");
        let (status, _, _) = call(&router, "POST", "/write", Some(&writer), "").await;
        assert_eq!(status, StatusCode::OK);

        // The extractor alone, with the verifier as an extension, checks the request itself.
        let bare = Router::new()
            .route("/whoami", get(whoami))
            .layer(Extension(verifier));
        let (status, _, _) = call(&bare, "GET", "/whoami", Some(&reader), "").await;
        assert_eq!(status, StatusCode::OK);
        let (status, _, _) = call(&bare, "GET", "/whoami", Some("gk_at_forged"), "").await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
        // Optional: anonymous is welcome, a bad credential is still refused.
        let open = Router::new()
            .route("/greet", get(greet))
            .layer(Extension(gatekey.verifier()));
        let (status, _, body) = call(&open, "GET", "/greet", None, "").await;
        assert_eq!(
            (status, body),
            (StatusCode::OK, Value::from("hello, stranger"))
        );
        let (status, _, body) = call(&open, "GET", "/greet", Some(&reader), "").await;
        assert_eq!(
            (status, body),
            (StatusCode::OK, Value::from(format!("hello, {owner}")))
        );
        let (status, _, _) = call(&open, "GET", "/greet", Some("gk_key_forged"), "").await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
        // Neither layer nor verifier: refused, never let through.
        let misconfigured = Router::new().route("/whoami", get(whoami));
        let (status, _, _) = call(&misconfigured, "GET", "/whoami", Some(&reader), "").await;
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
        gatekey.stop().await;
    })
    .await;
}
