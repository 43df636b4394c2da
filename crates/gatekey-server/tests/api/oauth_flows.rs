//! Every grant driven end to end by an independent client library, the `oauth2` crate: the
//! server must work with a standard client unmodified.

use gatekey_core::role::Role;
use gatekey_core::user::Member;
use oauth2::basic::BasicTokenResponse;
use oauth2::{
    AccessToken, AuthorizationCode, PkceCodeChallenge, RefreshToken, Scope,
    TokenIntrospectionResponse, TokenResponse,
};
use reqwest::Method;
use serde_json::Value;
use time::Duration;

use crate::harness::{each_backend, send, TestApp};
use crate::oauth_fixture::{oauth2_http, Client, ClientSpec, FullClient, REDIRECT};

/// The scopes a token response grants, in order.
fn scopes_of(token: &BasicTokenResponse) -> Vec<String> {
    let scopes = token.scopes().expect("scope");
    scopes.iter().map(|s| s.to_string()).collect()
}

/// A form naming `token` and what kind of token it is (RFC 7009 §2.1, RFC 7662 §2.1).
fn hinted<'a>(token: &'a str, hint: &'a str) -> [(&'a str, &'a str); 2] {
    [("token", token), ("token_type_hint", hint)]
}

/// `member` consents to `client` with `scopes`, and the `oauth2` crate exchanges the code the
/// authorization endpoint would have sent back, with its PKCE verifier: the crate's client,
/// the HTTP client it uses, and the tokens.
async fn exchange_a_pkce_code(
    app: &TestApp,
    member: &Member,
    client: &Client,
    scopes: &str,
) -> (FullClient, reqwest::Client, BasicTokenResponse) {
    let grant = app.consent(member, client, scopes).await;
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let minute = Duration::seconds(60);
    let code = app
        .code(&grant, REDIRECT, Some(challenge.as_str()), minute)
        .await;
    let oauth = app.oauth2_client(client);
    let http = oauth2_http();
    let tokens = oauth
        .exchange_code(AuthorizationCode::new(code))
        .set_pkce_verifier(verifier)
        .request_async(&http)
        .await
        .expect("the code exchanged with its PKCE verifier");
    (oauth, http, tokens)
}

#[tokio::test]
async fn the_metadata_document_names_what_works() {
    each_backend(|backend| async move {
        let app = TestApp::start(backend).await;
        let (status, _, doc) = send(
            app.http
                .get(app.url("/.well-known/oauth-authorization-server")),
        )
        .await;
        assert_eq!(status, 200, "{doc}");
        let issuer = app.server.state.issuer.clone();
        assert_eq!(doc["issuer"], issuer.as_str());
        for (field, path) in [
            ("authorization_endpoint", "/oauth/authorize"),
            ("token_endpoint", "/oauth/token"),
            ("revocation_endpoint", "/oauth/revoke"),
            ("introspection_endpoint", "/oauth/introspect"),
        ] {
            assert_eq!(doc[field], format!("{issuer}{path}"), "{field}");
        }
        let list = |field: &str| -> Vec<String> {
            doc[field]
                .as_array()
                .unwrap_or_else(|| panic!("{field} is a list"))
                .iter()
                .map(|v| v.as_str().unwrap().to_owned())
                .collect()
        };
        let grants = list("grant_types_supported");
        assert_eq!(
            grants[..3],
            ["authorization_code", "refresh_token", "client_credentials"]
        );
        assert!(!grants.iter().any(|g| g == "password" || g == "implicit"));
        // The device endpoint and grant are advertised together or not at all.
        let device_grant = grants
            .iter()
            .any(|g| g == "urn:ietf:params:oauth:grant-type:device_code");
        assert_eq!(
            doc.get("device_authorization_endpoint").is_some(),
            device_grant,
            "{doc}"
        );
        assert_eq!(list("response_types_supported"), ["code"]);
        assert_eq!(list("code_challenge_methods_supported"), ["S256"]);
        assert_eq!(
            list("token_endpoint_auth_methods_supported"),
            ["client_secret_basic", "client_secret_post", "none"]
        );
        assert_eq!(
            list("scopes_supported"),
            [
                "openid",
                "profile",
                "email",
                "offline_access",
                "read",
                "write",
                "admin"
            ]
        );
        assert_eq!(doc["authorization_response_iss_parameter_supported"], true);
        app.stop().await;
    })
    .await;
}

#[tokio::test]
async fn client_credentials_tokens_act_as_the_service_account() {
    each_backend(|backend| async move {
        let (app, seeded) = TestApp::start_seeded(backend).await;
        let robot = app
            .service_account(&seeded.acme, "Reporting robot", Role::Member)
            .await;
        let client = app
            .register_client(seeded.acme.id, ClientSpec::service(&robot))
            .await;
        let oauth = app.oauth2_client(&client);
        let http = oauth2_http();

        let token = oauth
            .exchange_client_credentials()
            .request_async(&http)
            .await
            .expect("client_credentials with Basic authentication");
        assert!(token.refresh_token().is_none(), "no refresh token");
        assert_eq!(
            token.expires_in(),
            Some(std::time::Duration::from_secs(3600))
        );
        assert_eq!(scopes_of(&token), ["read", "write"]);

        let me = send(app.request(Method::GET, "/api/v1/me", token.access_token().secret())).await;
        assert_eq!(me.0, 200, "{}", me.2);
        assert_eq!(me.2["user"]["id"], robot.user.id);
        assert_eq!(me.2["user"]["kind"], "service");
        assert_eq!(me.2["account"]["slug"], "acme");
        assert_eq!(me.2["credential"]["type"], "oauth");
        assert_eq!(me.2["credential"]["client_id"], client.id.as_str());

        // client_secret_post works too, and a narrower scope is honoured.
        let narrow = oauth
            .clone()
            .set_auth_type(oauth2::AuthType::RequestBody)
            .exchange_client_credentials()
            .add_scope(Scope::new("read".into()))
            .request_async(&http)
            .await
            .expect("client_credentials with client_secret_post");
        assert_eq!(scopes_of(&narrow), ["read"]);

        let raw = app
            .token(&client, &[("grant_type", "client_credentials")])
            .await;
        assert_eq!(raw.0, 200, "{}", raw.2);
        assert_eq!(raw.2["account"], "acme", "the response names the account");
        assert_eq!(raw.2["token_type"], "Bearer");
        app.stop().await;
    })
    .await;
}

#[tokio::test]
async fn authorization_code_with_pkce_then_refresh_then_revoke() {
    each_backend(|backend| async move {
        let (app, seeded, client) = TestApp::start_with_client(backend, ClientSpec::public()).await;
        let (oauth, http, first) =
            exchange_a_pkce_code(&app, &seeded.owner, &client, "read write").await;
        let refresh = first.refresh_token().expect("a refresh token").clone();
        let me = send(app.request(Method::GET, "/api/v1/me", first.access_token().secret())).await;
        assert_eq!(me.0, 200, "{}", me.2);
        assert_eq!(me.2["user"]["email"], "owner@acme.test");
        assert_eq!(
            me.2["credential"],
            serde_json::json!({
                "type": "oauth",
                "client_id": client.id,
                "expires_at": me.2["credential"]["expires_at"],
            })
        );

        // Rotation: each refresh returns a new refresh token; a narrower scope is allowed.
        let second = oauth
            .exchange_refresh_token(&refresh)
            .add_scope(Scope::new("read".into()))
            .request_async(&http)
            .await
            .expect("refreshed");
        let rotated = second.refresh_token().expect("a new refresh token").clone();
        assert_ne!(rotated.secret(), refresh.secret());
        assert_eq!(scopes_of(&second), ["read"]);
        let third = oauth
            .exchange_refresh_token(&rotated)
            .request_async(&http)
            .await
            .expect("the rotated token keeps the original scope");
        assert_eq!(scopes_of(&third), ["read", "write"]);

        // Revoking the refresh token ends its family, access tokens too. (The library refuses
        // a revocation URL without TLS, as RFC 7009 §5 asks, so this one is sent raw.)
        let newest = third.refresh_token().expect("refresh token").clone();
        let revoked = app
            .post_as(&client, "/oauth/revoke", &[("token", newest.secret())])
            .await;
        assert_eq!(revoked.0, 200, "{}", revoked.2);
        assert!(oauth
            .exchange_refresh_token(&newest)
            .request_async(&http)
            .await
            .is_err());
        let me = send(app.request(Method::GET, "/api/v1/me", third.access_token().secret())).await;
        assert_eq!(me.0, 401, "the family's access token is refused at once");
        app.stop().await;
    })
    .await;
}

#[tokio::test]
async fn a_confidential_client_exchanges_a_code_and_introspects() {
    each_backend(|backend| async move {
        let (app, seeded, client) =
            TestApp::start_with_client(backend, ClientSpec::confidential()).await;
        // The crate authenticates a confidential client with HTTP Basic.
        let (oauth, http, tokens) =
            exchange_a_pkce_code(&app, &seeded.owner, &client, "read").await;

        let access = AccessToken::new(tokens.access_token().secret().clone());
        let seen = oauth
            .introspect(&access)
            .request_async(&http)
            .await
            .expect("own token introspected");
        assert!(seen.active());
        assert_eq!(seen.username(), Some("owner@acme.test"));
        assert_eq!(
            seen.client_id().map(|c| c.as_str()),
            Some(client.id.as_str())
        );
        assert_eq!(seen.sub(), Some(seeded.owner.user.id.to_string().as_str()));

        let revoked = app
            .post_as(
                &client,
                "/oauth/revoke",
                &hinted(access.secret(), "access_token"),
            )
            .await;
        assert_eq!(revoked.0, 200, "{}", revoked.2);
        let after = oauth
            .introspect(&access)
            .request_async(&http)
            .await
            .expect("introspected");
        assert!(!after.active());

        // The refresh token survives revoking its access token alone.
        let refresh: &RefreshToken = tokens.refresh_token().expect("refresh token");
        let raw = app
            .post_as(
                &client,
                "/oauth/introspect",
                &hinted(refresh.secret(), "refresh_token"),
            )
            .await;
        assert_eq!(raw.2["active"], Value::Bool(true), "{}", raw.2);
        assert_eq!(raw.2["token_type"], "refresh_token");
        app.stop().await;
    })
    .await;
}
