//! OpenID Connect driven end to end by an independent relying-party library, the
//! `openidconnect` crate: discovery with its issuer and JWKS checks, the authorization code flow
//! with PKCE and a nonce, ID tokens verified by the library (signature against the published
//! keys, `iss`, `aud`, `exp`, `nonce`, `at_hash`) in each signing algorithm, refresh, `prompt=none`
//! and UserInfo. A standard relying party must work with the provider unmodified.

use gatekey_core::user::Member;
use openidconnect::core::{
    CoreAuthPrompt, CoreAuthenticationFlow, CoreClient, CoreIdTokenClaims, CoreJwsSigningAlgorithm,
    CoreProviderMetadata, CoreTokenResponse, CoreUserInfoClaims,
};
use openidconnect::{
    AccessTokenHash, AuthorizationCode, ClientId, ClientSecret, CsrfToken, EndpointMaybeSet,
    EndpointNotSet, EndpointSet, IssuerUrl, Nonce, OAuth2TokenResponse, PkceCodeChallenge,
    PkceCodeVerifier, RedirectUrl, Scope, TokenResponse,
};
use reqwest::header::{COOKIE, LOCATION};
use serde_json::json;
use time::Duration;

use crate::harness::{each_backend, seed, send_text, sign_in, Browser, TestApp, PASSWORD};
use crate::oauth_fixture::{oauth2_http, Client, ClientSpec, REDIRECT};

/// The library's client as discovery builds it: the token and UserInfo endpoints are known
/// only at run time.
type RelyingParty = CoreClient<
    EndpointSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointMaybeSet,
    EndpointMaybeSet,
>;

/// The provider's metadata, discovered by the library from the issuer alone.
pub(crate) async fn discover(app: &TestApp) -> CoreProviderMetadata {
    let issuer = IssuerUrl::new(app.base_url()).expect("issuer URL");
    CoreProviderMetadata::discover_async(issuer, &oauth2_http())
        .await
        .expect("discovery: the issuer matches and the JWKS parses")
}

/// A relying party for `client`, built from discovery.
async fn relying_party(app: &TestApp, client: &Client) -> RelyingParty {
    let secret = client.secret.clone().map(ClientSecret::new);
    CoreClient::from_provider_metadata(
        discover(app).await,
        ClientId::new(client.id.clone()),
        secret,
    )
    .set_redirect_uri(RedirectUrl::new(REDIRECT.into()).expect("url"))
}

/// What the relying party keeps between the authorization request and the code exchange.
struct Pending {
    url: String,
    state: CsrfToken,
    nonce: Nonce,
    verifier: PkceCodeVerifier,
}

/// An authentication request for `openid profile email` and `more` with PKCE, a state and a
/// nonce; `prompt=none` when `silent`.
fn authentication_request(rp: &RelyingParty, more: &[&str], silent: bool) -> Pending {
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let mut request = rp
        .authorize_url(
            CoreAuthenticationFlow::AuthorizationCode,
            CsrfToken::new_random,
            Nonce::new_random,
        )
        .add_scope(Scope::new("profile".into()))
        .add_scope(Scope::new("email".into()))
        .add_scopes(more.iter().map(|scope| Scope::new((*scope).into())))
        .set_pkce_challenge(challenge);
    if silent {
        request = request.add_prompt(CoreAuthPrompt::None);
    }
    let (url, state, nonce) = request.url();
    Pending {
        url: url.to_string(),
        state,
        nonce,
        verifier,
    }
}

/// The query of the redirect to the client, checked to carry the request's state.
fn redirect_query(location: &str, state: &CsrfToken) -> Vec<(String, String)> {
    assert!(location.starts_with(REDIRECT), "{location}");
    let url = url::Url::parse(location).expect("absolute redirect");
    let pairs: Vec<(String, String)> = url.query_pairs().into_owned().collect();
    assert_eq!(
        param(&pairs, "state"),
        Some(state.secret().as_str()),
        "{location}"
    );
    pairs
}

fn param<'a>(pairs: &'a [(String, String)], name: &str) -> Option<&'a str> {
    pairs
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

/// `browser` follows `pending` to the consent page and allows: the code the client receives.
async fn consent_for_code(app: &TestApp, browser: &Browser, pending: &Pending) -> String {
    let (status, _, page) =
        send_text(app.http.get(&pending.url).header(COOKIE, browser.cookie())).await;
    assert_eq!(status, 200, "the consent page: {page}");
    let location = browser.decide_consent(app, &page, "allow").await;
    let pairs = redirect_query(&location, &pending.state);
    param(&pairs, "code")
        .unwrap_or_else(|| panic!("a code: {location}"))
        .to_owned()
}

/// The library exchanges `code` with the PKCE verifier.
async fn exchange(
    rp: &RelyingParty,
    code: String,
    verifier: PkceCodeVerifier,
) -> CoreTokenResponse {
    rp.exchange_code(AuthorizationCode::new(code))
        .expect("the token endpoint is discovered")
        .set_pkce_verifier(verifier)
        .request_async(&oauth2_http())
        .await
        .expect("the code exchanged")
}

/// The token response's ID token, verified by the library as a relying party must (Core
/// §3.1.3.7): signed by a published key in `alg`, `iss` the issuer, `aud` the client, not
/// expired, the request's `nonce`; and its `at_hash` the access token's (§3.1.3.8).
fn verified_claims(
    rp: &RelyingParty,
    tokens: &CoreTokenResponse,
    alg: CoreJwsSigningAlgorithm,
    nonce: &Nonce,
) -> CoreIdTokenClaims {
    let id_token = tokens
        .id_token()
        .expect("an ID token in the token response");
    let verifier = rp.id_token_verifier().set_allowed_algs([alg.clone()]);
    let claims = id_token
        .claims(&verifier, nonce)
        .expect("the ID token verifies")
        .clone();
    assert_eq!(id_token.signing_alg().expect("signed"), &alg);
    let expected = AccessTokenHash::from_token(
        tokens.access_token(),
        id_token.signing_alg().expect("signed"),
        id_token.signing_key(&verifier).expect("the signing key"),
    )
    .expect("at_hash computes");
    assert_eq!(claims.access_token_hash(), Some(&expected), "at_hash");
    claims
}

/// The documented claims of `openid profile email` for `member` (docs/oidc.md, Claims).
fn assert_identity(claims: &CoreIdTokenClaims, member: &Member, client: &Client) {
    assert_eq!(claims.subject().as_str(), member.user.id.to_string());
    let name = claims.name().and_then(|name| name.get(None));
    assert_eq!(name.map(|n| n.as_str()), Some("Test Person"));
    assert_eq!(claims.email().map(|e| e.as_str()), Some("owner@acme.test"));
    assert_eq!(claims.email_verified(), Some(false));
    let audiences: Vec<&str> = claims.audiences().iter().map(|a| a.as_str()).collect();
    assert_eq!(audiences, [client.id.as_str()]);
    assert_eq!(
        claims.authorized_party().map(|azp| azp.as_str()),
        Some(client.id.as_str())
    );
    assert!(claims.auth_time().is_some(), "auth_time");
}

/// The full code flow through the library for `client`: sign in, consent, exchange, verify.
async fn sign_in_through_the_library(
    app: &TestApp,
    client: &Client,
    more: &[&str],
    alg: CoreJwsSigningAlgorithm,
) -> (RelyingParty, CoreTokenResponse, CoreIdTokenClaims) {
    let rp = relying_party(app, client).await;
    let browser = sign_in(app, "owner@acme.test", PASSWORD).await;
    let pending = authentication_request(&rp, more, false);
    let code = consent_for_code(app, &browser, &pending).await;
    let tokens = exchange(&rp, code, pending.verifier).await;
    let claims = verified_claims(&rp, &tokens, alg, &pending.nonce);
    (rp, tokens, claims)
}

#[tokio::test]
async fn the_library_discovers_the_provider() {
    each_backend(|backend| async move {
        let app = TestApp::start(backend).await;
        let metadata = discover(&app).await;
        assert_eq!(metadata.issuer().as_str(), app.base_url());
        assert_eq!(
            metadata.jwks_uri().as_str(),
            app.url("/oauth/jwks").as_str()
        );
        assert_eq!(
            metadata.userinfo_endpoint().map(|u| u.as_str().to_owned()),
            Some(app.url("/oauth/userinfo"))
        );
        assert_eq!(
            metadata.id_token_signing_alg_values_supported(),
            &[
                CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha256,
                CoreJwsSigningAlgorithm::EcdsaP256Sha256,
                CoreJwsSigningAlgorithm::EdDsa,
            ]
        );
        assert!(
            metadata.jwks().keys().len() >= 3,
            "a key per algorithm: {:?}",
            metadata.jwks()
        );
        app.stop().await;
    })
    .await;
}

#[tokio::test]
async fn the_code_flow_with_pkce_and_a_nonce_gives_an_id_token_the_library_verifies() {
    each_backend(|backend| async move {
        let app = TestApp::start(backend).await;
        let seeded = seed(&app).await;
        let client = app
            .register_client(seeded.acme.id, ClientSpec::confidential())
            .await;
        let (_, tokens, claims) = sign_in_through_the_library(
            &app,
            &client,
            &[],
            CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha256,
        )
        .await;
        assert_identity(&claims, &seeded.owner, &client);
        let granted: Vec<String> = tokens
            .scopes()
            .map(|scopes| scopes.iter().map(|s| s.to_string()).collect())
            .unwrap_or_default();
        assert_eq!(granted, ["openid", "profile", "email"]);
        assert!(
            tokens.refresh_token().is_none(),
            "no refresh token without offline_access"
        );
        app.stop().await;
    })
    .await;
}

#[tokio::test]
async fn a_refresh_through_the_library_keeps_the_subject_with_a_new_issue_time() {
    each_backend(|backend| async move {
        let (app, clock) = TestApp::start_with_manual_clock(backend, |_| {}).await;
        let seeded = seed(&app).await;
        let client = app
            .register_client(seeded.acme.id, ClientSpec::confidential())
            .await;
        let (rp, tokens, first) = sign_in_through_the_library(
            &app,
            &client,
            &["offline_access"],
            CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha256,
        )
        .await;
        let refresh = tokens.refresh_token().expect("a refresh token").clone();

        clock.advance(Duration::minutes(5));
        let refreshed = rp
            .exchange_refresh_token(&refresh)
            .expect("the token endpoint is discovered")
            .request_async(&oauth2_http())
            .await
            .expect("the refresh");
        // A refreshed ID token need not repeat the nonce (Core §12.2).
        let any_nonce = |_: Option<&Nonce>| Ok(());
        let id_token = refreshed.id_token().expect("an ID token on refresh");
        let verifier = rp
            .id_token_verifier()
            .set_allowed_algs([CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha256]);
        let again = id_token
            .claims(&verifier, any_nonce)
            .expect("the refreshed ID token verifies");
        assert_eq!(again.subject(), first.subject());
        assert_eq!(again.audiences(), first.audiences());
        assert_eq!(
            again.issue_time().timestamp() - first.issue_time().timestamp(),
            300,
            "a new iat"
        );
        assert_eq!(
            again.auth_time(),
            first.auth_time(),
            "auth_time stays the sign-in's"
        );
        app.stop().await;
    })
    .await;
}

#[tokio::test]
async fn es256_and_eddsa_id_tokens_verify_in_the_library() {
    each_backend(|backend| async move {
        let app = TestApp::start(backend).await;
        let seeded = seed(&app).await;
        let key = app.key(&seeded.owner, None).await;
        for (alg, name) in [
            (CoreJwsSigningAlgorithm::EcdsaP256Sha256, "ES256"),
            (CoreJwsSigningAlgorithm::EdDsa, "EdDSA"),
        ] {
            let client = app
                .register_client(seeded.acme.id, ClientSpec::confidential())
                .await;
            let patched = app
                .patch_application(
                    client.application.id,
                    &key,
                    json!({"id_token_signed_response_alg": name}),
                )
                .await;
            assert_eq!(patched.0, 200, "{}", patched.2);
            let (_, _, claims) = sign_in_through_the_library(&app, &client, &[], alg).await;
            assert_identity(&claims, &seeded.owner, &client);
        }
        app.stop().await;
    })
    .await;
}

#[tokio::test]
async fn prompt_none_is_login_required_without_a_session_and_a_code_after_consent() {
    each_backend(|backend| async move {
        let app = TestApp::start(backend).await;
        let seeded = seed(&app).await;
        let client = app
            .register_client(seeded.acme.id, ClientSpec::confidential())
            .await;
        let rp = relying_party(&app, &client).await;

        let anonymous = authentication_request(&rp, &[], true);
        let (status, headers, body) = send_text(app.http.get(&anonymous.url)).await;
        assert_eq!(status, 302, "{body}");
        let location = headers[LOCATION].to_str().expect("location");
        let pairs = redirect_query(location, &anonymous.state);
        assert_eq!(param(&pairs, "error"), Some("login_required"), "{location}");
        assert_eq!(param(&pairs, "code"), None);

        app.consent(&seeded.owner, &client, "openid profile email")
            .await;
        let browser = sign_in(&app, "owner@acme.test", PASSWORD).await;
        let silent = authentication_request(&rp, &[], true);
        let (status, headers, body) =
            send_text(app.http.get(&silent.url).header(COOKIE, browser.cookie())).await;
        assert_eq!(status, 302, "no page with prompt=none: {body}");
        let location = headers[LOCATION].to_str().expect("location");
        let pairs = redirect_query(location, &silent.state);
        assert_eq!(param(&pairs, "error"), None, "{location}");
        let code = param(&pairs, "code").expect("a code").to_owned();
        let tokens = exchange(&rp, code, silent.verifier).await;
        let claims = verified_claims(
            &rp,
            &tokens,
            CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha256,
            &silent.nonce,
        );
        assert_identity(&claims, &seeded.owner, &client);
        app.stop().await;
    })
    .await;
}

#[tokio::test]
async fn userinfo_through_the_library_names_the_same_subject() {
    each_backend(|backend| async move {
        let app = TestApp::start(backend).await;
        let seeded = seed(&app).await;
        let client = app
            .register_client(seeded.acme.id, ClientSpec::confidential())
            .await;
        let rp = relying_party(&app, &client).await;
        let browser = sign_in(&app, "owner@acme.test", PASSWORD).await;
        let pending = authentication_request(&rp, &[], false);
        let code = consent_for_code(&app, &browser, &pending).await;
        let tokens = exchange(&rp, code, pending.verifier).await;
        let subject = seeded.owner.user.id.to_string();

        // The library checks the answer's `sub` against the one it expects.
        let info: CoreUserInfoClaims = rp
            .user_info(
                tokens.access_token().clone(),
                Some(openidconnect::SubjectIdentifier::new(subject.clone())),
            )
            .expect("the UserInfo endpoint is discovered")
            .request_async(&oauth2_http())
            .await
            .expect("UserInfo answers");
        assert_eq!(info.subject().as_str(), subject);
        let name = info.name().and_then(|name| name.get(None));
        assert_eq!(name.map(|n| n.as_str()), Some("Test Person"));
        assert_eq!(info.email().map(|e| e.as_str()), Some("owner@acme.test"));
        assert_eq!(info.email_verified(), Some(false));
        app.stop().await;
    })
    .await;
}
