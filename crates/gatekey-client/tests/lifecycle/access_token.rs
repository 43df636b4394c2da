//! `AccessToken` alone: used until it expires, then a clear error, until the program hands
//! in a new one.

use std::time::Duration;

use gatekey_client::{ApiClient, ClientError, ConnectionOptions};

use crate::harness::Server;

async fn client_credentials_token(server: &Server) -> String {
    let app = &server.service_app;
    let answer: serde_json::Value = server
        .http
        .post(format!("{}/oauth/token", server.url()))
        .basic_auth(&app.client_id, app.secret.as_deref())
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    answer["access_token"].as_str().unwrap().to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_expired_access_token_fails_until_a_new_one_is_set() {
    let server = Server::start(2).await;
    let token = client_credentials_token(&server).await;
    let options: ConnectionOptions = format!("Server={};AccessToken={token}", server.url())
        .parse()
        .unwrap();
    let client = ApiClient::new(options).unwrap();
    client
        .get::<serde_json::Value>("/api/v1/me")
        .await
        .expect("a fresh token works");

    tokio::time::sleep(Duration::from_millis(2500)).await;
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
    server.stop().await;
}
