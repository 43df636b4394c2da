//! JWT access tokens verified offline against the JWKS: without gatekey once the keys are
//! fetched, and with a refetch on an unknown `kid` no more often than the floor allows.

use gatekey_server::signing::refresh_signing_keys;
use gatekey_verify::{CheckedBy, CredentialKind, TokenRefusal, VerifyError};
use serde_json::json;
use time::Duration;

use crate::harness::{claims_of, each_backend, unsigned_token, Gatekey, AUDIENCE};

const JWKS: &str = "/oauth/jwks";

#[tokio::test]
async fn a_jwt_verifies_offline_even_once_gatekey_is_gone() {
    each_backend(|backend| async move {
        let gatekey = Gatekey::start(backend).await;
        let verifier = gatekey
            .verifier_builder()
            .jwks_max_age(std::time::Duration::from_secs(60))
            .build()
            .expect("a verifier");
        let (service, client) = gatekey.jwt_client().await;
        let first = gatekey.jwt(&client, "read", Some(AUDIENCE)).await;
        let second = gatekey.jwt(&client, "read", Some(AUDIENCE)).await;
        let third = gatekey.jwt(&client, "read", Some(AUDIENCE)).await;
        let key = gatekey.owner_key("read").await;

        let caller = verifier.verify(&first).await.expect("verified");
        assert_eq!(caller.user.id, service.user.id);
        assert_eq!(caller.user.email, None, "a JWT does not carry the email");
        assert_eq!(caller.account.slug, "acme");
        assert_eq!(caller.scopes, ["read"]);
        assert_eq!(caller.credential.kind, CredentialKind::OAuth);
        assert_eq!(caller.credential.checked_by, CheckedBy::Signature);
        assert_eq!(
            caller.credential.client_id.as_deref(),
            Some(client.id.as_str())
        );
        assert_eq!(
            caller.credential.id.as_deref(),
            claims_of(&first)["jti"].as_str()
        );
        assert_eq!(gatekey.requests_to(JWKS), 1);
        assert_eq!(gatekey.requests_to("/oauth/introspect"), 0);

        let clock = gatekey.clock.clone();
        gatekey.stop().await;
        // The second token was never seen: its signature is checked now, offline.
        let caller = verifier.verify(&second).await.expect("verified offline");
        assert_eq!(caller.user.id, service.user.id);
        assert!(verifier.verify(&first).await.is_ok(), "from the cache");
        // Past the key set's max age, its refetch fails: the kept keys serve on.
        clock.advance(Duration::seconds(61));
        assert!(
            verifier.verify(&third).await.is_ok(),
            "verified with the kept keys"
        );
        // What needs gatekey is refused with 503, never let through.
        assert!(matches!(
            verifier.verify(&key).await,
            Err(VerifyError::Unavailable(_))
        ));
    })
    .await;
}

#[tokio::test]
async fn an_unknown_kid_refetches_the_keys_once_per_floor() {
    each_backend(|backend| async move {
        let gatekey = Gatekey::start(backend).await;
        let verifier = gatekey.verifier();
        let (_, client) = gatekey.jwt_client().await;
        let old = gatekey.jwt(&client, "read", Some(AUDIENCE)).await;
        assert!(verifier.verify(&old).await.is_ok());
        assert_eq!(gatekey.requests_to(JWKS), 1);

        // gatekey rotates: the successor is published a day ahead, then signs.
        let state = &gatekey.app.server.state;
        gatekey.clock.advance(Duration::days(29));
        refresh_signing_keys(state).await.expect("refresh");
        gatekey.clock.advance(Duration::days(1));
        refresh_signing_keys(state).await.expect("refresh");
        let new = gatekey.jwt(&client, "read", Some(AUDIENCE)).await;
        assert_ne!(
            claims_of_header(&new)["kid"],
            claims_of_header(&old)["kid"],
            "signed by the new key"
        );
        assert!(
            verifier.verify(&new).await.is_ok(),
            "the unknown kid is fetched"
        );
        assert_eq!(gatekey.requests_to(JWKS), 2);

        // A flood of made-up kids within the floor costs gatekey nothing.
        let bogus = |n: u32| {
            let header = json!({"alg": "EdDSA", "typ": "at+jwt", "kid": format!("bogus-{n}")});
            unsigned_token(&header, &claims_of(&new))
        };
        for n in 0..50 {
            assert_eq!(
                verifier.verify(&bogus(n)).await,
                Err(VerifyError::InvalidToken(TokenRefusal::UnknownKey))
            );
        }
        assert_eq!(gatekey.requests_to(JWKS), 2);

        // Past the floor, one more fetch, and again no more for the rest of the flood.
        gatekey.clock.advance(Duration::seconds(30));
        for n in 50..100 {
            assert!(verifier.verify(&bogus(n)).await.is_err());
        }
        assert_eq!(gatekey.requests_to(JWKS), 3);
        gatekey.stop().await;
    })
    .await;
}

fn claims_of_header(token: &str) -> serde_json::Value {
    use base64::Engine;
    let header = token.split('.').next().expect("a header");
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(header)
        .expect("base64url");
    serde_json::from_slice(&bytes).expect("JSON")
}
