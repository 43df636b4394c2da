//! The signing keys' lifecycle on every backend: each key made, retired, purged or resealed
//! writes its audit event (the server's for the schedule, the operator's for commands); a
//! purge deletes only keys retired before the cut-off; a change of key-encryption key reseals
//! every key, retired ones too, leaving the kids and public keys as they were, or changes
//! nothing.

use gatekey_core::audit::Actor;
use gatekey_core::oauth::signing_key_material::{KeyEncryptionKey, KeyMaterialError};
use gatekey_core::oauth::signing_key_rewrap::{opens_every_key, rewrap_signing_keys};
use gatekey_core::oauth::signing_key_rotation::{
    add_key, maintain_signing_keys, purge_retired_keys, SigningKeyError,
};
use gatekey_core::oauth::signing_key_schedule::{
    rotate_now, ScheduledKey, SigningAlgorithm, SigningKeyPolicy,
};
use gatekey_core::oauth::signing_key_store::{ResealedKey, SigningKeyStore, StoredSigningKey};
use gatekey_core::store::StoreError;
use sqlx::{Connection, Row};
use time::macros::datetime;
use time::{Duration, OffsetDateTime};

mod fixtures;
use fixtures::{each_backend, each_backend_with_url};

const START: OffsetDateTime = datetime!(2026-01-01 00:00 UTC);
const WANTED: [SigningAlgorithm; 1] = [SigningAlgorithm::Es256];

fn policy() -> SigningKeyPolicy {
    SigningKeyPolicy {
        rotation_interval: Duration::days(30),
        publish_ahead: Duration::days(2),
        longest_token_lifetime: Duration::hours(1),
    }
}

fn schedule(keys: &[StoredSigningKey]) -> Vec<ScheduledKey> {
    keys.iter().map(|key| key.schedule.clone()).collect()
}

/// (action, credential type, target id) of every signing key event, in order.
async fn key_events(url: &str) -> Vec<(String, String, String)> {
    let mut conn = sqlx::AnyConnection::connect(url).await.expect("connect");
    let rows = sqlx::query(
        "SELECT action, credential_type, target_id FROM audit_events \
         WHERE target_type = 'signing_key' ORDER BY id",
    )
    .fetch_all(&mut conn)
    .await
    .expect("events");
    let _ = conn.close().await;
    rows.iter()
        .map(|row| (row.get(0), row.get(1), row.get(2)))
        .collect()
}

fn event(action: &str, credential: &str, kid: &str) -> (String, String, String) {
    (action.into(), credential.into(), kid.into())
}

/// One ES256 key made at START, a successor made at its rotation, and the first retired.
async fn one_retired_one_current(
    store: &impl SigningKeyStore,
    kek: &KeyEncryptionKey,
) -> (String, String, OffsetDateTime) {
    let first = maintain_signing_keys(store, kek, &WANTED, &policy(), START)
        .await
        .expect("first");
    let old = first[0].schedule.kid.clone();
    maintain_signing_keys(store, kek, &WANTED, &policy(), START + Duration::days(28))
        .await
        .expect("rotates");
    let retired_at = START + Duration::days(31);
    let keys = maintain_signing_keys(store, kek, &WANTED, &policy(), retired_at)
        .await
        .expect("retires");
    let new = keys
        .iter()
        .find(|key| key.schedule.kid != old)
        .expect("new")
        .schedule
        .kid
        .clone();
    (old, new, retired_at)
}

#[tokio::test]
async fn the_schedule_audits_each_key_it_makes_and_retires_as_the_server() {
    each_backend_with_url(|store, url| async move {
        let kek = KeyEncryptionKey::generate();
        let (old, new, _) = one_retired_one_current(&store, &kek).await;
        assert_eq!(
            key_events(&url).await,
            [
                event("signing_key.created", "server", &old),
                event("signing_key.created", "server", &new),
                event("signing_key.retired", "server", &old),
            ]
        );
        // Nothing due: no write, no event.
        maintain_signing_keys(&store, &kek, &WANTED, &policy(), START + Duration::days(32))
            .await
            .expect("again");
        assert_eq!(key_events(&url).await.len(), 3);
    })
    .await;
}

#[tokio::test]
async fn an_operator_rotation_is_the_operators_and_a_lost_race_writes_no_event() {
    each_backend_with_url(|store, url| async move {
        let kek = KeyEncryptionKey::generate();
        let keys = maintain_signing_keys(&store, &kek, &WANTED, &policy(), START)
            .await
            .expect("keys");
        let now = START + Duration::days(3);
        let create = rotate_now(&schedule(&keys), SigningAlgorithm::Es256, &policy(), now)
            .expect("rotation");
        let operator = Actor::operator();
        let added = add_key(&store, &kek, &create, &operator, now)
            .await
            .expect("added")
            .expect("first wins");
        let lost = add_key(&store, &kek, &create, &operator, now)
            .await
            .expect("no error");
        assert!(lost.is_none());
        let events = key_events(&url).await;
        assert_eq!(events.len(), 2, "{events:?}");
        assert_eq!(
            events[1],
            event("signing_key.created", "operator", &added.schedule.kid)
        );
    })
    .await;
}

#[tokio::test]
async fn a_purge_deletes_only_keys_retired_before_the_cutoff_and_audits_each() {
    each_backend_with_url(|store, url| async move {
        let kek = KeyEncryptionKey::generate();
        let (old, new, retired_at) = one_retired_one_current(&store, &kek).await;
        let operator = Actor::operator();
        let now = retired_at + Duration::days(1);
        // Retired after the cut-off: kept.
        let none = purge_retired_keys(&store, retired_at, &operator, now)
            .await
            .expect("purge");
        assert!(none.is_empty());
        // A cut-off far ahead still leaves every key that is not retired.
        let later = retired_at + Duration::days(3650);
        let purged = purge_retired_keys(&store, later, &Actor::server(), later)
            .await
            .expect("purge");
        assert_eq!(purged, std::slice::from_ref(&old));
        let left: Vec<String> = store
            .signing_keys()
            .await
            .expect("keys")
            .into_iter()
            .map(|key| key.schedule.kid)
            .collect();
        assert_eq!(left, [new]);
        assert_eq!(
            key_events(&url).await.last(),
            Some(&event("signing_key.purged", "server", &old))
        );
        let again = purge_retired_keys(&store, later, &operator, later)
            .await
            .expect("purge");
        assert!(again.is_empty());
    })
    .await;
}

#[tokio::test]
async fn rewrap_reseals_every_key_under_the_new_kek_and_keeps_kids_and_public_keys() {
    each_backend_with_url(|store, url| async move {
        let old_kek = KeyEncryptionKey::generate();
        let (old, new, retired_at) = one_retired_one_current(&store, &old_kek).await;
        let before = store.signing_keys().await.expect("keys");
        let new_kek = KeyEncryptionKey::generate();
        let operator = Actor::operator();
        let report = rewrap_signing_keys(&store, &old_kek, &new_kek, &operator, retired_at)
            .await
            .expect("rewrap");
        assert_eq!(report.rewrapped, [old.clone(), new.clone()]);
        let after = store.signing_keys().await.expect("keys");
        assert_eq!(schedule(&after), schedule(&before));
        let public = |keys: &[StoredSigningKey]| -> Vec<String> {
            keys.iter().map(|key| key.public_jwk.clone()).collect()
        };
        assert_eq!(public(&after), public(&before));
        opens_every_key(&new_kek, &after).expect("the new kek opens every key");
        for key in &after {
            assert!(old_kek
                .open(&key.schedule.kid, key.schedule.algorithm, &key.sealed)
                .is_err());
        }
        // The private keys are the same keys.
        for (was, is) in before.iter().zip(&after) {
            let kid = &was.schedule.kid;
            let algorithm = was.schedule.algorithm;
            let was = old_kek.open(kid, algorithm, &was.sealed).expect("old");
            let is = new_kek.open(kid, algorithm, &is.sealed).expect("new");
            assert_eq!(was.pkcs8_der(), is.pkcs8_der());
        }
        let events = key_events(&url).await;
        assert_eq!(
            events[events.len() - 2..],
            [
                event("signing_key.rewrapped", "operator", &old),
                event("signing_key.rewrapped", "operator", &new),
            ]
        );
        // Run again: everything is already under the new key; nothing written.
        let again = rewrap_signing_keys(&store, &old_kek, &new_kek, &operator, retired_at)
            .await
            .expect("again");
        assert!(again.rewrapped.is_empty());
        assert_eq!(again.already.len(), 2);
        assert_eq!(store.signing_keys().await.expect("keys"), after);
        assert_eq!(key_events(&url).await.len(), events.len());
    })
    .await;
}

#[tokio::test]
async fn rewrap_with_a_kek_that_opens_nothing_changes_nothing() {
    each_backend_with_url(|store, url| async move {
        let kek = KeyEncryptionKey::generate();
        one_retired_one_current(&store, &kek).await;
        let before = store.signing_keys().await.expect("keys");
        let events = key_events(&url).await;
        let wrong = KeyEncryptionKey::generate();
        let refused = rewrap_signing_keys(
            &store,
            &wrong,
            &KeyEncryptionKey::generate(),
            &Actor::operator(),
            START,
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
        assert_eq!(key_events(&url).await, events);
    })
    .await;
}

#[tokio::test]
async fn a_reseal_that_misses_a_key_or_finds_one_changed_writes_nothing() {
    each_backend(|store| async move {
        let kek = KeyEncryptionKey::generate();
        let (old, _, _) = one_retired_one_current(&store, &kek).await;
        let before = store.signing_keys().await.expect("keys");
        let new_kek = KeyEncryptionKey::generate();
        let resealed: Vec<ResealedKey> = before
            .iter()
            .map(|key| {
                let private = kek
                    .open(&key.schedule.kid, key.schedule.algorithm, &key.sealed)
                    .expect("opens");
                ResealedKey {
                    kid: key.schedule.kid.clone(),
                    before: key.sealed.clone(),
                    after: new_kek
                        .seal(&key.schedule.kid, private.pkcs8_der())
                        .expect("seals"),
                }
            })
            .collect();
        let audit = gatekey_core::audit::AuditEntry::new(
            START,
            &Actor::operator(),
            gatekey_core::audit::AuditAction::SigningKeyRewrapped,
            "signing_key",
        );
        // A key added meanwhile (here: left out of the list) would stay under the old key.
        let missing = store
            .reseal_signing_keys(&resealed[1..], audit.clone())
            .await
            .expect_err("a key missed");
        assert!(matches!(missing, StoreError::Conflict(_)), "{missing:?}");
        assert_eq!(store.signing_keys().await.expect("keys"), before);
        // A key whose sealed half changed meanwhile.
        let mut stale = resealed.clone();
        stale[1].before = stale[0].before.clone();
        let changed = store
            .reseal_signing_keys(&stale, audit.clone())
            .await
            .expect_err("a key changed");
        assert!(matches!(changed, StoreError::Conflict(_)), "{changed:?}");
        assert_eq!(store.signing_keys().await.expect("keys"), before);
        assert_eq!(resealed[0].kid, old);
        store
            .reseal_signing_keys(&resealed, audit)
            .await
            .expect("whole");
        opens_every_key(&new_kek, &store.signing_keys().await.expect("keys")).expect("opens");
    })
    .await;
}
