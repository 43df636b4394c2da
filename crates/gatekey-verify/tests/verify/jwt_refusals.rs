//! What offline verification refuses: another audience, expired, tampered, unsigned, of
//! another type or issuer; and what it accepts in each algorithm gatekey signs with.

use gatekey_core::oauth::signing_key_schedule::SigningAlgorithm;
use gatekey_verify::{TokenRefusal, VerifyError};
use serde_json::{json, Value};

use crate::harness::{claims_of, each_backend, unsigned_token, Gatekey, AUDIENCE};

#[tokio::test]
async fn jwts_for_another_audience_expired_tampered_or_forged_are_refused() {
    each_backend(|backend| async move {
        let gatekey = Gatekey::start(backend).await;
        let verifier = gatekey.verifier();
        let (_, client) = gatekey.jwt_client().await;
        let genuine = gatekey.jwt(&client, "read", Some(AUDIENCE)).await;
        // Without a resource, the token is for gatekey's own API.
        let for_gatekey = gatekey.jwt(&client, "read", None).await;

        let now = gatekey.app.now().unix_timestamp();
        let base = claims_of(&genuine);
        let with = |changes: Value| {
            let mut claims = base.clone();
            for (name, value) in changes.as_object().expect("object") {
                claims[name] = value.clone();
            }
            claims
        };
        let loaded = gatekey.app.server.state.signing_keys.loaded();
        let sign = |alg: SigningAlgorithm, typ: &str, claims: &Value| {
            let signer = loaded
                .signer(alg, gatekey.app.now())
                .expect("a current key");
            signer.sign(typ, claims).expect("signs")
        };
        let ed = |typ: &str, claims: Value| sign(SigningAlgorithm::EdDsa, typ, &claims);
        let tampered = {
            let mut parts: Vec<&str> = genuine.split('.').collect();
            let forged = with(json!({"scope": "read write admin"}));
            let payload = base64_json(&forged);
            parts[1] = &payload;
            parts.join(".")
        };
        let none_header = json!({"alg": "none", "typ": "at+jwt", "kid": "x"});
        let refused = [
            ("for gatekey's own API", for_gatekey, TokenRefusal::Audience),
            (
                "another audience",
                ed("at+jwt", with(json!({"aud": "https://elsewhere.example"}))),
                TokenRefusal::Audience,
            ),
            (
                "expired",
                ed(
                    "at+jwt",
                    with(json!({"exp": now - 3600, "iat": now - 4200})),
                ),
                TokenRefusal::Expired,
            ),
            (
                "not valid yet",
                ed("at+jwt", with(json!({"iat": now + 3600}))),
                TokenRefusal::NotYetValid,
            ),
            (
                "another issuer",
                ed("at+jwt", with(json!({"iss": "https://evil.example"}))),
                TokenRefusal::Issuer,
            ),
            (
                "an ID token's type",
                ed("JWT", base.clone()),
                TokenRefusal::Type,
            ),
            ("tampered claims", tampered, TokenRefusal::Signature),
            (
                "unsigned",
                unsigned_token(&none_header, &base),
                TokenRefusal::Algorithm,
            ),
        ];
        for (what, token, refusal) in refused {
            assert_eq!(
                verifier.verify(&token).await,
                Err(VerifyError::InvalidToken(refusal)),
                "{what}"
            );
        }

        // Each algorithm gatekey signs with verifies, with its own key.
        for alg in [SigningAlgorithm::Es256, SigningAlgorithm::Rs256] {
            let token = sign(alg, "at+jwt", &with(json!({"jti": format!("{alg:?}")})));
            let caller = verifier.verify(&token).await.expect("verified");
            assert_eq!(caller.account.slug, "acme", "{alg:?}");
        }
        gatekey.stop().await;
    })
    .await;
}

#[tokio::test]
async fn without_an_audience_a_jwt_is_introspected_and_a_revocation_seen() {
    each_backend(|backend| async move {
        let gatekey = Gatekey::start(backend).await;
        let secret = gatekey.resource_server.secret.clone().expect("a secret");
        let verifier = gatekey_verify::Verifier::builder(
            gatekey.app.base_url(),
            &gatekey.resource_server.id,
            secret,
        )
        .clock(std::sync::Arc::new(crate::harness::SharedClock(
            gatekey.clock.clone(),
        )))
        .build()
        .expect("a verifier");
        let (_, client) = gatekey.jwt_client().await;
        let token = gatekey.jwt(&client, "read", None).await;
        let caller = verifier.verify(&token).await.expect("introspected");
        assert_eq!(
            caller.credential.checked_by,
            gatekey_verify::CheckedBy::Introspection
        );

        let revoked = gatekey
            .app
            .post_as(&client, "/oauth/revoke", &[("token", &token)])
            .await;
        assert_eq!(revoked.0, 200);
        gatekey.clock.advance(time::Duration::seconds(5));
        assert_eq!(
            verifier.verify(&token).await,
            Err(VerifyError::InvalidToken(TokenRefusal::Inactive))
        );
        gatekey.stop().await;
    })
    .await;
}

fn base64_json(value: &Value) -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(value.to_string())
}
