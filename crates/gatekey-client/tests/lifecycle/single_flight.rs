//! Many tasks sharing a connection when its token is due cause one token request.

use std::time::Duration;

use gatekey_client::{ApiClient, ConnectionOptions};

use crate::harness::Server;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hundred_concurrent_calls_at_expiry_renew_once() {
    let server = Server::start(2).await;
    let app = &server.service_app;
    let options = ConnectionOptions::builder(&server.url())
        .client_id(&app.id)
        .client_secret(app.secret.clone().unwrap())
        .refresh_skew(Duration::from_secs(1))
        .build()
        .unwrap();
    let client = ApiClient::new(options).unwrap();
    client.get::<serde_json::Value>("/api/v1/me").await.unwrap();
    let before = server.app.requests_to("/oauth/token");
    assert_eq!(before, 1);

    // Past the point where the token is replaced, before it expires.
    tokio::time::sleep(Duration::from_millis(1200)).await;
    let calls: Vec<_> = (0..100)
        .map(|_| {
            let client = client.clone();
            tokio::spawn(async move { client.get::<serde_json::Value>("/api/v1/me").await })
        })
        .collect();
    for call in calls {
        call.await.unwrap().expect("every call succeeds");
    }
    assert_eq!(
        server.app.requests_to("/oauth/token") - before,
        1,
        "exactly one renewal"
    );
    server.app.stop().await;
}
