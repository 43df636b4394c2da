//! JWT access tokens (RFC 9068) as a resource server sees them: verified offline with an
//! independent JOSE library against the published JWKS, accepted by the REST API and
//! introspection like opaque tokens, revocable, and refused with `invalid_token` when forged,
//! unsigned, of another type, expired or for another audience.

use gatekey_core::oauth::application::AccessTokenFormat;
use gatekey_core::oauth::jwt_access_token::ACCESS_TOKEN_JWT_TYPE;
use gatekey_core::oauth::signing_key_schedule::SigningAlgorithm;
use gatekey_core::role::Role;
use gatekey_server::signing::refresh_signing_keys;
use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{decode, decode_header, Algorithm, DecodingKey, Validation};
use reqwest::Method;
use serde_json::{json, Value};
use time::Duration;

use crate::harness::{assert_error, each_backend, seed, send, Client, ClientSpec, TestApp};
use gatekey_core::user::Member;

async fn jwks(app: &TestApp) -> JwkSet {
    app.http
        .get(app.url("/oauth/jwks"))
        .send()
        .await
        .expect("jwks")
        .json()
        .await
        .expect("a JWK set")
}

/// `token`'s claims, verified by `jsonwebtoken` against the published keys, as an offline
/// resource server would.
async fn verify_offline(app: &TestApp, token: &str) -> Result<Value, String> {
    let header = decode_header(token).map_err(|e| e.to_string())?;
    let kid = header.kid.ok_or("no kid")?;
    let set = jwks(app).await;
    let jwk = set.find(&kid).ok_or("the kid is not published")?;
    let key = DecodingKey::from_jwk(jwk).map_err(|e| e.to_string())?;
    let mut validation = Validation::new(header.alg);
    validation.set_issuer(&[app.base_url()]);
    validation.set_audience(&[app.base_url()]);
    decode::<Value>(token, &key, &validation)
        .map(|data| data.claims)
        .map_err(|e| e.to_string())
}

async fn jwt_service_client(app: &TestApp) -> (i64, Client, Member) {
    let seeded = seed(app).await;
    let service = app
        .service_account(&seeded.acme, "Nightly sync", Role::Member)
        .await;
    let spec = ClientSpec {
        access_token_format: AccessTokenFormat::Jwt,
        ..ClientSpec::service(&service)
    };
    let client = app.register_client(seeded.acme.id, spec).await;
    (service.user.id, client, seeded.owner)
}

async fn client_credentials(app: &TestApp, client: &Client) -> Value {
    let answer = app
        .token(
            client,
            &[("grant_type", "client_credentials"), ("scope", "read")],
        )
        .await;
    assert_eq!(answer.0, 200, "{}", answer.2);
    answer.2
}

#[tokio::test]
async fn a_jwt_access_token_verifies_offline_and_works_like_an_opaque_one() {
    each_backend(|backend| async move {
        let app = TestApp::start(backend).await;
        let (service_id, client, _) = jwt_service_client(&app).await;
        let resource_server = app
            .register_client(client.application.account_id, ClientSpec::resource_server())
            .await;
        let issued = client_credentials(&app, &client).await;
        assert_eq!(issued["expires_in"], 600, "jwt_access_token_ttl");
        let token = issued["access_token"].as_str().expect("token").to_owned();

        let header = decode_header(&token).expect("a JWS header");
        assert_eq!(header.typ.as_deref(), Some(ACCESS_TOKEN_JWT_TYPE));
        assert_eq!(
            header.alg,
            Algorithm::EdDSA,
            "jwt_access_token_alg's default"
        );
        let claims = verify_offline(&app, &token)
            .await
            .expect("verifies offline");
        assert_eq!(claims["sub"], service_id.to_string());
        assert_eq!(claims["client_id"], client.id.as_str());
        assert_eq!(claims["scope"], "read");
        assert_eq!(claims["gatekey:account"], "acme");
        assert_eq!(
            claims["exp"]
                .as_i64()
                .zip(claims["iat"].as_i64())
                .map(|(e, i)| e - i),
            Some(600)
        );
        assert!(claims["jti"].as_str().is_some_and(|jti| jti.len() >= 22));

        let me = send(app.request(Method::GET, "/api/v1/me", &token)).await;
        assert_eq!(me.0, 200, "{}", me.2);
        assert_eq!(me.2["user"]["id"], service_id);
        let active = app.introspect(&resource_server, &token).await;
        assert_eq!(active["active"], true, "{active}");

        let revoked = app
            .post_as(&client, "/oauth/revoke", &[("token", &token)])
            .await;
        assert_eq!(revoked.0, 200, "{}", revoked.2);
        assert_error(
            &send(app.request(Method::GET, "/api/v1/me", &token)).await,
            401,
            "invalid_token",
        );
        let inactive = app.introspect(&resource_server, &token).await;
        assert_eq!(inactive, json!({"active": false}));
        // Offline, only the expiry tells: the signature still holds.
        assert!(verify_offline(&app, &token).await.is_ok());
        app.stop().await;
    })
    .await;
}

#[tokio::test]
async fn forged_unsigned_mistyped_expired_and_foreign_tokens_are_invalid_tokens() {
    each_backend(|backend| async move {
        let app = TestApp::start(backend).await;
        let (service_id, client, _) = jwt_service_client(&app).await;
        let genuine = client_credentials(&app, &client).await["access_token"]
            .as_str()
            .expect("token")
            .to_owned();
        let now = app.now().unix_timestamp();
        let claims = |exp: i64, aud: &str| {
            json!({"iss": app.base_url(), "sub": service_id.to_string(), "aud": aud,
                   "exp": exp, "iat": now, "jti": "x", "client_id": client.id,
                   "scope": "read", "gatekey:account": "acme"})
        };
        let signer = app
            .server
            .state
            .signing_keys
            .loaded()
            .signer(SigningAlgorithm::EdDsa, app.now())
            .expect("a current EdDSA key");
        let sign = |typ: &str, claims: &Value| signer.sign(typ, claims).expect("signs");
        let issuer = app.base_url();
        let mut parts = genuine.split('.');
        let (_, payload) = (parts.next(), parts.next().expect("payload"));
        let unsigned = format!("eyJhbGciOiJub25lIiwidHlwIjoiYXQrand0In0.{payload}.");
        let tampered = {
            let mut chars: Vec<char> = genuine.chars().collect();
            let last = chars.len() - 2;
            chars[last] = if chars[last] == 'A' { 'B' } else { 'A' };
            chars.into_iter().collect::<String>()
        };
        let refused = [
            ("unsigned", unsigned),
            ("tampered signature", tampered),
            (
                "an ID token's type",
                sign("JWT", &claims(now + 300, &issuer)),
            ),
            ("expired", sign("at+jwt", &claims(now - 3600, &issuer))),
            (
                "another audience",
                sign("at+jwt", &claims(now + 300, "https://elsewhere.example")),
            ),
            (
                "signed but never issued",
                sign("at+jwt", &claims(now + 300, &issuer)),
            ),
            ("garbage", "eyJ.e30.c2ln".to_owned()),
        ];
        for (what, token) in refused {
            let answer = send(app.request(Method::GET, "/api/v1/me", &token)).await;
            assert_eq!(answer.0, 401, "{what}: {}", answer.2);
            assert_eq!(answer.2["error"], "invalid_token", "{what}");
            let challenge = answer
                .1
                .get("www-authenticate")
                .and_then(|v| v.to_str().ok());
            assert!(
                challenge.is_some_and(|c| c.contains("invalid_token")),
                "{what}: {challenge:?}"
            );
        }
        app.stop().await;
    })
    .await;
}

#[tokio::test]
async fn tokens_verify_across_a_rotation_and_not_after_their_key_is_retired() {
    each_backend(|backend| async move {
        let (app, clock) = TestApp::start_with_manual_clock(backend, |_| {}).await;
        let (_, client, _) = jwt_service_client(&app).await;
        let state = &app.server.state;
        let before = client_credentials(&app, &client).await["access_token"]
            .as_str()
            .expect("token")
            .to_owned();
        let old_kid = decode_header(&before).expect("header").kid;

        // The successor is published a day ahead and signs once its time has come.
        clock.advance(Duration::days(29));
        refresh_signing_keys(state).await.expect("refresh");
        let during = client_credentials(&app, &client).await["access_token"]
            .as_str()
            .expect("token")
            .to_owned();
        assert_eq!(decode_header(&during).expect("header").kid, old_kid);
        clock.advance(Duration::days(1));
        refresh_signing_keys(state).await.expect("refresh");
        let after = client_credentials(&app, &client).await["access_token"]
            .as_str()
            .expect("token")
            .to_owned();
        assert_ne!(decode_header(&after).expect("header").kid, old_kid);
        assert!(verify_offline(&app, &after).await.is_ok());
        assert!(
            jwks(&app)
                .await
                .find(old_kid.as_deref().unwrap_or_default())
                .is_some(),
            "the old key stays published while its tokens live"
        );

        // Retired once every token it signed has expired: gone from the JWKS, so an offline
        // verifier refuses what it signed.
        clock.advance(Duration::hours(1));
        refresh_signing_keys(state).await.expect("refresh");
        let refused = verify_offline(&app, &during)
            .await
            .expect_err("retired key");
        assert!(refused.contains("not published"), "{refused}");
        app.stop().await;
    })
    .await;
}

#[tokio::test]
async fn a_token_for_a_named_resource_carries_its_audience_and_is_not_for_gatekeys_api() {
    each_backend(|backend| async move {
        let app = TestApp::start(backend).await;
        let (_, client, owner) = jwt_service_client(&app).await;
        let admin_key = app.key(&owner, None).await;
        let resource = "https://notes.example.com";
        let changed = app
            .patch_application(
                client.application.id,
                &admin_key,
                json!({"resources": [resource]}),
            )
            .await;
        assert_eq!(changed.0, 200, "{}", changed.2);
        let resource_server = app
            .register_client(client.application.account_id, ClientSpec::resource_server())
            .await;

        let answer = app
            .token(
                &client,
                &[("grant_type", "client_credentials"), ("resource", resource)],
            )
            .await;
        assert_eq!(answer.0, 200, "{}", answer.2);
        let token = answer.2["access_token"].as_str().expect("token").to_owned();
        let claims: Value = serde_json::from_slice(
            &base64::Engine::decode(
                &base64::engine::general_purpose::URL_SAFE_NO_PAD,
                token.split('.').nth(1).expect("payload"),
            )
            .expect("base64"),
        )
        .expect("json");
        assert_eq!(claims["aud"], resource);

        // The resource server introspects it as active; gatekey's own API refuses it, before
        // and after the introspection put it in the credential cache.
        let refused = send(app.request(Method::GET, "/api/v1/me", &token)).await;
        assert_error(&refused, 401, "invalid_token");
        assert_eq!(
            app.introspect(&resource_server, &token).await["active"],
            true
        );
        let again = send(app.request(Method::GET, "/api/v1/me", &token)).await;
        assert_error(&again, 401, "invalid_token");
        app.stop().await;
    })
    .await;
}

#[tokio::test]
async fn the_configured_algorithm_signs_and_an_offline_verifier_follows_it() {
    each_backend(|backend| async move {
        for (configured, expected) in [("ES256", Algorithm::ES256), ("RS256", Algorithm::RS256)] {
            let app = TestApp::start_with(backend, |config| {
                config.jwt_access_token_alg = configured.into();
            })
            .await;
            let (_, client, _) = jwt_service_client(&app).await;
            let token = client_credentials(&app, &client).await["access_token"]
                .as_str()
                .expect("token")
                .to_owned();
            assert_eq!(decode_header(&token).expect("header").alg, expected);
            assert!(verify_offline(&app, &token).await.is_ok(), "{configured}");
            let me = send(app.request(Method::GET, "/api/v1/me", &token)).await;
            assert_eq!(me.0, 200, "{configured}: {}", me.2);
            app.stop().await;
        }
    })
    .await;
}
