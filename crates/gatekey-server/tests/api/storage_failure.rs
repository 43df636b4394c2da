//! When the database fails, callers get 503 and never a false success.

use reqwest::Method;
use serde_json::json;

use crate::harness::{assert_error, each_backend, send, TestApp};

#[tokio::test]
async fn a_lost_database_answers_503() {
    each_backend(|backend| async move {
        let (app, seeded) = TestApp::start_seeded(backend).await;
        let cached = app.key(&seeded.owner, None).await;
        let uncached = app.key(&seeded.owner, None).await;
        assert_eq!(
            send(app.request(Method::GET, "/api/v1/me", &cached))
                .await
                .0,
            200
        );

        app.store().close().await;

        let ready = app.http.get(app.url("/readyz")).send().await.unwrap();
        assert_eq!(ready.status(), 503);
        assert_eq!(
            app.http
                .get(app.url("/healthz"))
                .send()
                .await
                .unwrap()
                .status(),
            200,
            "the process itself is up"
        );
        let check = send(app.request(Method::GET, "/api/v1/me", &uncached)).await;
        assert_error(&check, 503, "temporarily_unavailable");
        let create = app.post_api_key(&cached, json!({"name": "lost"})).await;
        assert_error(&create, 503, "temporarily_unavailable");
        assert!(
            !create.2.to_string().contains("pool"),
            "no internals in the answer: {}",
            create.2
        );
        let list = send(app.request(Method::GET, "/api/v1/api_keys", &cached)).await;
        assert_error(&list, 503, "temporarily_unavailable");
        app.stop().await;
    })
    .await;
}
