//! API keys, checked by introspection: the right identity, the cache in front of gatekey, and
//! a revocation seen once the cached answer runs out.

use gatekey_core::role::Role;
use gatekey_server::testing::send;
use gatekey_verify::{
    CheckedBy, CredentialKind, TokenRefusal, VerifyError, DEFAULT_INTROSPECTION_TTL,
};
use reqwest::Method;
use time::Duration;

use crate::harness::{each_backend, Gatekey};

#[tokio::test]
async fn an_api_key_is_accepted_with_its_user_account_and_scopes() {
    each_backend(|backend| async move {
        let gatekey = Gatekey::start(backend).await;
        let verifier = gatekey.verifier();
        let key = gatekey.owner_key("read").await;

        let caller = verifier.verify(&key).await.expect("accepted");
        let secret = gatekey.resource_server.secret.as_deref().expect("a secret");
        let shown = format!("{verifier:?} {caller:?} {:?}", gatekey.verifier_builder());
        assert!(!shown.contains(secret) && !shown.contains(&key), "{shown}");
        assert_eq!(caller.user.id, gatekey.seeded.owner.user.id);
        assert_eq!(caller.user.email.as_deref(), Some("owner@acme.test"));
        assert_eq!(caller.account.slug, "acme");
        assert_eq!(caller.account.id, Some(gatekey.seeded.acme.id));
        assert_eq!(caller.role.as_deref(), Some("owner"));
        assert_eq!(caller.scopes, ["read"]);
        assert_eq!(caller.credential.kind, CredentialKind::ApiKey);
        assert_eq!(caller.credential.client_id, None);
        assert_eq!(caller.credential.checked_by, CheckedBy::Introspection);
        assert_eq!(caller.expires_at, None, "the key never expires");

        // A member's key says what the member's role holds now.
        let viewer = gatekey
            .app
            .person(&gatekey.seeded.acme, "viewer@acme.test", Role::Viewer)
            .await;
        let viewer_key = gatekey.app.key(&viewer, None).await;
        let caller = verifier.verify(&viewer_key).await.expect("accepted");
        assert_eq!(caller.user.id, viewer.user.id);
        assert!(!caller.has_scope("write"), "{:?}", caller.scopes);

        // Another account's key is not this resource server's to see (RFC 7662 §2.2).
        let stranger = gatekey
            .app
            .person(&gatekey.seeded.other, "someone@other.test", Role::Owner)
            .await;
        let foreign = gatekey.app.key(&stranger, None).await;
        assert_eq!(
            verifier.verify(&foreign).await,
            Err(VerifyError::InvalidToken(TokenRefusal::Inactive))
        );
        gatekey.stop().await;
    })
    .await;
}

#[tokio::test]
async fn a_revoked_key_is_refused_once_the_cached_answer_runs_out() {
    each_backend(|backend| async move {
        let gatekey = Gatekey::start(backend).await;
        let verifier = gatekey.verifier();
        let key = gatekey.owner_key("read write").await;
        let before = gatekey.requests_to("/oauth/introspect");

        assert!(verifier.verify(&key).await.is_ok());
        assert!(verifier.verify(&key).await.is_ok());
        assert_eq!(
            gatekey.requests_to("/oauth/introspect"),
            before + 1,
            "the second check is answered from the cache"
        );

        let id = gatekey.app.key_id(&key).await;
        let path = format!("/api/v1/api_keys/{id}");
        let revoked = send(gatekey.app.request(Method::DELETE, &path, &key)).await;
        assert!(
            (200..300).contains(&revoked.0),
            "{} {}",
            revoked.0,
            revoked.2
        );

        // The documented trade-off: the cached answer stands until its TTL ends.
        assert!(verifier.verify(&key).await.is_ok());
        let ttl = Duration::try_from(DEFAULT_INTROSPECTION_TTL).expect("a duration");
        gatekey.clock.advance(ttl);
        assert_eq!(
            verifier.verify(&key).await,
            Err(VerifyError::InvalidToken(TokenRefusal::Inactive))
        );
        // A refusal is not cached: gatekey is asked again.
        let asked = gatekey.requests_to("/oauth/introspect");
        assert!(verifier.verify(&key).await.is_err());
        assert_eq!(gatekey.requests_to("/oauth/introspect"), asked + 1);
        gatekey.stop().await;
    })
    .await;
}

#[tokio::test]
async fn an_expiring_key_is_cached_no_longer_than_it_lives() {
    each_backend(|backend| async move {
        let gatekey = Gatekey::start(backend).await;
        let verifier = gatekey
            .verifier_builder()
            .introspection_ttl(std::time::Duration::from_secs(600))
            .build()
            .expect("a verifier");
        let expires_at = gatekey.app.now() + Duration::seconds(60);
        let key = gatekey
            .app
            .key_expiring(&gatekey.seeded.owner, Some("read"), Some(expires_at))
            .await;
        let caller = verifier.verify(&key).await.expect("accepted");
        let expected: std::time::SystemTime =
            expires_at.replace_nanosecond(0).expect("time").into();
        assert_eq!(caller.expires_at, Some(expected));
        gatekey.clock.advance(Duration::seconds(60));
        assert!(
            verifier.verify(&key).await.is_err(),
            "expired, whatever the TTL"
        );
        gatekey.stop().await;
    })
    .await;
}
