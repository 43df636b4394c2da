//! The interactive methods, with the test as the user: the device flow approved on the
//! `/device` page, and PKCE with the test as the browser that the loopback redirect reaches.
//! Both then keep a session alive across expiries.

use std::time::Duration;

use gatekey_client::{
    ApiClient, ClientError, ConnectionOptions, DevicePrompt, Interaction, TokenSet,
};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use crate::harness::{call_for, Server, EMAIL};

/// Hands what the user would see to the test.
pub struct TestUser {
    /// Where the URL or user code shown goes.
    pub seen: mpsc::UnboundedSender<String>,
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

/// Starts a login on a client of the native application with `method` (the rest of the
/// connection string); returns the client, what the user is shown, and the login under way.
fn start_login(
    server: &Server,
    method: &str,
) -> (
    ApiClient,
    mpsc::UnboundedReceiver<String>,
    JoinHandle<Result<TokenSet, ClientError>>,
) {
    let options: ConnectionOptions = server
        .connection(&server.native_app, &format!("{method};RefreshSkew=1"))
        .parse()
        .unwrap();
    let (seen, receiver) = mpsc::unbounded_channel();
    let client = ApiClient::builder(options)
        .interaction(TestUser { seen })
        .build()
        .unwrap();
    let login = tokio::spawn({
        let client = client.clone();
        async move { client.login().await }
    });
    (client, receiver, login)
}

/// Calls the API through `client` across several expiries of its two-second tokens; asserts
/// that no call failed and that it renewed.
async fn assert_session_renews(server: &Server, client: &ApiClient) {
    let (calls, failed, first) = call_for(client, Duration::from_secs(11)).await;
    assert_eq!(failed, 0, "{failed} of {calls} failed: {first:?}");
    assert!(server.app.requests_to("/oauth/token") >= 6);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn device_code_login_approved_on_the_device_page_then_renewed() {
    let server = Server::start(2).await;
    let (client, mut seen, login) =
        start_login(&server, "AuthenticationMethod=DeviceCode;Scope=read");
    let user_code = seen.recv().await.expect("the client shows a user code");
    assert_eq!(user_code.len(), 9, "{user_code}");
    server
        .app
        .approve_device(EMAIL, &user_code.to_lowercase().replace('-', ""), "acme")
        .await;
    let tokens = login.await.unwrap().expect("tokens once approved");
    assert_eq!(tokens.account(), Some("acme"));
    assert_eq!(tokens.scope(), Some("read"));
    assert_session_renews(&server, &client).await;
    server.app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pkce_login_through_the_loopback_redirect_then_renewed() {
    let server = Server::start(2).await;
    let (client, mut seen, login) =
        start_login(&server, "AuthenticationMethod=PKCE;OpenBrowser=false");
    let url = seen
        .recv()
        .await
        .expect("the client shows the authorization URL");
    assert!(url.contains("code_challenge_method=S256"), "{url}");
    assert!(
        url.contains("redirect_uri=http%3A%2F%2F127.0.0.1%3A"),
        "{url}"
    );
    server.app.consent_in_browser(EMAIL, &url).await;
    let tokens = login.await.unwrap().expect("tokens once consented");
    assert_eq!(tokens.account(), Some("acme"));
    assert_session_renews(&server, &client).await;
    server.app.stop().await;
}
