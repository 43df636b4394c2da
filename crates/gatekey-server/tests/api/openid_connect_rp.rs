//! A relying party of this provider made with an independent library, the `openidconnect`
//! crate: discovery, the authentication request, the code exchange and the ID token checks a
//! relying party makes (OpenID Connect Core 1.0 §3.1.3.7, §3.1.3.8).

use gatekey_core::user::Member;
use openidconnect::core::{
    CoreAuthPrompt, CoreAuthenticationFlow, CoreClient, CoreIdTokenClaims, CoreJwsSigningAlgorithm,
    CoreProviderMetadata, CoreTokenResponse,
};
use openidconnect::{
    AccessTokenHash, AuthorizationCode, ClientId, ClientSecret, CsrfToken, EndpointMaybeSet,
    EndpointNotSet, EndpointSet, IssuerUrl, Nonce, NonceVerifier, OAuth2TokenResponse,
    PkceCodeChallenge, PkceCodeVerifier, RedirectUrl, Scope, TokenResponse,
};
use reqwest::header::COOKIE;

use crate::harness::{send_text, sign_in, Browser, TestApp, PASSWORD};
use crate::oauth_fixture::{oauth2_http, Client, REDIRECT};

/// The library's client as discovery builds it: the token and UserInfo endpoints are known
/// only at run time.
pub(crate) type RelyingParty = CoreClient<
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
pub(crate) async fn relying_party(app: &TestApp, client: &Client) -> RelyingParty {
    let secret = client.secret.clone().map(ClientSecret::new);
    CoreClient::from_provider_metadata(
        discover(app).await,
        ClientId::new(client.id.clone()),
        secret,
    )
    .set_redirect_uri(RedirectUrl::new(REDIRECT.into()).expect("url"))
}

/// What the relying party keeps between the authorization request and the code exchange.
pub(crate) struct Pending {
    pub(crate) url: String,
    pub(crate) state: CsrfToken,
    pub(crate) nonce: Nonce,
    pub(crate) verifier: PkceCodeVerifier,
}

/// An authentication request for `openid profile email` and `more` with PKCE, a state and a
/// nonce; `prompt=none` when `silent`.
pub(crate) fn authentication_request(rp: &RelyingParty, more: &[&str], silent: bool) -> Pending {
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
pub(crate) fn redirect_query(location: &str, state: &CsrfToken) -> Vec<(String, String)> {
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

pub(crate) fn param<'a>(pairs: &'a [(String, String)], name: &str) -> Option<&'a str> {
    pairs
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

/// `browser` follows `pending` to the consent page and allows: the code the client receives.
pub(crate) async fn consent_for_code(
    app: &TestApp,
    browser: &Browser,
    pending: &Pending,
) -> String {
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
pub(crate) async fn exchange(
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
pub(crate) fn verified_claims(
    rp: &RelyingParty,
    tokens: &CoreTokenResponse,
    alg: CoreJwsSigningAlgorithm,
    nonce: impl NonceVerifier,
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
pub(crate) fn assert_identity(claims: &CoreIdTokenClaims, member: &Member, client: &Client) {
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
pub(crate) async fn sign_in_through_the_library(
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
