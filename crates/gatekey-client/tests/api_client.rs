//! The client against a real server: typed answers, typed errors, no secret in `Debug`.

use std::sync::Arc;

use gatekey_client::ApiClient;
use gatekey_core::api_key::ApiKeyRequest;
use gatekey_core::api_key_creation::create_api_key;
use gatekey_core::audit::{Actor, AuditAction, AuditEntry};
use gatekey_core::role::Role;
use gatekey_core::scope::ScopeSet;
use gatekey_core::store::AccountStore;
use gatekey_core::user_admin::{create_person, PersonRequest};
use gatekey_core::SystemClock;
use gatekey_proto::api::{ApiKeyList, CreatedApiKey, MeResponse};
use gatekey_server::Config;
use gatekey_store::testing::{backends, TestDatabase};
use time::OffsetDateTime;

#[tokio::test]
async fn calls_the_api_and_reports_server_errors() {
    for backend in backends() {
        let db = TestDatabase::create(backend).await;
        let mut config = Config {
            database_url: db.url.clone(),
            ..Config::default()
        };
        config.listen = "127.0.0.1:0".parse().unwrap();
        let server = gatekey_server::start(config, Arc::new(SystemClock))
            .await
            .unwrap();
        let store = server.state.store.clone();
        let now = OffsetDateTime::now_utc();
        let audit = AuditEntry::new(
            now,
            &Actor::operator(),
            AuditAction::AccountCreated,
            "account",
        );
        let account = store
            .create_account("acme", "Acme", now, audit)
            .await
            .unwrap();
        let person = PersonRequest {
            email: "ada@acme.test",
            name: "Ada",
            role: Role::Member,
            password_hash: None,
        };
        let ada = create_person(&store, now, &account, person, &Actor::operator())
            .await
            .unwrap();
        let request = ApiKeyRequest {
            name: "client".into(),
            scopes: None,
            expires_at: None,
        };
        let (_, secret) = create_api_key(
            &store,
            now,
            (&ada).into(),
            ScopeSet::ALL,
            request,
            &Actor::operator(),
        )
        .await
        .unwrap();

        let client = ApiClient::with_api_key(&server.url(), secret.expose()).unwrap();
        assert!(
            !format!("{client:?}").contains(secret.expose()),
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
        let revoked = ApiClient::with_api_key(&server.url(), &created.secret).unwrap();
        let error = revoked.get::<MeResponse>("/api/v1/me").await.unwrap_err();
        assert_eq!(error.code(), Some("invalid_token"));
        assert!(matches!(
            error,
            gatekey_client::ClientError::Api { status: 401, .. }
        ));

        server.shutdown().await.unwrap();
        store.close().await;
        db.drop_database().await;
    }
}
