//! The interactive methods, with the test as the user: the device flow approved on the
//! `/device` page, and PKCE with the test as the browser that the loopback redirect reaches.
//! Both then keep a session alive across expiries.

use std::time::Duration;

use gatekey_client::{ApiClient, ConnectionOptions, DevicePrompt, Interaction};
use tokio::sync::mpsc;

use crate::harness::{call_for, Server};

/// Hands what the user would see to the test.
struct TestUser {
    seen: mpsc::UnboundedSender<String>,
}

impl Interaction for TestUser {
    fn authorize_in_browser(&self, url: &str, open_browser: bool) {
        assert!(!open_browser, "tests never open a browser");
        let _ = self.seen.send(url.to_owned());
    }

    fn show_device_code(&self, prompt: &DevicePrompt) {
        let _ = self.seen.send(prompt.user_code.clone());
    }
}

fn client(options: ConnectionOptions) -> (ApiClient, mpsc::UnboundedReceiver<String>) {
    let (seen, receiver) = mpsc::unbounded_channel();
    let client = ApiClient::builder(options)
        .interaction(TestUser { seen })
        .build()
        .unwrap();
    (client, receiver)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn device_code_login_approved_on_the_device_page_then_renewed() {
    let server = Server::start(2).await;
    let options: ConnectionOptions = format!(
        "Server={};AuthenticationMethod=DeviceCode;ClientId={};Scope=read;RefreshSkew=1",
        server.url(),
        server.native_app.client_id
    )
    .parse()
    .unwrap();
    let (client, mut seen) = client(options);
    let login = tokio::spawn({
        let client = client.clone();
        async move { client.login().await }
    });
    let user_code = seen.recv().await.expect("the client shows a user code");
    assert_eq!(user_code.len(), 9, "{user_code}");
    server
        .approve_device(&user_code.to_lowercase().replace('-', ""))
        .await;
    let tokens = login.await.unwrap().expect("tokens once approved");
    assert_eq!(tokens.account(), Some("acme"));
    assert_eq!(tokens.scope(), Some("read"));

    let (calls, failed, first) = call_for(&client, Duration::from_secs(11)).await;
    assert_eq!(failed, 0, "{failed} of {calls} failed: {first:?}");
    assert!(server.requests_to("/oauth/token") >= 6);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pkce_login_through_the_loopback_redirect_then_renewed() {
    let server = Server::start(2).await;
    let options: ConnectionOptions = format!(
        "Server={};AuthenticationMethod=PKCE;ClientId={};OpenBrowser=false;RefreshSkew=1",
        server.url(),
        server.native_app.client_id
    )
    .parse()
    .unwrap();
    let (client, mut seen) = client(options);
    let login = tokio::spawn({
        let client = client.clone();
        async move { client.login().await }
    });
    let url = seen
        .recv()
        .await
        .expect("the client shows the authorization URL");
    assert!(url.contains("code_challenge_method=S256"), "{url}");
    assert!(
        url.contains("redirect_uri=http%3A%2F%2F127.0.0.1%3A"),
        "{url}"
    );
    server.consent_in_browser(&url).await;
    let tokens = login.await.unwrap().expect("tokens once consented");
    assert_eq!(tokens.account(), Some("acme"));

    let (calls, failed, first) = call_for(&client, Duration::from_secs(11)).await;
    assert_eq!(failed, 0, "{failed} of {calls} failed: {first:?}");
    assert!(server.requests_to("/oauth/token") >= 6);
    server.stop().await;
}
