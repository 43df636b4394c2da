//! The example notes API (`examples/resource_server.rs`), in process, end to end: API keys
//! and JWT access tokens, scopes per route, notes kept per account.

use axum::http::StatusCode;
use gatekey_core::role::Role;
use serde_json::json;

use crate::harness::{each_backend, Gatekey, AUDIENCE};
use crate::layers::call;

#[allow(dead_code)] // Its `main` is the example's, not the test's.
#[path = "../../examples/resource_server.rs"]
mod resource_server;

#[tokio::test]
async fn the_notes_api_serves_each_account_by_scope() {
    each_backend(|backend| async move {
        let gatekey = Gatekey::start(backend).await;
        let api = resource_server::notes_router(gatekey.verifier());
        let reader = gatekey.owner_key("read").await;
        let writer = gatekey.owner_key("read write").await;
        let (service, client) = gatekey.jwt_client().await;
        let jwt_reader = gatekey.jwt(&client, "read", Some(AUDIENCE)).await;

        let (status, _, body) = call(&api, "GET", "/notes", Some(&reader), "").await;
        assert_eq!((status, body), (StatusCode::OK, json!([])));
        let (status, challenge, body) =
            call(&api, "POST", "/notes", Some(&reader), r#"{"text":"hi"}"#).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
        assert!(challenge.is_some_and(|c| c.contains("scope=\"write\"")));

        let (status, _, body) =
            call(&api, "POST", "/notes", Some(&writer), r#"{"text":"hello"}"#).await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        let owner = gatekey.seeded.owner.user.id;
        assert_eq!(body, json!({"id": 1, "text": "hello", "author": owner}));
        let (status, _, body) = call(&api, "POST", "/notes", Some(&writer), "{").await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert_eq!(body["error"], "invalid_request");

        // A JWT of a service account of the same account reads the same notes, offline.
        let (status, _, body) = call(&api, "GET", "/notes", Some(&jwt_reader), "").await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_eq!(body[0]["text"], "hello");
        let (status, _, _) =
            call(&api, "POST", "/notes", Some(&jwt_reader), r#"{"text":"x"}"#).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{}", service.user.id);

        // Another account's notes are its own.
        let other = gatekey.app.account("globex").await;
        let outsider = gatekey
            .app
            .person(&other, "x@globex.test", Role::Owner)
            .await;
        let rs = gatekey
            .app
            .register_client(
                other.id,
                gatekey_server::testing::ClientSpec::resource_server(),
            )
            .await;
        let secret = rs.secret.clone().expect("a secret");
        let globex_api = resource_server::notes_router(
            gatekey_verify::Verifier::builder(gatekey.app.base_url(), &rs.id, secret)
                .build()
                .expect("a verifier"),
        );
        let outsider_key = gatekey.app.key(&outsider, None).await;
        let (status, _, body) = call(&globex_api, "GET", "/notes", Some(&outsider_key), "").await;
        assert_eq!((status, body), (StatusCode::OK, json!([])));
        let (status, _, _) = call(&api, "GET", "/notes", Some(&outsider_key), "").await;
        assert_eq!(
            status,
            StatusCode::UNAUTHORIZED,
            "acme's API does not see globex's keys"
        );
        gatekey.stop().await;
    })
    .await;
}
