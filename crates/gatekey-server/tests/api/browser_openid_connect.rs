//! A real browser signs in and consents for an OpenID Connect relying party (the `openidconnect`
//! crate), which exchanges the code and verifies the ID token.
//!
//! Runs when `GATEKEY_TEST_BROWSER=1`, like the other browser tests.

use gatekey_store::testing::application_settings;
use std::time::{Duration, Instant};

use fantoccini::Locator;
use gatekey_core::oauth::application::{ApplicationSettings, ClientType, GrantType};
use gatekey_core::scope::ScopeSet;
use gatekey_store::Backend;
use openidconnect::core::{CoreAuthenticationFlow, CoreClient, CoreJwsSigningAlgorithm};
use openidconnect::{
    AccessTokenHash, AuthorizationCode, ClientId, CsrfToken, Nonce, PkceCodeChallenge,
    PkceCodeVerifier, RedirectUrl, Scope, TokenResponse,
};

use crate::browser::{browser, enabled, fill_and_sign_in, redirect_catcher, VERIFIER};
use crate::harness::TestApp;
use crate::oauth_fixture::oauth2_http;
use crate::openid_connect_rp::discover;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_browser_signs_in_and_consents_for_a_relying_party_that_verifies_the_id_token() {
    if !enabled() {
        return;
    }
    let (app, seeded) = TestApp::start_seeded(Backend::Sqlite).await;
    let settings = ApplicationSettings {
        redirect_uris: vec!["http://127.0.0.1/cb".into()],
        scopes: ScopeSet::parse("read").unwrap(),
        ..application_settings(
            "Browser relying party",
            &[GrantType::AuthorizationCode, GrantType::RefreshToken],
        )
    };
    app.store_application(seeded.acme.id, "app_rp", ClientType::Public, settings)
        .await;

    let (catcher, caught) = redirect_catcher().await;
    let redirect_uri = format!("http://127.0.0.1:{}/cb", catcher.port());
    let rp = CoreClient::from_provider_metadata(
        discover(&app).await,
        ClientId::new("app_rp".into()),
        None,
    )
    .set_redirect_uri(RedirectUrl::new(redirect_uri).unwrap());
    let verifier = PkceCodeVerifier::new(VERIFIER.into());
    let (authorize, state, nonce) = rp
        .authorize_url(
            CoreAuthenticationFlow::AuthorizationCode,
            CsrfToken::new_random,
            Nonce::new_random,
        )
        .add_scope(Scope::new("profile".into()))
        .add_scope(Scope::new("email".into()))
        .set_pkce_challenge(PkceCodeChallenge::from_code_verifier_sha256(&verifier))
        .url();

    let (_driver, client) = browser().await;
    client.goto(authorize.as_str()).await.unwrap();
    fill_and_sign_in(&client, "owner@acme.test").await;
    let allow = client
        .wait()
        .for_element(Locator::Css("button[value=allow]"))
        .await
        .unwrap();
    let page = client.source().await.unwrap();
    assert!(
        page.contains("Browser relying party"),
        "the consent page names the app"
    );
    allow.click().await.unwrap();

    let started = Instant::now();
    let query = loop {
        if let Some(query) = caught.lock().unwrap().clone() {
            break query;
        }
        if started.elapsed() > Duration::from_secs(15) {
            let source = client.source().await.unwrap_or_default();
            panic!("the browser never reached the redirect URI: {source}");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    client.close().await.unwrap();
    let pairs: Vec<(String, String)> = url::form_urlencoded::parse(query.as_bytes())
        .into_owned()
        .collect();
    let get = |name: &str| {
        pairs
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
    };
    assert_eq!(get("state").as_deref(), Some(state.secret().as_str()));
    let code = get("code").expect("a code");

    let tokens = rp
        .exchange_code(AuthorizationCode::new(code))
        .expect("the token endpoint is discovered")
        .set_pkce_verifier(verifier)
        .request_async(&oauth2_http())
        .await
        .expect("the code exchanged");
    let id_token = tokens.id_token().expect("an ID token");
    let id_verifier = rp
        .id_token_verifier()
        .set_allowed_algs([CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha256]);
    let claims = id_token
        .claims(&id_verifier, &nonce)
        .expect("the ID token verifies");
    assert_eq!(claims.subject().as_str(), seeded.owner.user.id.to_string());
    assert_eq!(claims.email().map(|e| e.as_str()), Some("owner@acme.test"));
    let expected = AccessTokenHash::from_token(
        openidconnect::OAuth2TokenResponse::access_token(&tokens),
        id_token.signing_alg().unwrap(),
        id_token.signing_key(&id_verifier).unwrap(),
    )
    .unwrap();
    assert_eq!(claims.access_token_hash(), Some(&expected));
    app.stop().await;
}
