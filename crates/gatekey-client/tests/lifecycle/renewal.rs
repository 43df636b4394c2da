//! Every method that can renew keeps a loop of API calls going across at least five expiries
//! of two-second access tokens, with no failed call.

use std::time::Duration;

use gatekey_client::{ApiClient, ConnectionOptions, ExposeSecret};

use crate::harness::{call_for, Server, REDIRECT};

/// Long enough for five expiries of two-second tokens renewed at half their lifetime.
const SPAN: Duration = Duration::from_secs(11);

async fn assert_session_survives(server: &Server, connection: String) {
    let options: ConnectionOptions = connection.parse().expect("connection string");
    let client = ApiClient::new(options).expect("client");
    let before = server.app.requests_to("/oauth/token");
    let (calls, failed, first) = call_for(&client, SPAN).await;
    let renewals = server.app.requests_to("/oauth/token") - before;
    assert_eq!(
        failed, 0,
        "{failed} of {calls} calls failed; first: {first:?}"
    );
    assert!(renewals >= 5, "only {renewals} token requests in {SPAN:?}");
    assert!(calls > 50, "{calls} calls");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_credentials_renews_without_a_failed_call() {
    let server = Server::start(2).await;
    let connection = server.connection(
        &server.service_app,
        "AuthenticationMethod=ClientCredentials;RefreshSkew=1",
    );
    assert_session_survives(&server, connection).await;
    server.app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refresh_token_renews_without_a_failed_call() {
    let server = Server::start(2).await;
    let app = &server.web_app;
    let refresh_token = server.refresh_token_for(app).await;
    let connection = server.connection(app, &format!("RefreshToken={refresh_token};RefreshSkew=1"));
    assert_session_survives(&server, connection).await;
    server.app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_authorization_code_is_exchanged_once_then_refreshed() {
    let server = Server::start(2).await;
    let app = &server.web_app;
    let code = server.code_for(app).await;
    let connection = server.connection(
        app,
        &format!("OAuthCode={code};RedirectURI={REDIRECT};RefreshSkew=1"),
    );
    assert_session_survives(&server, connection).await;
    server.app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_access_token_command_is_run_whenever_a_token_is_due() {
    let server = Server::start(2).await;
    let app = &server.service_app;
    // The external process: curl asking the token endpoint, printing its JSON answer.
    let command = format!(
        "curl -sf -u {}:{} -d grant_type=client_credentials {}/oauth/token",
        app.id,
        app.secret.as_deref().unwrap(),
        server.url()
    );
    let connection = format!(
        "Server={};AccessTokenCommand={{{command}}};RefreshSkew=1",
        server.url()
    );
    assert_session_survives(&server, connection).await;
    server.app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_refused_by_the_server_is_replaced_and_the_call_retried_once() {
    let server = Server::start(3600).await;
    let app = &server.service_app;
    let options = ConnectionOptions::builder(&server.url())
        .client_id(&app.id)
        .client_secret(app.secret.clone().unwrap())
        .build()
        .unwrap();
    let client = ApiClient::new(options).unwrap();
    let first = client.access_token().await.unwrap();
    // Revoked behind the client's back: its next call gets 401 invalid_token.
    let revoked = server
        .app
        .post_as(app, "/oauth/revoke", &[("token", first.expose_secret())])
        .await;
    assert_eq!(revoked.0, 200, "{}", revoked.2);
    let me: serde_json::Value = client
        .get("/api/v1/me")
        .await
        .expect("the call succeeds with a new token");
    assert_eq!(me["credential"]["type"], "oauth");
    let second = client.access_token().await.unwrap();
    assert_ne!(first.expose_secret(), second.expose_secret());
    assert!(!server.app.accepts(first.expose_secret()).await);
    server.app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn login_on_a_refresh_token_connection_renews_and_keeps_the_session() {
    let server = Server::start(3600).await;
    let app = &server.web_app;
    let refresh_token = server.refresh_token_for(app).await;
    let options: ConnectionOptions = server
        .connection(app, &format!("RefreshToken={refresh_token}"))
        .parse()
        .unwrap();
    let client = ApiClient::new(options).unwrap();
    let first = client.login().await.expect("a refresh");
    let second = client
        .login()
        .await
        .expect("another refresh with the rotated token");
    assert_ne!(
        first.refresh_token().unwrap().expose_secret(),
        second.refresh_token().unwrap().expose_secret()
    );
    client
        .get::<serde_json::Value>("/api/v1/me")
        .await
        .expect("the session goes on");
    server.app.stop().await;
}
