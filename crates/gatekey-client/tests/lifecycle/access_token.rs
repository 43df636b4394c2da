//! `AccessToken` alone: used until it expires, then a clear error, until the program hands
//! in a new one.

use std::sync::Arc;

use gatekey_client::{ApiClient, ClientError, ConnectionOptions};
use gatekey_core::ManualClock;
use time::{Duration, OffsetDateTime};

use crate::harness::Server;

async fn client_credentials_token(server: &Server) -> String {
    let form = [("grant_type", "client_credentials")];
    let answer = server.app.token(&server.service_app, &form).await;
    assert_eq!(answer.0, 200, "{}", answer.2);
    answer.2["access_token"].as_str().unwrap().to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_expired_access_token_fails_until_a_new_one_is_set() {
    let clock = Arc::new(ManualClock::new(OffsetDateTime::now_utc()));
    let server = Server::start_with_clock(2, clock.clone()).await;
    let token = client_credentials_token(&server).await;
    let options: ConnectionOptions = format!("Server={};AccessToken={token}", server.url())
        .parse()
        .unwrap();
    let client = ApiClient::new(options).unwrap();
    client
        .get::<serde_json::Value>("/api/v1/me")
        .await
        .expect("a fresh token works");

    // The server's time passes the token's two seconds; the client never knew its expiry.
    clock.advance(Duration::milliseconds(2500));
    let error = client
        .get::<serde_json::Value>("/api/v1/me")
        .await
        .expect_err("the token has expired");
    assert!(
        matches!(error, ClientError::AccessTokenExpired),
        "{error:?}"
    );
    let message = error.to_string();
    for option in ["AccessToken", "AccessTokenCommand", "RefreshToken"] {
        assert!(message.contains(option), "{message}");
    }
    // It keeps saying so without asking the server again.
    assert!(matches!(
        client.get::<serde_json::Value>("/api/v1/me").await,
        Err(ClientError::AccessTokenExpired)
    ));

    client.set_access_token(client_credentials_token(&server).await);
    client
        .get::<serde_json::Value>("/api/v1/me")
        .await
        .expect("the new token works");
    server.app.stop().await;
}
