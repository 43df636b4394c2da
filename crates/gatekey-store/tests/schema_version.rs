//! A database migrated by a newer gatekey is refused at start with an error that says so, on
//! every backend, rather than read with a schema this program was not written for.

use gatekey_store::{ConnectError, SqlStore};

mod fixtures;
use fixtures::each_backend_with_url;

#[tokio::test]
async fn a_database_from_a_newer_gatekey_is_refused_naming_both_versions() {
    each_backend_with_url(|store, url| async move {
        store.close().await;
        // What a newer gatekey's next migration leaves behind.
        let pool = sqlx::AnyPool::connect(&url).await.expect("a connection");
        sqlx::query(
            "INSERT INTO _sqlx_migrations (version, description, success, checksum, execution_time) \
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(9_999_i64)
        .bind("a migration from the future")
        .bind(true)
        .bind(vec![0_u8; 48])
        .bind(0_i64)
        .execute(&pool)
        .await
        .expect("a newer migration recorded");
        pool.close().await;

        let error = SqlStore::connect(&url).await.expect_err("refused");
        assert!(
            matches!(error, ConnectError::NewerSchema { found: 9_999, known } if known >= 12),
            "{error:?}"
        );
        let text = error.to_string();
        assert!(text.contains("newer gatekey") && text.contains("9999"), "{text}");
    })
    .await;
}
