//! `GET`/`POST /oauth/userinfo` (OpenID Connect Core 1.0 §5.3) as a relying party sees it: the
//! claims the token's scopes allow, a Bearer token from the header or a POST form and never
//! from the URL, and RFC 6750 errors with their challenges.

use gatekey_core::oauth::identity_claims::ACCOUNT_CLAIM;
use reqwest::header::{AUTHORIZATION, WWW_AUTHENTICATE};
use serde_json::json;

use crate::harness::{
    assert_error, each_backend, send, Answer, Client, ClientSpec, Seeded, TestApp,
};

async fn start(backend: gatekey_store::Backend) -> (TestApp, Seeded, Client) {
    TestApp::start_with_client(backend, ClientSpec::confidential()).await
}

async fn get_userinfo(app: &TestApp, token: &str) -> Answer {
    send(
        app.http
            .get(app.url("/oauth/userinfo"))
            .header(AUTHORIZATION, format!("Bearer {token}")),
    )
    .await
}

fn challenge(answer: &Answer) -> &str {
    answer
        .1
        .get(WWW_AUTHENTICATE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
}

#[tokio::test]
async fn the_claims_follow_the_scopes_by_get_and_post() {
    each_backend(|backend| async move {
        let (app, seeded, client) = start(backend).await;
        let owner = &seeded.owner;
        let sub = owner.user.id.to_string();

        let (bare, _) = app.grant_with_tokens(owner, &client, "openid read").await;
        let answer = get_userinfo(&app, &bare).await;
        assert_eq!(answer.0, 200, "{}", answer.2);
        assert_eq!(answer.2, json!({"sub": sub, ACCOUNT_CLAIM: "acme"}));
        assert_eq!(
            answer.1.get("cache-control").and_then(|v| v.to_str().ok()),
            Some("no-store")
        );

        let (full, _) = app
            .grant_with_tokens(owner, &client, "openid profile email")
            .await;
        let expected = json!({
            "sub": sub,
            "name": owner.user.name,
            "email": "owner@acme.test",
            "email_verified": false,
            ACCOUNT_CLAIM: "acme",
        });
        assert_eq!(get_userinfo(&app, &full).await.2, expected);
        let by_header = send(
            app.http
                .post(app.url("/oauth/userinfo"))
                .header(AUTHORIZATION, format!("Bearer {full}")),
        )
        .await;
        assert_eq!(by_header.2, expected);
        let by_form = send(
            app.http
                .post(app.url("/oauth/userinfo"))
                .form(&[("access_token", full.as_str())]),
        )
        .await;
        assert_eq!((by_form.0, &by_form.2), (200, &expected));
        app.stop().await;
    })
    .await;
}

#[tokio::test]
async fn a_token_without_openid_is_insufficient_scope() {
    each_backend(|backend| async move {
        let (app, seeded, client) = start(backend).await;
        let (access, _) = app
            .grant_with_tokens(&seeded.owner, &client, "read email")
            .await;
        let answer = get_userinfo(&app, &access).await;
        assert_error(&answer, 403, "insufficient_scope");
        assert!(
            challenge(&answer).starts_with("Bearer")
                && challenge(&answer).contains("error=\"insufficient_scope\""),
            "{}",
            challenge(&answer)
        );
        app.stop().await;
    })
    .await;
}

#[tokio::test]
async fn revoked_unknown_and_api_key_credentials_are_invalid_tokens() {
    each_backend(|backend| async move {
        let (app, seeded, client) = start(backend).await;
        let (access, _) = app
            .grant_with_tokens(&seeded.owner, &client, "openid")
            .await;
        assert_eq!(get_userinfo(&app, &access).await.0, 200);
        app.revoke_grants(&seeded.owner, &client).await;
        let key = app.key(&seeded.owner, None).await;
        for credential in [access.as_str(), "gkat_unknown", key.as_str()] {
            let answer = get_userinfo(&app, credential).await;
            assert_error(&answer, 401, "invalid_token");
            assert!(
                challenge(&answer).contains("error=\"invalid_token\""),
                "{}",
                challenge(&answer)
            );
        }
        app.stop().await;
    })
    .await;
}

#[tokio::test]
async fn no_token_is_a_bare_challenge_and_a_token_in_the_url_is_refused() {
    each_backend(|backend| async move {
        let (app, seeded, client) = start(backend).await;
        let none = send(app.http.get(app.url("/oauth/userinfo"))).await;
        assert_eq!(none.0, 401);
        assert!(challenge(&none).starts_with("Bearer"), "{:?}", none.1);
        assert!(!challenge(&none).contains("error="), "{}", challenge(&none));

        let (access, _) = app
            .grant_with_tokens(&seeded.owner, &client, "openid")
            .await;
        let in_url = send(
            app.http
                .get(app.url(&format!("/oauth/userinfo?access_token={access}"))),
        )
        .await;
        assert_error(&in_url, 400, "invalid_request");
        let twice = send(
            app.http
                .post(app.url("/oauth/userinfo"))
                .header(AUTHORIZATION, format!("Bearer {access}"))
                .form(&[("access_token", access.as_str())]),
        )
        .await;
        assert_error(&twice, 400, "invalid_request");
        app.stop().await;
    })
    .await;
}
