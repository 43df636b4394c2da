//! An application's token settings (migration 0010) on every backend: the ID token signing
//! algorithm, the access token format, the resource indicators and the post-logout redirect
//! URIs come back as they were stored, through every read and after an update; applications
//! registered before the migration get the defaults.

use std::borrow::Cow;

use gatekey_core::audit::AuditAction;
use gatekey_core::oauth::application::{
    AccessTokenFormat, Application, ApplicationSettings, GrantType, SigningAlgorithm,
};
use gatekey_core::oauth::store::ApplicationStore;
use gatekey_core::page::PageRequest;
use gatekey_store::testing::{application_settings, backends, public_application, TestDatabase};
use gatekey_store::{Backend, SqlStore};
use time::OffsetDateTime;

mod fixtures;
use fixtures::{audit, create_account, each_backend};

fn oidc_settings() -> ApplicationSettings {
    ApplicationSettings {
        redirect_uris: vec!["https://app.example/cb".into()],
        id_token_signed_response_alg: SigningAlgorithm::EdDsa,
        access_token_format: AccessTokenFormat::Jwt,
        resources: vec![
            "https://api.example.com".into(),
            "urn:example:billing".into(),
        ],
        post_logout_redirect_uris: vec![
            "https://app.example/bye".into(),
            "http://127.0.0.1:8080/bye".into(),
        ],
        ..application_settings("Portal", &[GrantType::AuthorizationCode])
    }
}

fn assert_settings(app: &Application, settings: &ApplicationSettings, read: &str) {
    assert_eq!(
        app.id_token_signed_response_alg, settings.id_token_signed_response_alg,
        "{read}"
    );
    assert_eq!(
        app.access_token_format, settings.access_token_format,
        "{read}"
    );
    assert_eq!(app.resources, settings.resources, "{read}");
    assert_eq!(
        app.post_logout_redirect_uris, settings.post_logout_redirect_uris,
        "{read}"
    );
}

async fn every_read(store: &SqlStore, created: &Application, settings: &ApplicationSettings) {
    let by_client_id = store
        .application_by_client_id(&created.client_id)
        .await
        .unwrap()
        .expect("found by client id");
    assert_settings(&by_client_id, settings, "by client id");
    let in_account = store
        .application_in_account(created.account_id, created.id)
        .await
        .unwrap()
        .expect("found in account");
    assert_settings(&in_account, settings, "in account");
    let listed = store
        .list_applications(created.account_id, PageRequest::default())
        .await
        .unwrap();
    assert_settings(&listed.items[0], settings, "listed");
}

#[tokio::test]
async fn token_settings_are_stored_and_changed() {
    each_backend(|store| async move {
        let now = OffsetDateTime::now_utc();
        let account = create_account(&store, "acme", "Acme", now).await;
        let settings = oidc_settings();
        let created = store
            .create_application(
                public_application("app_oidc", account.id, settings.clone(), now),
                audit(AuditAction::ApplicationCreated, "application"),
            )
            .await
            .unwrap();
        assert_settings(&created, &settings, "as created");
        every_read(&store, &created, &settings).await;

        let changed = ApplicationSettings {
            id_token_signed_response_alg: SigningAlgorithm::Es256,
            access_token_format: AccessTokenFormat::Opaque,
            resources: vec!["https://other.example/api?v=2".into()],
            post_logout_redirect_uris: vec![],
            ..settings
        };
        let updated = store
            .update_application(
                created.id,
                &changed,
                now,
                audit(AuditAction::ApplicationUpdated, "application"),
            )
            .await
            .unwrap();
        assert_settings(&updated, &changed, "as updated");
        assert_eq!(updated.redirect_uris, changed.redirect_uris);
        assert_eq!(updated.name, "Portal");
        every_read(&store, &created, &changed).await;
    })
    .await;
}

#[tokio::test]
async fn defaults_are_rs256_opaque_and_no_lists() {
    each_backend(|store| async move {
        let now = OffsetDateTime::now_utc();
        let account = create_account(&store, "acme", "Acme", now).await;
        let created = store
            .create_application(
                public_application(
                    "app_plain",
                    account.id,
                    application_settings("Plain", &[GrantType::DeviceCode]),
                    now,
                ),
                audit(AuditAction::ApplicationCreated, "application"),
            )
            .await
            .unwrap();
        assert_eq!(
            created.id_token_signed_response_alg,
            SigningAlgorithm::Rs256
        );
        assert_eq!(created.access_token_format, AccessTokenFormat::Opaque);
        assert!(created.resources.is_empty());
        assert!(created.post_logout_redirect_uris.is_empty());
    })
    .await;
}

/// The migrations before `version`, as the server shipped them.
fn migrations_before(backend: Backend, version: i64) -> sqlx::migrate::Migrator {
    let all = match backend {
        Backend::Sqlite => sqlx::migrate!("./migrations/sqlite"),
        Backend::Postgres => sqlx::migrate!("./migrations/postgres"),
    };
    let older: Vec<_> = all
        .migrations
        .iter()
        .filter(|m| m.version < version)
        .cloned()
        .collect();
    sqlx::migrate::Migrator {
        migrations: Cow::Owned(older),
        ..all
    }
}

#[tokio::test]
async fn migration_0010_gives_existing_applications_the_defaults() {
    sqlx::any::install_default_drivers();
    for backend in backends() {
        let db = TestDatabase::create(backend).await;
        let url = match backend {
            Backend::Sqlite => format!("{}?mode=rwc", db.url),
            Backend::Postgres => db.url.clone(),
        };
        let pool = sqlx::AnyPool::connect(&url).await.expect("connect");
        migrations_before(backend, 10)
            .run(&pool)
            .await
            .expect("older migrations");
        sqlx::query("INSERT INTO accounts (slug, name, created_at) VALUES ('acme', 'Acme', 0)")
            .execute(&pool)
            .await
            .unwrap();
        sqlx::query(
            "INSERT INTO applications (client_id, account_id, name, client_type, redirect_uris, \
             grant_types, scopes, created_at, updated_at) \
             VALUES ('app_old', (SELECT id FROM accounts), 'Old', 'public', \
             '[\"https://a.example/cb\"]', 'authorization_code', 'read', 0, 0)",
        )
        .execute(&pool)
        .await
        .unwrap();
        pool.close().await;

        let store = SqlStore::connect(&db.url).await.expect("migrates");
        let old = store
            .application_by_client_id("app_old")
            .await
            .unwrap()
            .expect("still there");
        assert_eq!(
            old.id_token_signed_response_alg,
            SigningAlgorithm::Rs256,
            "{backend:?}"
        );
        assert_eq!(old.access_token_format, AccessTokenFormat::Opaque);
        assert!(old.resources.is_empty(), "{backend:?}");
        assert!(old.post_logout_redirect_uris.is_empty(), "{backend:?}");
        assert_eq!(old.redirect_uris, ["https://a.example/cb"]);
        store.close().await;
        db.drop_database().await;
    }
}
