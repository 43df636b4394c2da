//! Signing keys on every backend: the first start makes one key per algorithm, later starts
//! make none, the private half is stored only as ciphertext, a key-encryption key that does not
//! open the stored keys is refused before anything is written, and of two replicas rotating
//! at once only one adds a key.

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use gatekey_core::audit::Actor;
use gatekey_core::oauth::signing_key_material::{KeyEncryptionKey, KeyMaterialError};
use gatekey_core::oauth::signing_key_rotation::{add_key, maintain_signing_keys, SigningKeyError};
use gatekey_core::oauth::signing_key_schedule::{
    plan_keys, rotate_now, KeyState, ScheduledKey, SigningAlgorithm, SigningKeyPolicy,
};
use gatekey_core::oauth::signing_key_store::SigningKeyStore;
use sqlx::{Connection, Row};
use time::macros::datetime;
use time::{Duration, OffsetDateTime};

mod fixtures;
use fixtures::{each_backend, each_backend_with_url};

const START: OffsetDateTime = datetime!(2026-01-01 00:00 UTC);
const WANTED: [SigningAlgorithm; 2] = [SigningAlgorithm::Es256, SigningAlgorithm::Rs256];

fn policy() -> SigningKeyPolicy {
    SigningKeyPolicy {
        rotation_interval: Duration::days(30),
        publish_ahead: Duration::days(2),
        longest_token_lifetime: Duration::hours(1),
    }
}

fn schedule(
    keys: &[gatekey_core::oauth::signing_key_store::StoredSigningKey],
) -> Vec<ScheduledKey> {
    keys.iter().map(|key| key.schedule.clone()).collect()
}

#[tokio::test]
async fn the_first_start_makes_one_key_per_algorithm_and_later_starts_keep_them() {
    each_backend(|store| async move {
        let kek = KeyEncryptionKey::generate();
        let first = maintain_signing_keys(&store, &kek, &WANTED, &policy(), START)
            .await
            .expect("first start");
        assert_eq!(first.len(), 2);
        let plan = plan_keys(&schedule(&first), &WANTED, &policy(), START);
        for algorithm in WANTED {
            assert!(
                plan.signing(&schedule(&first), algorithm).is_some(),
                "{algorithm}"
            );
        }
        let again =
            maintain_signing_keys(&store, &kek, &WANTED, &policy(), START + Duration::hours(1))
                .await
                .expect("second start");
        assert_eq!(again, first, "nothing new on a second start");
    })
    .await;
}

#[tokio::test]
async fn the_private_key_is_stored_only_as_ciphertext() {
    each_backend_with_url(|store, url| async move {
        let kek = KeyEncryptionKey::generate();
        let keys = maintain_signing_keys(&store, &kek, &WANTED, &policy(), START)
            .await
            .expect("keys");
        let mut conn = sqlx::AnyConnection::connect(&url).await.expect("connect");
        for key in keys {
            let kid = key.schedule.kid.clone();
            let row =
                sqlx::query("SELECT private_key, public_jwk FROM signing_keys WHERE kid = $1")
                    .bind(&kid)
                    .fetch_one(&mut conn)
                    .await
                    .expect("row");
            let stored: String = row.get("private_key");
            let jwk: String = row.get("public_jwk");
            let opened = kek
                .open(&kid, key.schedule.algorithm, &key.sealed)
                .expect("opens with its kek");
            let der = opened.pkcs8_der();
            let stored_bytes = STANDARD.decode(&stored).expect("base64");
            assert!(
                !stored_bytes
                    .windows(16)
                    .any(|w| der.windows(16).any(|d| d == w)),
                "no 16 bytes of the private key appear in the stored column"
            );
            assert!(
                !jwk.contains("\"d\""),
                "the public JWK has no private member: {jwk}"
            );
        }
        let _ = conn.close().await;
    })
    .await;
}

#[tokio::test]
async fn a_kek_that_does_not_open_the_stored_keys_is_refused_and_nothing_is_written() {
    each_backend(|store| async move {
        let kek = KeyEncryptionKey::generate();
        let before = maintain_signing_keys(&store, &kek, &WANTED, &policy(), START)
            .await
            .expect("keys");
        let other = KeyEncryptionKey::generate();
        let refused = maintain_signing_keys(
            &store,
            &other,
            &WANTED,
            &policy(),
            START + Duration::days(40),
        )
        .await
        .expect_err("wrong kek");
        assert!(
            matches!(
                refused,
                SigningKeyError::Material(KeyMaterialError::WrongKek { .. })
            ),
            "{refused:?}"
        );
        assert_eq!(store.signing_keys().await.expect("keys"), before);
    })
    .await;
}

#[tokio::test]
async fn of_two_replicas_rotating_at_once_only_one_adds_a_key() {
    each_backend(|store| async move {
        let kek = KeyEncryptionKey::generate();
        let keys = maintain_signing_keys(&store, &kek, &WANTED, &policy(), START)
            .await
            .expect("keys");
        let now = START + Duration::days(5);
        let create = rotate_now(&schedule(&keys), SigningAlgorithm::Es256, &policy(), now)
            .expect("rotation");
        // Both replicas planned from the same keys, so both try the same generation.
        let operator = Actor::operator();
        let (one, two) = tokio::join!(
            add_key(&store, &kek, &create, &operator, now),
            add_key(&store, &kek, &create, &operator, now)
        );
        let added = [one.expect("one"), two.expect("two")];
        assert_eq!(added.iter().filter(|key| key.is_some()).count(), 1);
        let stored = store.signing_keys().await.expect("keys");
        assert_eq!(stored.len(), 3);
    })
    .await;
}

#[tokio::test]
async fn scheduled_rotation_publishes_ahead_then_retires_the_old_key() {
    each_backend(|store| async move {
        let kek = KeyEncryptionKey::generate();
        let wanted = [SigningAlgorithm::Es256];
        let first = maintain_signing_keys(&store, &kek, &wanted, &policy(), START)
            .await
            .expect("keys");
        let old = first[0].schedule.kid.clone();
        let due = START + Duration::days(28);
        let rotated = maintain_signing_keys(&store, &kek, &wanted, &policy(), due)
            .await
            .expect("rotates");
        assert_eq!(rotated.len(), 2);
        let new = rotated
            .iter()
            .find(|key| key.schedule.kid != old)
            .expect("new key")
            .schedule
            .clone();
        assert_eq!(new.activates_at, due + Duration::days(2));

        let after = new.activates_at + Duration::hours(1);
        let retired = maintain_signing_keys(&store, &kek, &wanted, &policy(), after)
            .await
            .expect("retires");
        let plan = plan_keys(&schedule(&retired), &wanted, &policy(), after);
        assert_eq!(plan.state_of(&old), Some(KeyState::Retired));
        let stored_old = retired
            .iter()
            .find(|key| key.schedule.kid == old)
            .expect("kept");
        assert_eq!(stored_old.schedule.retired_at, Some(after));
        assert_eq!(
            plan.signing(&schedule(&retired), SigningAlgorithm::Es256),
            Some(new.kid)
        );
    })
    .await;
}
