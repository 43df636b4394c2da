//! `gatekey admin signing-key list|rotate` on every backend: a rotation publishes one new key
//! per algorithm, signing only after `signing.publish_ahead`, and a second rotation adds none
//! while those wait; a key-encryption key that does not open the stored keys adds nothing.

use gatekey_store::testing::{backends, TestDatabase};
use serde_json::Value;

use crate::fixtures::create_account;
use crate::process::{admin, admin_json, gatekey};

fn states(listed: &Value) -> Vec<(String, String)> {
    let mut found: Vec<(String, String)> = listed["signing_keys"]
        .as_array()
        .expect("keys")
        .iter()
        .map(|key| {
            (
                key["algorithm"].as_str().unwrap_or_default().to_owned(),
                key["state"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect();
    found.sort();
    found
}

fn pair(algorithm: &str, state: &str) -> (String, String) {
    (algorithm.to_owned(), state.to_owned())
}

#[tokio::test]
async fn rotate_publishes_one_waiting_key_per_algorithm_and_list_shows_their_states() {
    for backend in backends() {
        let db = TestDatabase::create(backend).await;
        create_account(&db.url, "acme", "Acme");

        // No key yet: the first of each algorithm signs at once.
        let first = admin_json(&db.url, &["signing-key", "rotate"]);
        assert_eq!(
            states(&first),
            [
                pair("ES256", "current"),
                pair("EdDSA", "current"),
                pair("RS256", "current")
            ]
        );
        let second = admin_json(&db.url, &["signing-key", "rotate"]);
        assert_eq!(
            states(&second),
            [
                pair("ES256", "published"),
                pair("EdDSA", "published"),
                pair("RS256", "published")
            ]
        );
        let third = admin_json(&db.url, &["signing-key", "rotate", "--algorithm", "ES256"]);
        assert_eq!(states(&third), [], "a key already waits");

        let listed = admin_json(&db.url, &["signing-key", "list"]);
        assert_eq!(
            states(&listed),
            [
                pair("ES256", "current"),
                pair("ES256", "published"),
                pair("EdDSA", "current"),
                pair("EdDSA", "published"),
                pair("RS256", "current"),
                pair("RS256", "published"),
            ]
        );

        let refused = gatekey()
            .env(
                "GATEKEY_SIGNING__KEY_ENCRYPTION_KEY",
                "AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE=",
            )
            .args(["admin", "signing-key", "rotate", "--database-url", &db.url])
            .output()
            .expect("runs");
        assert!(!refused.status.success());
        let message = String::from_utf8_lossy(&refused.stderr);
        assert!(
            message.contains("does not decrypt signing key"),
            "{message}"
        );
        let unknown = admin(&db.url, &["signing-key", "rotate", "--algorithm", "HS256"]);
        assert!(!unknown.status.success());
        assert_eq!(
            states(&admin_json(&db.url, &["signing-key", "list"])).len(),
            6
        );
        db.drop_database().await;
    }
}
