//! Redirect URIs are stored as a list, on every backend: any string comes back exactly as it
//! went in (no separator can be smuggled inside a URI), and migration 0004 turns the old
//! line-joined text into the list it meant.

use gatekey_core::oauth::application::{AccessTokenFormat, SigningAlgorithm};
use std::borrow::Cow;

use gatekey_core::audit::AuditAction;
use gatekey_core::oauth::application::{ApplicationSettings, ClientType, GrantType};
use gatekey_core::oauth::redirect_uri::validate_redirect_uri;
use gatekey_core::oauth::store::{ApplicationStore, NewApplication};
use gatekey_core::page::PageRequest;
use gatekey_core::scope::ScopeSet;
use gatekey_store::testing::{backends, TestDatabase};
use gatekey_store::{Backend, SqlStore};
use proptest::prelude::*;
use time::OffsetDateTime;

mod fixtures;
use fixtures::{audit, create_account};

fn settings(redirect_uris: Vec<String>) -> ApplicationSettings {
    ApplicationSettings {
        name: "Reporting".into(),
        redirect_uris,
        grant_types: vec![GrantType::AuthorizationCode],
        scopes: ScopeSet::ALL,
        implicit_allowed: false,
        introspect: false,
        verify_keys: false,
        service_account_id: None,
        id_token_signed_response_alg: SigningAlgorithm::Rs256,
        access_token_format: AccessTokenFormat::Opaque,
        resources: vec![],
        post_logout_redirect_uris: vec![],
    }
}

/// Registers an application with `uris` in account `account_id`; its client id.
async fn register(store: &SqlStore, account_id: i64, n: usize, uris: &[String]) -> String {
    let client_id = format!("app_list_{n}");
    let new = NewApplication {
        client_id: client_id.clone(),
        account_id,
        client_type: ClientType::Public,
        secret_hash: None,
        settings: settings(uris.to_vec()),
        created_at: OffsetDateTime::now_utc(),
    };
    store
        .create_application(new, audit(AuditAction::ApplicationCreated, "application"))
        .await
        .expect("registered");
    client_id
}

async fn stored_uris(store: &SqlStore, client_id: &str) -> Vec<String> {
    store
        .application_by_client_id(client_id)
        .await
        .expect("read")
        .expect("found")
        .redirect_uris
}

async fn account(store: &SqlStore) -> i64 {
    create_account(store, "acme", "Acme", OffsetDateTime::now_utc())
        .await
        .id
}

#[tokio::test]
async fn any_list_of_strings_comes_back_exactly() {
    for backend in backends() {
        let db = TestDatabase::create(backend).await;
        let store = SqlStore::connect(&db.url).await.expect("connect");
        let account_id = account(&store).await;
        // The store keeps what it is given (the rules are the domain's): even a string holding
        // the old separator stays one element.
        let uris: Vec<String> = [
            "https://ok.example/cb\nhttp://evil.example/cb",
            "https://a.example/cb?x=\"y\",z&w=[1]",
            "com.example.app:/cb\\",
            "",
            "https://ü.example/ä",
        ]
        .map(str::to_owned)
        .to_vec();
        let client_id = register(&store, account_id, 0, &uris).await;
        assert_eq!(stored_uris(&store, &client_id).await, uris, "{backend:?}");
        let empty = register(&store, account_id, 1, &[]).await;
        assert!(stored_uris(&store, &empty).await.is_empty(), "{backend:?}");

        let app = store
            .application_by_client_id(&client_id)
            .await
            .unwrap()
            .unwrap();
        let reversed: Vec<String> = uris.iter().rev().cloned().collect();
        let updated = store
            .update_application(
                app.id,
                &settings(reversed.clone()),
                OffsetDateTime::now_utc(),
                audit(AuditAction::ApplicationUpdated, "application"),
            )
            .await
            .unwrap();
        assert_eq!(updated.redirect_uris, reversed, "{backend:?}");
        let listed = store
            .list_applications(account_id, PageRequest::default())
            .await
            .unwrap();
        assert_eq!(listed.items[0].redirect_uris, reversed, "{backend:?}");
        store.close().await;
        db.drop_database().await;
    }
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
async fn migration_0004_splits_the_old_joined_text_into_a_list() {
    sqlx::any::install_default_drivers();
    for backend in backends() {
        let db = TestDatabase::create(backend).await;
        let url = match backend {
            Backend::Sqlite => format!("{}?mode=rwc", db.url),
            Backend::Postgres => db.url.clone(),
        };
        let pool = sqlx::AnyPool::connect(&url).await.expect("connect");
        migrations_before(backend, 4)
            .run(&pool)
            .await
            .expect("older migrations");
        sqlx::query("INSERT INTO accounts (slug, name, created_at) VALUES ('acme', 'Acme', 0)")
            .execute(&pool)
            .await
            .unwrap();
        let old_rows = [
            ("app_one", "https://a.example/cb"),
            (
                "app_two",
                "https://ok.example/cb\nhttp://127.0.0.1/cb\ncom.example.app:/cb",
            ),
            ("app_none", ""),
            ("app_blank_lines", "\nhttps://b.example/cb\n\n"),
        ];
        for (client_id, joined) in old_rows {
            sqlx::query(
                "INSERT INTO applications (client_id, account_id, name, client_type, redirect_uris, \
                 grant_types, scopes, created_at, updated_at) \
                 VALUES ($1, (SELECT id FROM accounts), 'Old', 'public', $2, 'authorization_code', 'read', 0, 0)",
            )
            .bind(client_id)
            .bind(joined)
            .execute(&pool)
            .await
            .unwrap();
        }
        pool.close().await;

        let store = SqlStore::connect(&db.url).await.expect("migrates");
        assert_eq!(
            stored_uris(&store, "app_one").await,
            ["https://a.example/cb"]
        );
        assert_eq!(
            stored_uris(&store, "app_two").await,
            [
                "https://ok.example/cb",
                "http://127.0.0.1/cb",
                "com.example.app:/cb"
            ],
            "{backend:?}: in order"
        );
        assert!(stored_uris(&store, "app_none").await.is_empty());
        assert_eq!(
            stored_uris(&store, "app_blank_lines").await,
            ["https://b.example/cb"]
        );
        store.close().await;
        db.drop_database().await;
    }
}

/// Lists of URIs that registration accepts.
fn registrable_lists() -> impl Strategy<Value = Vec<String>> {
    let uri = prop_oneof![
        "https://[a-z]{1,8}\\.example(:[0-9]{1,4})?(/[!$&'()*+,;=:@a-zA-Z0-9_.~%-]{0,8}){0,3}(\\?[!$&'()*+,;=:@/?a-z0-9%-]{0,12})?",
        "http://(127\\.0\\.0\\.1|\\[::1\\])(:[0-9]{1,4})?(/[a-z0-9]{0,6}){0,2}",
        "com\\.example\\.[a-z]{1,6}:/[a-z\"\\\\]{0,6}",
    ]
    .prop_filter("registrable", |uri| validate_redirect_uri(uri).is_ok());
    prop::collection::vec(uri, 0..6)
}

#[test]
fn registrable_lists_round_trip_through_storage_unchanged() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    for backend in backends() {
        let (db, store, account_id) = runtime.block_on(async {
            let db = TestDatabase::create(backend).await;
            let store = SqlStore::connect(&db.url).await.expect("connect");
            let account_id = account(&store).await;
            (db, store, account_id)
        });
        let n = std::sync::atomic::AtomicUsize::new(0);
        proptest!(ProptestConfig::with_cases(48), |(uris in registrable_lists())| {
            let n = n.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            let stored = runtime.block_on(async {
                let client_id = register(&store, account_id, n, &uris).await;
                stored_uris(&store, &client_id).await
            });
            prop_assert_eq!(stored, uris);
        });
        runtime.block_on(async {
            store.close().await;
            db.drop_database().await;
        });
    }
}
