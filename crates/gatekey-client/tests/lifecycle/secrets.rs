//! Bad connection strings name the keyword; nothing the client prints holds a secret.

use gatekey_client::{ApiClient, ConnectionOptions};

use crate::harness::Server;

#[test]
fn a_bad_connection_string_names_the_keyword() {
    let cases = [
        (
            "Server=http://127.0.0.1:1;ApiKey=gk_key_x;Colour=blue",
            "Colour",
        ),
        (
            "Server=http://127.0.0.1:1;ClientId=a;ClientSecret=b;RefreshSkew=soon",
            "RefreshSkew",
        ),
        (
            "Server=http://127.0.0.1:1;AuthenticationMethod=Magic;ApiKey=k",
            "AuthenticationMethod",
        ),
        (
            "Server=http://127.0.0.1:1;AuthenticationMethod=ClientCredentials;ClientId=a",
            "ClientSecret",
        ),
        ("ApiKey=gk_key_x", "Server"),
    ];
    for (connection, keyword) in cases {
        let error = connection
            .parse::<ConnectionOptions>()
            .expect_err(connection)
            .to_string();
        assert!(error.contains(keyword), "{connection}: {error}");
        assert!(!error.contains("gk_key_x"), "{error}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_secret_in_debug_display_or_errors() {
    let server = Server::start(3600).await;
    let app = &server.service_app;
    let secret = app.secret.clone().unwrap();
    let options: ConnectionOptions = format!(
        "Server={};ClientId={};ClientSecret={secret}",
        server.url(),
        app.id
    )
    .parse()
    .unwrap();
    let client = ApiClient::new(options.clone()).unwrap();
    let token = client.access_token().await.unwrap();
    let tokens = client.tokens().unwrap();
    let printed = [
        format!("{options}"),
        format!("{options:?}"),
        format!("{client:?}"),
        format!("{tokens:?}"),
        format!("{token:?}"),
    ];
    for text in &printed {
        assert!(!text.contains(&secret), "{text}");
        assert!(
            !text.contains(gatekey_client::ExposeSecret::expose_secret(&token)),
            "{text}"
        );
    }

    let wrong: ConnectionOptions = format!(
        "Server={};ClientId={};ClientSecret=gk_cs_wrong_secret",
        server.url(),
        app.id
    )
    .parse()
    .unwrap();
    let error = ApiClient::new(wrong)
        .unwrap()
        .access_token()
        .await
        .expect_err("wrong secret");
    assert_eq!(error.code(), Some("invalid_client"));
    assert!(!format!("{error} {error:?}").contains("gk_cs_wrong_secret"));
    server.app.stop().await;
}
