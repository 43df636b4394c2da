//! OAuth access tokens on the REST API: accepted like API keys, limited by their scopes and
//! their user's role, refused at once when revoked.

use gatekey_core::role::Role;
use reqwest::Method;
use serde_json::json;
use time::Duration;

use crate::harness::{assert_error, each_backend, eventually, send, TestApp};
use crate::oauth_fixture::ClientSpec;

#[tokio::test]
async fn me_shows_the_oauth_credential_and_scopes_are_enforced() {
    each_backend(|backend| async move {
        let (app, seeded, client) =
            TestApp::start_with_client(backend, ClientSpec::confidential()).await;
        let (access, _) = app.grant_with_tokens(&seeded.owner, &client, "read").await;

        let me = send(app.request(Method::GET, "/api/v1/me", &access)).await;
        assert_eq!(me.0, 200, "{}", me.2);
        assert_eq!(me.2["credential"]["type"], "oauth");
        assert_eq!(me.2["credential"]["client_id"], client.id.as_str());
        assert!(me.2["credential"].get("id").is_none());
        assert!(me.2["credential"]["expires_at"].is_string());
        assert_eq!(me.2["scopes"], json!(["read"]));
        assert_eq!(me.2["role"], "owner");

        let admin = send(app.request(Method::GET, "/api/v1/users", &access)).await;
        assert_error(&admin, 403, "insufficient_scope");

        // Credentials are managed with first-party credentials only: not even a write token
        // may list or create API keys, since a key would outlive the application's revocation.
        let (write_access, _) = app
            .grant_with_tokens(&seeded.owner, &client, "read write")
            .await;
        for token in [&access, &write_access] {
            let listed = send(app.request(Method::GET, "/api/v1/api_keys", token)).await;
            assert_error(&listed, 403, "forbidden");
            let created = app
                .send_json(
                    Method::POST,
                    "/api/v1/api_keys",
                    token,
                    json!({"name": "from oauth"}),
                )
                .await;
            assert_error(&created, 403, "forbidden");
        }
        app.stop().await;
    })
    .await;
}

#[tokio::test]
async fn broken_expired_and_revoked_tokens_are_refused() {
    each_backend(|backend| async move {
        let (app, seeded, client, other) = TestApp::start_with_clients(backend, ClientSpec::confidential(), ClientSpec::confidential()).await;
        let grant = app.consent(&seeded.owner, &client, "read").await;
        let other_grant = app.consent(&seeded.owner, &other, "read").await;
        let me = |token: String| {
            let request = app.request(Method::GET, "/api/v1/me", &token);
            async move { send(request).await }
        };

        let (access, _) = app.issue(&grant, Duration::hours(1)).await;
        let mut typo: Vec<char> = access.chars().collect();
        typo[10] = if typo[10] == 'a' { 'b' } else { 'a' };
        let typo: String = typo.into_iter().collect();
        let malformed = me(typo).await;
        assert_error(&malformed, 401, "invalid_token");
        assert_eq!(
            malformed.1["www-authenticate"],
            "Bearer realm=\"gatekey\", error=\"invalid_token\", error_description=\"the credential is malformed\""
        );
        let unknown = me(gatekey_core::secret::Secret::generate(
            gatekey_core::secret::SecretKind::AccessToken,
        )
        .expose()
        .to_owned())
        .await;
        assert_error(&unknown, 401, "invalid_token");
        let (expired, _) = app.issue(&grant, -Duration::seconds(1)).await;
        let expired = me(expired).await;
        assert_error(&expired, 401, "invalid_token");
        assert!(expired.2["error_description"]
            .as_str()
            .unwrap()
            .contains("expired"));

        // Revoking one application through the REST API ends its tokens at once and leaves
        // the other application's working.
        let (other_access, _) = app.issue(&other_grant, Duration::hours(1)).await;
        assert_eq!(me(access.clone()).await.0, 200);
        assert_eq!(me(other_access.clone()).await.0, 200);
        let owner_key = app.key(&seeded.owner, None).await;
        let revoked = send(app.request(
            Method::DELETE,
            &format!("/api/v1/authorizations/{}", client.id),
            &owner_key,
        ))
        .await;
        assert!(revoked.0 < 300, "{}", revoked.2);
        assert_error(&me(access).await, 401, "invalid_token");
        assert_eq!(me(other_access.clone()).await.0, 200);

        // Disabling the user ends every token of theirs at once.
        app.disable_user(&seeded.owner).await;
        let evicted = eventually(std::time::Duration::from_secs(1), || async {
            me(other_access.clone()).await.0 == 401
        });
        assert!(
            evicted.await,
            "the invalidation feed evicts a disabled user's tokens"
        );
        app.stop().await;
    })
    .await;
}

#[tokio::test]
async fn a_token_acts_within_its_users_current_role() {
    each_backend(|backend| async move {
        let (app, seeded) = TestApp::start_seeded(backend).await;
        let viewer = app
            .person(&seeded.acme, "viewer@acme.test", Role::Viewer)
            .await;
        let client = app
            .register_client(seeded.acme.id, ClientSpec::confidential())
            .await;
        let (access, _) = app.grant_with_tokens(&viewer, &client, "read write").await;
        let me = send(app.request(Method::GET, "/api/v1/me", &access)).await;
        assert_eq!(me.2["scopes"], json!(["read"]), "{}", me.2);
        app.stop().await;
    })
    .await;
}
