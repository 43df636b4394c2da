//! API keys' meta, limits and credits (migration 0014) on every backend: what creation and a
//! change store, leases that hand out exactly the balance even when taken concurrently, the
//! refill, and unspent credits given back only into the generation they were leased in.

use gatekey_core::api_key::ApiKey;
use gatekey_core::api_key_credits::{CreditLeaseStore, LeaseOutcome, LeasePlan, UnspentLease};
use gatekey_core::api_key_usage::{
    CreditRefill, KeyChanges, KeyLimits, KeyMeta, KeyUsageSettings, RefillInterval,
};
use gatekey_core::audit::AuditAction;
use gatekey_core::page::PageRequest;
use gatekey_core::role::Role;
use gatekey_core::scope::ScopeSet;
use gatekey_core::secret::{Secret, SecretKind};
use gatekey_core::store::{
    ApiKeyStore, AuditStore, Invalidation, InvalidationStore, KeyCreation, NewApiKey,
};
use gatekey_core::user::Member;
use gatekey_store::SqlStore;
use serde_json::json;
use time::{Duration, OffsetDateTime};

mod fixtures;
use fixtures::{acme_with, audit_at, each_backend};

const DAILY: CreditRefill = CreditRefill {
    amount: 50,
    interval: RefillInterval::Daily,
};

async fn key_with(store: &SqlStore, now: OffsetDateTime, usage: KeyUsageSettings) -> ApiKey {
    let (_, ada) = acme_with(store, now, "ada@acme.test", Role::Admin).await;
    key_of(store, &ada, now, usage).await
}

async fn key_of(
    store: &SqlStore,
    member: &Member,
    now: OffsetDateTime,
    usage: KeyUsageSettings,
) -> ApiKey {
    let secret = Secret::generate(SecretKind::ApiKey);
    let new = NewApiKey {
        membership_id: member.membership.id,
        name: "metered".into(),
        display_prefix: secret.display_prefix(),
        hash: secret.hash(),
        scopes: ScopeSet::parse("read").unwrap(),
        created_at: now,
        expires_at: None,
        parent_key_id: None,
        usage,
    };
    let audit = audit_at(now, AuditAction::ApiKeyCreated, "api_key");
    match store.create_api_key(new, audit).await.expect("stored") {
        KeyCreation::Created(key) => key,
        KeyCreation::ParentUnusable => panic!("no parent"),
    }
}

fn credited(credits: i64, refill: Option<CreditRefill>) -> KeyUsageSettings {
    KeyUsageSettings {
        credits: Some(credits),
        refill,
        ..KeyUsageSettings::default()
    }
}

async fn lease(
    store: &SqlStore,
    key: i64,
    returned: Option<UnspentLease>,
    at: OffsetDateTime,
) -> LeasePlan {
    match store
        .lease_credits(key, returned, 1, at)
        .await
        .expect("lease")
    {
        Some(LeaseOutcome::Leased(plan)) => plan,
        other => panic!("a credited key leases: {other:?}"),
    }
}

async fn stored(store: &SqlStore, id: i64) -> ApiKey {
    store.api_key_by_id(id).await.expect("read").expect("key")
}

#[tokio::test]
async fn meta_limits_and_credits_are_stored_with_the_key() {
    each_backend(|store| async move {
        let now = OffsetDateTime::now_utc();
        let usage = KeyUsageSettings {
            meta: Some(KeyMeta::from_value(&json!({"plan": "pro", "n": [1, 2]})).unwrap()),
            limits: KeyLimits {
                per_second: Some(5),
                per_minute: None,
                per_hour: Some(1_000),
            },
            credits: Some(100),
            refill: Some(DAILY),
        };
        let (_, ada) = acme_with(&store, now, "ada@acme.test", Role::Admin).await;
        let key = key_of(&store, &ada, now, usage.clone()).await;
        let read = stored(&store, key.id).await;
        assert_eq!(read, key);
        assert_eq!(read.meta, usage.meta);
        assert_eq!(read.limits, usage.limits);
        let credits = read.credits.expect("credited");
        assert_eq!((credits.remaining, credits.refill), (100, Some(DAILY)));
        assert_eq!(credits.generation, 0);
        assert!(
            credits.refilled_at.is_some(),
            "the first period starts at creation"
        );
        let plain = key_of(&store, &ada, now, KeyUsageSettings::default()).await;
        assert_eq!((plain.meta, plain.credits), (None, None));
        assert!(plain.limits.is_empty());
        assert_eq!(
            store.lease_credits(plain.id, None, 1, now).await.unwrap(),
            Some(LeaseOutcome::Unlimited)
        );
        assert_eq!(
            store.lease_credits(999_999, None, 1, now).await.unwrap(),
            None
        );
    })
    .await;
}

#[tokio::test]
async fn leases_hand_out_the_balance_exactly_and_take_back_what_is_unspent() {
    each_backend(|store| async move {
        let now = OffsetDateTime::now_utc();
        let key = key_with(&store, now, credited(100, None)).await;
        let first = lease(&store, key.id, None, now).await;
        assert_eq!((first.granted, first.remaining), (10, 90));
        assert_eq!(stored(&store, key.id).await.credits.unwrap().remaining, 90);
        // Four of the ten spent; six come back with the next lease.
        let unspent = UnspentLease {
            key_id: key.id,
            credits: 6,
            generation: first.generation,
        };
        let second = lease(&store, key.id, Some(unspent), now).await;
        assert_eq!((second.granted, second.remaining), (9, 87));
        store
            .return_credits(&[UnspentLease {
                credits: 9,
                ..unspent
            }])
            .await
            .unwrap();
        assert_eq!(stored(&store, key.id).await.credits.unwrap().remaining, 96);
        let mut handed = 0;
        loop {
            let plan = lease(&store, key.id, None, now).await;
            if plan.granted == 0 {
                break;
            }
            handed += plan.granted;
        }
        assert_eq!(handed, 96, "exactly what was left");
        assert_eq!(stored(&store, key.id).await.credits.unwrap().remaining, 0);
    })
    .await;
}

#[tokio::test]
async fn concurrent_leases_never_hand_out_a_credit_twice() {
    each_backend(|store| async move {
        let now = OffsetDateTime::now_utc();
        let key = key_with(&store, now, credited(100, None)).await;
        let takers = (0..8).map(|_| {
            let store = store.clone();
            tokio::spawn(async move {
                let mut taken = 0;
                loop {
                    match store
                        .lease_credits(key.id, None, 1, now)
                        .await
                        .expect("lease")
                    {
                        Some(LeaseOutcome::Leased(plan)) if plan.granted > 0 => {
                            taken += plan.granted
                        }
                        _ => return taken,
                    }
                }
            })
        });
        let mut total = 0;
        for taker in takers {
            total += taker.await.expect("task");
        }
        assert_eq!(total, 100);
        assert_eq!(stored(&store, key.id).await.credits.unwrap().remaining, 0);
    })
    .await;
}

#[tokio::test]
async fn a_refill_replaces_the_balance_and_voids_older_leases() {
    each_backend(|store| async move {
        let day_one = OffsetDateTime::now_utc();
        let key = key_with(&store, day_one, credited(5, Some(DAILY))).await;
        let before = lease(&store, key.id, None, day_one).await;
        assert_eq!((before.granted, before.refilled), (1, false));
        let day_two = day_one + Duration::days(1);
        let after = lease(&store, key.id, None, day_two).await;
        assert!(after.refilled);
        assert_eq!((after.granted, after.remaining), (5, 45));
        assert_eq!(after.generation, before.generation + 1);
        let credits = stored(&store, key.id).await.credits.unwrap();
        assert_eq!(
            credits.refilled_at.map(|t| t.unix_timestamp()),
            Some(day_two.unix_timestamp())
        );
        // The lease of day one comes back too late: it is not added to day two's balance.
        store
            .return_credits(&[UnspentLease {
                key_id: key.id,
                credits: before.granted,
                generation: before.generation,
            }])
            .await
            .unwrap();
        assert_eq!(stored(&store, key.id).await.credits.unwrap().remaining, 45);
        let same_day = lease(&store, key.id, None, day_two + Duration::hours(1)).await;
        assert!(!same_day.refilled, "once per day");
    })
    .await;
}

#[tokio::test]
async fn setting_the_balance_is_audited_announced_and_voids_older_leases() {
    each_backend(|store| async move {
        let now = OffsetDateTime::now_utc();
        let key = key_with(&store, now, credited(100, None)).await;
        let leased = lease(&store, key.id, None, now).await;
        let (_, since) = store.invalidations_since(0).await.unwrap();
        let changes = KeyChanges {
            name: Some("renamed".into()),
            credits: Some(Some(20)),
            per_minute: Some(Some(60)),
            meta: Some(Some(KeyMeta::from_value(&json!({"tier": 2})).unwrap())),
            ..KeyChanges::default()
        };
        let audit = audit_at(now, AuditAction::ApiKeyUpdated, "api_key").detail("changed");
        let changed = store
            .update_api_key(key.id, changes, now, audit)
            .await
            .expect("updated");
        assert_eq!(changed.name, "renamed");
        assert_eq!(changed.limits.per_minute, Some(60));
        assert_eq!(changed.meta.unwrap().as_str(), r#"{"tier":2}"#);
        let credits = changed.credits.unwrap();
        assert_eq!(
            (credits.remaining, credits.generation),
            (20, leased.generation + 1)
        );
        store
            .return_credits(&[UnspentLease {
                key_id: key.id,
                credits: leased.granted,
                generation: leased.generation,
            }])
            .await
            .unwrap();
        assert_eq!(
            stored(&store, key.id).await.credits.unwrap().remaining,
            20,
            "a lease of the old balance is not added to the new one"
        );
        let (announced, _) = store.invalidations_since(since - 5_000).await.unwrap();
        assert!(announced.contains(&Invalidation::ApiKey(key.id)));
        let events = store
            .list_audits(key.account_id, PageRequest::default())
            .await
            .unwrap();
        assert!(events.items.iter().any(|e| e.action == "api_key.updated"
            && e.target_id.as_deref() == Some(&key.id.to_string())));
        let unlimited = KeyChanges {
            credits: Some(None),
            ..KeyChanges::default()
        };
        let audit = audit_at(now, AuditAction::ApiKeyUpdated, "api_key");
        let cleared = store
            .update_api_key(key.id, unlimited, now, audit)
            .await
            .unwrap();
        assert_eq!(cleared.credits, None);
        assert_eq!(
            store.lease_credits(key.id, None, 1, now).await.unwrap(),
            Some(LeaseOutcome::Unlimited)
        );
        let missing = store
            .update_api_key(
                999_999,
                KeyChanges::default(),
                now,
                audit_at(now, AuditAction::ApiKeyUpdated, "api_key"),
            )
            .await;
        assert!(matches!(
            missing,
            Err(gatekey_core::store::StoreError::NotFound)
        ));
    })
    .await;
}
