//! The client against a real server: typed answers, typed errors, no secret in `Debug`.

use gatekey_client::ApiClient;
use gatekey_core::role::Role;
use gatekey_proto::api::{ApiKeyList, CreatedApiKey, MeResponse};
use gatekey_server::testing::{each_backend, TestApp};

#[tokio::test]
async fn calls_the_api_and_reports_server_errors() {
    each_backend(|backend| async move {
        let app = TestApp::start(backend).await;
        let acme = app.account("acme").await;
        let ada = app.person(&acme, "ada@acme.test", Role::Member).await;
        let secret = app.key(&ada, None).await;

        let client = ApiClient::with_api_key(&app.base_url(), &secret).unwrap();
        assert!(
            !format!("{client:?}").contains(&secret),
            "Debug redacts the key"
        );
        let me: MeResponse = client.get("/api/v1/me").await.unwrap();
        assert_eq!(
            (
                me.user.email.as_str(),
                me.account.slug.as_str(),
                me.role.as_str()
            ),
            ("ada@acme.test", "acme", "member")
        );

        let created: CreatedApiKey = client
            .post("/api/v1/api_keys", &serde_json::json!({"name": "second"}))
            .await
            .unwrap();
        let keys: ApiKeyList = client.get("/api/v1/api_keys").await.unwrap();
        assert_eq!(keys.pagination.total_records, 2);
        client
            .delete(&format!("/api/v1/api_keys/{}", created.api_key.id))
            .await
            .unwrap();

        let forbidden = client
            .get::<serde_json::Value>("/api/v1/users")
            .await
            .unwrap_err();
        assert_eq!(
            forbidden.code(),
            Some("insufficient_scope"),
            "a member's key never carries admin"
        );
        let revoked = ApiClient::with_api_key(&app.base_url(), &created.secret).unwrap();
        let error = revoked.get::<MeResponse>("/api/v1/me").await.unwrap_err();
        assert_eq!(error.code(), Some("invalid_token"));
        assert!(matches!(
            error,
            gatekey_client::ClientError::Api { status: 401, .. }
        ));

        app.stop().await;
    })
    .await;
}
