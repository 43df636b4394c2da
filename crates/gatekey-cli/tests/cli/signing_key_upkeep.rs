//! `gatekey admin signing-key purge|rewrap` on every backend: a purge deletes the keys retired
//! longer than the retention (or `--older-than-days`) and no other; a rewrap seals every key
//! under the new key-encryption key, after which the old one opens nothing and the new one
//! everything, with the kids and public keys unchanged. Each change is audited.

use gatekey_core::audit::{Actor, AuditAction, AuditEntry};
use gatekey_core::oauth::signing_key_material::KeyEncryptionKey;
use gatekey_core::oauth::signing_key_store::{SigningKeyStore, StoredSigningKey};
use gatekey_store::testing::{backends, TestDatabase};
use gatekey_store::SqlStore;
use serde_json::Value;
use sqlx::{Connection, Row};
use time::{Duration, OffsetDateTime};

use crate::fixtures::create_account;
use crate::process::{admin, admin_json, admin_with_stdin, gatekey, TEST_KEY_ENCRYPTION_KEY};

fn kids(listed: &Value, field: &str) -> Vec<String> {
    let mut found: Vec<String> = listed[field]
        .as_array()
        .expect("array")
        .iter()
        .map(|kid| kid.as_str().expect("kid").to_owned())
        .collect();
    found.sort();
    found
}

fn listed_kids(database_url: &str) -> Vec<String> {
    let listed = admin_json(database_url, &["signing-key", "list"]);
    let mut found: Vec<String> = listed["signing_keys"]
        .as_array()
        .expect("keys")
        .iter()
        .map(|key| key["kid"].as_str().expect("kid").to_owned())
        .collect();
    found.sort();
    found
}

async fn retire(store: &SqlStore, kids: &[String], at: OffsetDateTime) {
    let audit = AuditEntry::new(
        at,
        &Actor::server(),
        AuditAction::SigningKeyRetired,
        "signing_key",
    );
    store
        .retire_signing_keys(kids, at, audit)
        .await
        .expect("retired");
}

/// How many `action` events the operator wrote about signing keys.
async fn operator_events(database_url: &str, action: &str) -> i64 {
    let mut conn = sqlx::AnyConnection::connect(database_url)
        .await
        .expect("connect");
    let row = sqlx::query(
        "SELECT COUNT(*) AS n FROM audit_events WHERE action = $1 \
         AND target_type = 'signing_key' AND credential_type = 'operator'",
    )
    .bind(action)
    .fetch_one(&mut conn)
    .await
    .expect("count");
    let _ = conn.close().await;
    row.get::<i64, _>("n")
}

#[tokio::test]
async fn purge_deletes_only_keys_retired_longer_than_the_retention() {
    for backend in backends() {
        let db = TestDatabase::create(backend).await;
        create_account(&db.url, "acme", "Acme");
        let current = kids(
            &admin_json(&db.url, &["signing-key", "rotate"])["signing_keys"]
                .as_array()
                .map(|keys| {
                    serde_json::json!({"k": keys.iter().map(|key| key["kid"].clone()).collect::<Vec<_>>()})
                })
                .expect("keys"),
            "k",
        );
        admin_json(&db.url, &["signing-key", "rotate"]);
        let store = SqlStore::connect(&db.url).await.expect("connect");
        let now = OffsetDateTime::now_utc();
        // Two retired 40 days ago, one yesterday; the three published keys are not retired.
        retire(&store, &current[..2], now - Duration::days(40)).await;
        retire(&store, &current[2..], now - Duration::days(1)).await;

        let purged = admin_json(&db.url, &["signing-key", "purge"]);
        assert_eq!(kids(&purged, "purged"), current[..2]);
        assert_eq!(listed_kids(&db.url).len(), 4);

        let kept_forever = gatekey()
            .env("GATEKEY_RETENTION__RETIRED_SIGNING_KEY_DAYS", "0")
            .args(["admin", "signing-key", "purge", "--database-url", &db.url])
            .output()
            .expect("runs");
        assert!(!kept_forever.status.success());
        assert!(String::from_utf8_lossy(&kept_forever.stderr).contains("--older-than-days"));

        let everything = admin_json(&db.url, &["signing-key", "purge", "--older-than-days", "0"]);
        assert_eq!(kids(&everything, "purged"), current[2..]);
        let left = listed_kids(&db.url);
        assert_eq!(left.len(), 3, "the keys not retired are all kept");
        assert!(left.iter().all(|kid| !current.contains(kid)));
        assert_eq!(operator_events(&db.url, "signing_key.purged").await, 3);
        store.close().await;
        db.drop_database().await;
    }
}

fn public_halves(keys: &[StoredSigningKey]) -> Vec<(String, String)> {
    keys.iter()
        .map(|key| (key.schedule.kid.clone(), key.public_jwk.clone()))
        .collect()
}

fn opens_all(kek: &KeyEncryptionKey, keys: &[StoredSigningKey]) -> bool {
    keys.iter().all(|key| {
        kek.open(&key.schedule.kid, key.schedule.algorithm, &key.sealed)
            .is_ok()
    })
}

fn opens_none(kek: &KeyEncryptionKey, keys: &[StoredSigningKey]) -> bool {
    keys.iter().all(|key| {
        kek.open(&key.schedule.kid, key.schedule.algorithm, &key.sealed)
            .is_err()
    })
}

#[tokio::test]
async fn rewrap_moves_every_key_to_the_new_kek_and_keeps_kids_and_public_keys() {
    for backend in backends() {
        let db = TestDatabase::create(backend).await;
        create_account(&db.url, "acme", "Acme");
        admin_json(&db.url, &["signing-key", "rotate"]);
        admin_json(&db.url, &["signing-key", "rotate"]);
        let store = SqlStore::connect(&db.url).await.expect("connect");
        let before = store.signing_keys().await.expect("keys");
        // A retired key is resealed too.
        retire(
            &store,
            &[before[0].schedule.kid.clone()],
            OffsetDateTime::now_utc(),
        )
        .await;
        let old = KeyEncryptionKey::from_base64(TEST_KEY_ENCRYPTION_KEY).expect("old");
        let new = KeyEncryptionKey::generate();
        let folder = tempfile::tempdir().expect("folder");
        let new_file = folder.path().join("new-kek");
        std::fs::write(&new_file, format!("{}\n", new.to_base64())).expect("written");
        let new_path = new_file.to_str().expect("path");

        let rewrapped = admin_json(
            &db.url,
            &[
                "signing-key",
                "rewrap",
                "--new-key-encryption-key-file",
                new_path,
            ],
        );
        assert_eq!(kids(&rewrapped, "rewrapped").len(), 6);
        let after = store.signing_keys().await.expect("keys");
        assert_eq!(public_halves(&after), public_halves(&before));
        assert!(opens_all(&new, &after));
        assert!(opens_none(&old, &after));
        assert_eq!(operator_events(&db.url, "signing_key.rewrapped").await, 6);

        // The old key-encryption key no longer serves; the new one does (the rotation adds
        // nothing, a key already waits, but it opened every stored key first).
        let refused = admin(&db.url, &["signing-key", "rotate"]);
        assert!(!refused.status.success());
        assert!(String::from_utf8_lossy(&refused.stderr).contains("does not decrypt"));
        let rotated = gatekey()
            .env("GATEKEY_SIGNING__KEY_ENCRYPTION_KEY", new.to_base64())
            .args(["admin", "signing-key", "rotate", "--algorithm", "ES256"])
            .args(["--database-url", &db.url])
            .output()
            .expect("runs");
        assert!(rotated.status.success(), "{rotated:?}");

        // Run again with the old configuration: nothing left to move.
        let again = admin_json(
            &db.url,
            &[
                "signing-key",
                "rewrap",
                "--new-key-encryption-key-file",
                new_path,
            ],
        );
        assert_eq!(kids(&again, "rewrapped"), Vec::<String>::new());
        assert_eq!(kids(&again, "already_rewrapped").len(), 6);
        store.close().await;
        db.drop_database().await;
    }
}

#[tokio::test]
async fn rewrap_reads_the_new_kek_from_stdin_and_refuses_a_wrong_one_changing_nothing() {
    for backend in backends() {
        let db = TestDatabase::create(backend).await;
        create_account(&db.url, "acme", "Acme");
        admin_json(&db.url, &["signing-key", "rotate"]);
        let store = SqlStore::connect(&db.url).await.expect("connect");
        let before = store.signing_keys().await.expect("keys");

        let same = admin_with_stdin(
            &db.url,
            &["signing-key", "rewrap", "--new-key-encryption-key-stdin"],
            TEST_KEY_ENCRYPTION_KEY,
        );
        assert!(!same.status.success());
        let malformed = admin_with_stdin(
            &db.url,
            &["signing-key", "rewrap", "--new-key-encryption-key-stdin"],
            "short",
        );
        assert!(!malformed.status.success());
        let missing = admin(&db.url, &["signing-key", "rewrap"]);
        assert!(!missing.status.success(), "the new key must be given");
        // Configured with a key that opens nothing stored.
        let wrong = gatekey()
            .env(
                "GATEKEY_SIGNING__KEY_ENCRYPTION_KEY",
                KeyEncryptionKey::generate().to_base64(),
            )
            .args([
                "admin",
                "signing-key",
                "rewrap",
                "--new-key-encryption-key-stdin",
            ])
            .args(["--database-url", &db.url])
            .stdin(std::process::Stdio::null())
            .output()
            .expect("runs");
        assert!(!wrong.status.success());
        assert_eq!(store.signing_keys().await.expect("keys"), before);

        let new = KeyEncryptionKey::generate();
        let moved = admin_with_stdin(
            &db.url,
            &["signing-key", "rewrap", "--new-key-encryption-key-stdin"],
            &new.to_base64(),
        );
        assert!(moved.status.success(), "{moved:?}");
        let after = store.signing_keys().await.expect("keys");
        assert!(opens_all(&new, &after));
        assert_eq!(public_halves(&after), public_halves(&before));
        store.close().await;
        db.drop_database().await;
    }
}
