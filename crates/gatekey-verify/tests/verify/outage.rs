//! When gatekey cannot answer, requests are refused with 503: never let through, never taken
//! for a bad credential.

use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use axum::routing::get;
use axum::Router;
use gatekey_verify::{Caller, RequireCallerLayer, Verifier, VerifyError};
use tower::ServiceExt;

use crate::harness::{each_backend, Gatekey};

async fn whoami(caller: Caller) -> String {
    caller.account.slug
}

/// A port nothing listens on.
async fn closed_port_url() -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let port = listener.local_addr().expect("address").port();
    drop(listener);
    format!("http://127.0.0.1:{port}")
}

#[tokio::test]
async fn an_unreachable_gatekey_is_answered_503_without_a_challenge() {
    let verifier = Verifier::builder(closed_port_url().await, "app_rs", "gk_cs_x")
        .audience("https://notes.example.com")
        .build()
        .expect("a verifier");
    let router = Router::new()
        .route("/whoami", get(whoami))
        .layer(RequireCallerLayer::new(verifier));
    for credential in [
        "gk_key_abc",
        "gk_at_abc",
        "eyJhbGciOiJFZERTQSIsInR5cCI6ImF0K2p3dCIsImtpZCI6ImsifQ.e30.c2ln",
    ] {
        let request = Request::get("/whoami")
            .header(header::AUTHORIZATION, format!("Bearer {credential}"))
            .body(Body::empty())
            .expect("request");
        let response = router.clone().oneshot(request).await.expect("answered");
        assert_eq!(
            response.status(),
            StatusCode::SERVICE_UNAVAILABLE,
            "{credential}"
        );
        assert!(response.headers().get(header::WWW_AUTHENTICATE).is_none());
        assert_eq!(
            response
                .headers()
                .get(header::RETRY_AFTER)
                .and_then(|v| v.to_str().ok()),
            Some("1")
        );
        let body = axum::body::to_bytes(response.into_body(), 4096)
            .await
            .expect("body");
        let body: serde_json::Value = serde_json::from_slice(&body).expect("JSON");
        assert_eq!(body["error"], "temporarily_unavailable");
        assert!(!body["error_description"]
            .as_str()
            .unwrap_or_default()
            .contains("127.0.0.1"));
    }
}

#[tokio::test]
async fn gatekey_going_down_or_refusing_the_application_is_a_503() {
    each_backend(|backend| async move {
        let gatekey = Gatekey::start(backend).await;
        let key = gatekey.owner_key("read").await;
        let wrong_secret = Verifier::builder(
            gatekey.app.base_url(),
            &gatekey.resource_server.id,
            "gk_cs_not_the_secret",
        )
        .build()
        .expect("a verifier");
        assert!(
            matches!(
                wrong_secret.verify(&key).await,
                Err(VerifyError::Unavailable(_))
            ),
            "the application's own credentials are wrong, not the caller's"
        );

        let verifier = gatekey.verifier();
        assert!(verifier.verify(&key).await.is_ok());
        let clock = gatekey.clock.clone();
        gatekey.stop().await;
        assert!(verifier.verify(&key).await.is_ok(), "from the cache");
        clock.advance(time::Duration::seconds(5));
        assert!(matches!(
            verifier.verify(&key).await,
            Err(VerifyError::Unavailable(_))
        ));
    })
    .await;
}
