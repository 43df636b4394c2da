//! OpenID Connect sign-in against the real server: the client asks for `openid`, gatekey
//! answers with an ID token, and the client verifies it against the published keys and keeps
//! the identity it names, through a login and a refresh.

use std::time::Duration;

use gatekey_client::{ApiClient, ConnectionOptions};
use tokio::sync::mpsc;

use crate::harness::{call_for, Server, EMAIL};
use crate::interactive::TestUser;

fn client(server: &Server, method: &str) -> (ApiClient, mpsc::UnboundedReceiver<String>) {
    let options: ConnectionOptions = server
        .connection(
            &server.native_app,
            &format!("{method};Scope=openid profile email offline_access read;RefreshSkew=1"),
        )
        .parse()
        .unwrap();
    let (seen, receiver) = mpsc::unbounded_channel();
    let client = ApiClient::builder(options)
        .interaction(TestUser { seen })
        .build()
        .unwrap();
    (client, receiver)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pkce_sign_in_with_openid_yields_a_verified_identity_that_renewal_keeps() {
    let server = Server::start(2).await;
    let (client, mut seen) = client(&server, "AuthenticationMethod=PKCE;OpenBrowser=false");
    let login = tokio::spawn({
        let client = client.clone();
        async move { client.login().await }
    });
    let url = seen.recv().await.expect("the authorization URL");
    assert!(url.contains("nonce="), "the client sends a nonce: {url}");
    server.app.consent_in_browser(EMAIL, &url).await;
    let tokens = login.await.unwrap().expect("tokens once consented");
    assert!(tokens.id_token().is_some());
    let identity = client.identity().expect("an identity from the ID token");
    assert_eq!(identity.subject, server.owner.user.id.to_string());
    assert_eq!(identity.issuer, server.url());
    assert_eq!(identity.email.as_deref(), Some(EMAIL));
    assert_eq!(identity.account.as_deref(), Some("acme"));

    // Two-second tokens: the calls renew them by refresh, whose ID tokens keep the subject.
    let (calls, failed, first) = call_for(&client, Duration::from_secs(4)).await;
    assert_eq!(failed, 0, "{failed} of {calls} failed: {first:?}");
    assert!(server.app.requests_to("/oauth/token") >= 2);
    assert_eq!(
        client.identity().map(|identity| identity.subject),
        Some(server.owner.user.id.to_string())
    );
    server.app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_device_sign_in_with_openid_yields_a_verified_identity() {
    let server = Server::start(60).await;
    let (client, mut seen) = client(&server, "AuthenticationMethod=DeviceCode");
    let login = tokio::spawn({
        let client = client.clone();
        async move { client.login().await }
    });
    let user_code = seen.recv().await.expect("a user code");
    server
        .app
        .approve_device(EMAIL, &user_code.to_lowercase().replace('-', ""), "acme")
        .await;
    login.await.unwrap().expect("tokens once approved");
    let identity = client.identity().expect("an identity from the ID token");
    assert_eq!(identity.subject, server.owner.user.id.to_string());
    assert_eq!(identity.name.as_deref().map(str::is_empty), Some(false));
    server.app.stop().await;
}
