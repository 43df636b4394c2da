//! ID tokens (OpenID Connect Core 1.0) from the token endpoint, checked with an independent
//! JOSE library against the published JWKS: their claims from the code, refresh and device
//! grants, the algorithm each application registered, and `offline_access` deciding refresh
//! tokens for OpenID Connect authorizations.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use gatekey_core::oauth::application::SigningAlgorithm;
use gatekey_core::oauth::store::TokenStore;
use gatekey_core::oauth::token::NewCode;
use gatekey_core::secret::{Secret, SecretKind};
use gatekey_server::testing::REDIRECT;
use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{decode, decode_header, Algorithm, DecodingKey, Validation};
use serde_json::Value;
use sha2::{Digest, Sha256};
use time::Duration;

use crate::harness::{each_backend, Client, ClientSpec, Seeded, TestApp};

/// The claims of `id_token`, verified against the JWKS as a relying party would, for `client`.
async fn verified(app: &TestApp, client: &Client, id_token: &str) -> (Algorithm, Value) {
    let header = decode_header(id_token).expect("a JWS header");
    assert_eq!(header.typ.as_deref(), Some("JWT"));
    let set: JwkSet = app
        .http
        .get(app.url("/oauth/jwks"))
        .send()
        .await
        .expect("jwks")
        .json()
        .await
        .expect("a JWK set");
    let jwk = set
        .find(header.kid.as_deref().expect("kid"))
        .expect("published");
    let key = DecodingKey::from_jwk(jwk).expect("a key");
    let mut validation = Validation::new(header.alg);
    validation.set_issuer(&[app.base_url()]);
    validation.set_audience(&[client.id.as_str()]);
    let claims = decode::<Value>(id_token, &key, &validation)
        .expect("the ID token verifies")
        .claims;
    (header.alg, claims)
}

/// A code for `client` under a grant of the seeded owner with `scopes`, as the authorization
/// endpoint stores it after a sign-in five minutes ago with `nonce`.
async fn code(
    app: &TestApp,
    seeded: &Seeded,
    client: &Client,
    scopes: &str,
    nonce: &str,
) -> String {
    let grant = app.consent(&seeded.owner, client, scopes).await;
    let code = Secret::generate(SecretKind::AuthorizationCode);
    let now = app.now();
    let new = NewCode {
        hash: code.hash(),
        grant_id: grant.id,
        redirect_uri: REDIRECT.into(),
        scopes: grant.scopes.clone(),
        code_challenge: None,
        nonce: Some(nonce.into()),
        auth_time: Some(now - Duration::minutes(5)),
        sid: Some("session-id".into()),
        created_at: now,
        expires_at: now + Duration::minutes(1),
    };
    app.store().create_code(new).await.expect("code");
    code.expose().to_owned()
}

async fn exchange(app: &TestApp, client: &Client, code: &str) -> Value {
    let answer = app
        .token(
            client,
            &[
                ("grant_type", "authorization_code"),
                ("code", code),
                ("redirect_uri", REDIRECT),
            ],
        )
        .await;
    assert_eq!(answer.0, 200, "{}", answer.2);
    answer.2
}

fn at_hash(access_token: &str) -> String {
    URL_SAFE_NO_PAD.encode(&Sha256::digest(access_token.as_bytes())[..16])
}

#[tokio::test]
async fn the_code_grant_returns_an_id_token_a_relying_party_verifies() {
    each_backend(|backend| async move {
        let (app, seeded, client) =
            TestApp::start_with_client(backend, ClientSpec::confidential()).await;
        let code = code(&app, &seeded, &client, "openid profile email read", "n-0S6").await;
        let tokens = exchange(&app, &client, &code).await;
        let access = tokens["access_token"].as_str().expect("access token");
        let (algorithm, claims) = verified(
            &app,
            &client,
            tokens["id_token"].as_str().expect("id token"),
        )
        .await;

        assert_eq!(algorithm, Algorithm::RS256, "the default");
        let now = app.now().unix_timestamp();
        assert_eq!(claims["sub"], seeded.owner.user.id.to_string());
        assert_eq!(claims["azp"], client.id.as_str());
        assert_eq!(claims["nonce"], "n-0S6");
        assert_eq!(claims["at_hash"], at_hash(access));
        assert_eq!(claims["auth_time"].as_i64(), Some(now - 300));
        let iat = claims["iat"].as_i64().expect("iat");
        assert!((now..now + 30).contains(&iat), "issued now: {iat}");
        assert_eq!(claims["exp"].as_i64(), Some(iat + 3600), "id_token_ttl");
        assert_eq!(claims["sid"], "session-id");
        assert_eq!(claims["email"], "owner@acme.test");
        assert_eq!(claims["email_verified"], false);
        assert!(claims["name"].is_string());
        assert_eq!(claims["gatekey:account"], "acme");
        assert!(
            tokens.get("refresh_token").is_none(),
            "openid without offline_access: no refresh token (Core §11)"
        );
        app.stop().await;
    })
    .await;
}

#[tokio::test]
async fn a_refresh_keeps_the_subject_and_sign_in_with_a_new_issue_time() {
    each_backend(|backend| async move {
        let (app, clock) = TestApp::start_with_manual_clock(backend, |_| {}).await;
        let seeded = crate::harness::seed(&app).await;
        let client = app
            .register_client(seeded.acme.id, ClientSpec::confidential())
            .await;
        let scopes = "openid offline_access read";
        let code = code(&app, &seeded, &client, scopes, "n-1").await;
        let first = exchange(&app, &client, &code).await;
        let (_, original) =
            verified(&app, &client, first["id_token"].as_str().expect("id token")).await;
        let refresh_token = first["refresh_token"].as_str().expect("offline_access");

        clock.advance(Duration::minutes(10));
        let refreshed = app.refresh(&client, refresh_token).await;
        assert_eq!(refreshed.0, 200, "{}", refreshed.2);
        let (_, again) = verified(
            &app,
            &client,
            refreshed.2["id_token"].as_str().expect("id token"),
        )
        .await;
        assert_eq!(again["sub"], original["sub"]);
        assert_eq!(again["auth_time"], original["auth_time"]);
        assert_eq!(again["sid"], original["sid"]);
        assert_eq!(
            again["iat"].as_i64(),
            original["iat"].as_i64().map(|iat| iat + 600)
        );
        assert!(again.get("nonce").is_none(), "{again}");
        assert_eq!(
            again["at_hash"],
            at_hash(refreshed.2["access_token"].as_str().expect("access"))
        );
        app.stop().await;
    })
    .await;
}

#[tokio::test]
async fn each_application_gets_its_registered_algorithm() {
    each_backend(|backend| async move {
        let (app, seeded) = TestApp::start_seeded(backend).await;
        let admin_key = app.key(&seeded.owner, None).await;
        for (registered, expected) in [
            (SigningAlgorithm::Es256, Algorithm::ES256),
            (SigningAlgorithm::EdDsa, Algorithm::EdDSA),
            (SigningAlgorithm::Rs256, Algorithm::RS256),
        ] {
            let client = app
                .register_client(seeded.acme.id, ClientSpec::confidential())
                .await;
            let changed = app
                .patch_application(
                    client.application.id,
                    &admin_key,
                    serde_json::json!({"id_token_signed_response_alg": registered.as_str()}),
                )
                .await;
            assert_eq!(changed.0, 200, "{}", changed.2);
            let code = code(&app, &seeded, &client, "openid", "n").await;
            let tokens = exchange(&app, &client, &code).await;
            let id_token = tokens["id_token"].as_str().expect("id token");
            let (algorithm, claims) = verified(&app, &client, id_token).await;
            assert_eq!(algorithm, expected);
            let access = tokens["access_token"].as_str().expect("access");
            let expected_hash = match registered {
                SigningAlgorithm::EdDsa => {
                    URL_SAFE_NO_PAD.encode(&sha2::Sha512::digest(access.as_bytes())[..32])
                }
                _ => at_hash(access),
            };
            assert_eq!(claims["at_hash"], expected_hash, "{registered}");
        }
        app.stop().await;
    })
    .await;
}

#[tokio::test]
async fn without_openid_there_is_no_id_token_and_refresh_is_unchanged() {
    each_backend(|backend| async move {
        let (app, seeded, client) =
            TestApp::start_with_client(backend, ClientSpec::confidential()).await;
        let code = code(&app, &seeded, &client, "read", "unused").await;
        let tokens = exchange(&app, &client, &code).await;
        assert!(tokens.get("id_token").is_none(), "{tokens}");
        assert!(tokens["refresh_token"].is_string(), "{tokens}");
        app.stop().await;
    })
    .await;
}
