//! Opaque OAuth access tokens (`gk_at_…`), checked by introspection, and what is refused
//! without asking gatekey.

use gatekey_server::testing::ClientSpec;
use gatekey_verify::{CheckedBy, CredentialKind, TokenRefusal, VerifyError};

use crate::harness::{each_backend, Gatekey};

#[tokio::test]
async fn an_opaque_access_token_is_accepted_as_its_user_and_application() {
    each_backend(|backend| async move {
        let gatekey = Gatekey::start(backend).await;
        let verifier = gatekey.verifier();
        let client = gatekey
            .app
            .register_client(gatekey.seeded.acme.id, ClientSpec::confidential())
            .await;
        let (access, refresh) = gatekey
            .app
            .grant_with_tokens(&gatekey.seeded.owner, &client, "read")
            .await;

        let caller = verifier.verify(&access).await.expect("accepted");
        assert_eq!(caller.user.id, gatekey.seeded.owner.user.id);
        assert_eq!(caller.user.email.as_deref(), Some("owner@acme.test"));
        assert_eq!(caller.account.slug, "acme");
        assert_eq!(caller.scopes, ["read"]);
        assert_eq!(caller.credential.kind, CredentialKind::OAuth);
        assert_eq!(
            caller.credential.client_id.as_deref(),
            Some(client.id.as_str())
        );
        assert_eq!(caller.credential.checked_by, CheckedBy::Introspection);
        let lifetime = caller
            .expires_at
            .and_then(|at| at.duration_since(gatekey.clock_now()).ok())
            .expect("an expiry ahead");
        assert!(lifetime.as_secs() > 3500, "{lifetime:?}");

        // A refresh token is never an access credential; gatekey is not even asked.
        let asked = gatekey.requests_to("/oauth/introspect");
        for refused in [refresh.as_str(), "not-a-token", ""] {
            assert_eq!(
                verifier.verify(refused).await,
                Err(VerifyError::InvalidToken(TokenRefusal::UnknownFormat))
            );
        }
        assert_eq!(gatekey.requests_to("/oauth/introspect"), asked);

        // Revoking the authorization ends the token once the cached answer runs out.
        gatekey
            .app
            .revoke_grants(&gatekey.seeded.owner, &client)
            .await;
        gatekey.clock.advance(time::Duration::seconds(5));
        assert_eq!(
            verifier.verify(&access).await,
            Err(VerifyError::InvalidToken(TokenRefusal::Inactive))
        );
        gatekey.stop().await;
    })
    .await;
}
