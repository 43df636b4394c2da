//! OpenID Connect driven end to end by an independent relying-party library, the
//! `openidconnect` crate: discovery with its issuer and JWKS checks, the authorization code flow
//! with PKCE and a nonce, ID tokens verified by the library (signature against the published
//! keys, `iss`, `aud`, `exp`, `nonce`, `at_hash`) in each signing algorithm, refresh, `prompt=none`
//! and UserInfo. A standard relying party must work with the provider unmodified.

use gatekey_core::oauth::application::{AccessTokenFormat, ClientType, GrantType};
use openidconnect::core::CoreDeviceAuthorizationResponse;
use openidconnect::core::{CoreIdToken, CoreJwsSigningAlgorithm, CoreUserInfoClaims};
use openidconnect::{
    DeviceAuthorizationUrl, Nonce, OAuth2TokenResponse, Scope, SubjectIdentifier, TokenResponse,
};
use reqwest::header::{COOKIE, LOCATION};
use serde_json::json;
use time::Duration;

use crate::harness::{each_backend, seed, send_text, sign_in, TestApp, PASSWORD};
use crate::oauth_fixture::{oauth2_http, ClientSpec};
use crate::openid_connect_rp::{
    assert_identity, authentication_request, consent_for_code, discover, exchange, param,
    redirect_query, relying_party, sign_in_through_the_library, verified_claims,
};

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
        let (rp, tokens, claims) = sign_in_through_the_library(
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
        let id_token = tokens.id_token().expect("an ID token");
        let another_nonce = Nonce::new("another request's nonce".into());
        assert!(
            id_token
                .claims(&rp.id_token_verifier(), &another_nonce)
                .is_err(),
            "the nonce binds the ID token to its request"
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
                Some(SubjectIdentifier::new(subject.clone())),
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

#[tokio::test]
async fn the_library_takes_a_jwt_access_token_for_no_id_token() {
    each_backend(|backend| async move {
        let app = TestApp::start(backend).await;
        let seeded = seed(&app).await;
        let spec = ClientSpec {
            access_token_format: AccessTokenFormat::Jwt,
            ..ClientSpec::confidential()
        };
        let client = app.register_client(seeded.acme.id, spec).await;
        // The ID token verifies, its at_hash over the JWT access token.
        let (rp, tokens, _) = sign_in_through_the_library(
            &app,
            &client,
            &[],
            CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha256,
        )
        .await;
        // Signed by the same issuer, but typed `at+jwt` (RFC 9068 §2.1): refused as an ID token
        // before anything else is looked at.
        let access_token: CoreIdToken = tokens
            .access_token()
            .secret()
            .parse()
            .expect("a JWS in compact form");
        let refused = access_token
            .claims(&rp.id_token_verifier(), |_: Option<&Nonce>| Ok(()))
            .expect_err("an access token is no ID token");
        assert!(refused.to_string().contains("at+jwt"), "{refused}");
        app.stop().await;
    })
    .await;
}

#[tokio::test]
async fn the_device_grant_gives_the_library_an_id_token_without_a_nonce() {
    each_backend(|backend| async move {
        let app = TestApp::start(backend).await;
        let seeded = seed(&app).await;
        let spec = ClientSpec {
            client_type: ClientType::Public,
            grant_types: vec![GrantType::DeviceCode],
            ..ClientSpec::public()
        };
        let client = app.register_client(seeded.acme.id, spec).await;
        let rp = relying_party(&app, &client).await;
        let device = rp.clone().set_device_authorization_url(
            DeviceAuthorizationUrl::new(app.url("/oauth/device_authorization")).expect("url"),
        );
        let http = oauth2_http();
        // The library asks for `openid` itself.
        let details: CoreDeviceAuthorizationResponse = device
            .exchange_device_code()
            .add_scope(Scope::new("email".into()))
            .request_async(&http)
            .await
            .expect("device authorization");
        app.approve_device("owner@acme.test", details.user_code().secret(), "acme")
            .await;
        let tokens = device
            .exchange_device_access_token(&details)
            .expect("the token endpoint is discovered")
            .request_async(
                &http,
                tokio::time::sleep,
                Some(std::time::Duration::from_secs(30)),
            )
            .await
            .expect("tokens once approved");
        let no_nonce = |nonce: Option<&Nonce>| match nonce {
            None => Ok(()),
            Some(_) => Err("no nonce was sent".to_owned()),
        };
        let claims = verified_claims(
            &rp,
            &tokens,
            CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha256,
            no_nonce,
        );
        assert_eq!(claims.subject().as_str(), seeded.owner.user.id.to_string());
        assert_eq!(claims.email().map(|e| e.as_str()), Some("owner@acme.test"));
        assert!(claims.name().is_none(), "profile was not asked");
        app.stop().await;
    })
    .await;
}
