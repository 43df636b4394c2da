//! The contract of rolling API keys, recording where they were last used, and listing those
//! close to expiry, on every backend.

use gatekey_core::audit::AuditAction;
use gatekey_core::page::PageRequest;
use gatekey_core::role::Role;
use gatekey_core::scope::ScopeSet;
use gatekey_core::secret::{Secret, SecretKind};
use gatekey_core::store::*;
use gatekey_store::SqlStore;
use time::{Duration, OffsetDateTime};

mod fixtures;
use fixtures::{acme_with_ada, audit_at, each_backend};

/// A key of `membership_id` made at `now`, with `parent` and `expires_at`; its secret and id.
async fn key_with(
    store: &SqlStore,
    membership_id: i64,
    now: OffsetDateTime,
    parent: Option<i64>,
    expires_at: Option<OffsetDateTime>,
) -> (Secret, i64) {
    let secret = Secret::generate(SecretKind::ApiKey);
    let new = NewApiKey {
        membership_id,
        name: "k".into(),
        display_prefix: secret.display_prefix(),
        hash: secret.hash(),
        scopes: ScopeSet::ALL,
        created_at: now,
        expires_at,
        parent_key_id: parent,
        usage: Default::default(),
    };
    let audit = audit_at(now, AuditAction::ApiKeyCreated, "api_key");
    match store.create_api_key(new, audit).await.expect("created") {
        KeyCreation::Created(key) => (secret, key.id),
        KeyCreation::ParentUnusable => panic!("the parent is usable"),
    }
}

/// Rolls key `id` at `at` to a new secret, the replaced one working until `previous_until`.
async fn roll(
    store: &SqlStore,
    id: i64,
    at: OffsetDateTime,
    previous_until: Option<OffsetDateTime>,
    rolled_with: Option<RollingKey>,
) -> (Secret, KeyRollOutcome) {
    let secret = Secret::generate(SecretKind::ApiKey);
    let roll = KeyRoll {
        key_id: id,
        hash: secret.hash(),
        display_prefix: secret.display_prefix(),
        at,
        previous_until,
        rolled_with,
    };
    let audit = audit_at(at, AuditAction::ApiKeyRolled, "api_key").detail("a roll");
    let outcome = store.roll_api_key(roll, audit).await.expect("stored");
    (secret, outcome)
}

async fn found(store: &SqlStore, secret: &Secret) -> Option<KeyCredential> {
    store
        .api_key_credential(&secret.hash())
        .await
        .expect("read")
}

#[tokio::test]
async fn a_roll_keeps_the_key_and_its_old_secret_for_the_grace() {
    each_backend(|store| async move {
        let now = OffsetDateTime::now_utc().replace_nanosecond(0).unwrap();
        let (acme, ada) = acme_with_ada(&store, now).await;
        let expires = now + Duration::days(30);
        let (first, id) = key_with(&store, ada.membership.id, now, None, Some(expires)).await;
        let (_, since) = store.invalidations_since(0).await.unwrap();
        let grace_end = now + Duration::hours(1);

        let (second, outcome) = roll(&store, id, now, Some(grace_end), None).await;
        let KeyRollOutcome::Rolled(rolled) = outcome else {
            panic!("rolled: {outcome:?}");
        };
        assert_eq!((rolled.id, rolled.expires_at), (id, Some(expires)));
        assert_eq!(rolled.display_prefix, second.display_prefix());
        assert_eq!(rolled.previous_display_prefix, Some(first.display_prefix()));
        assert_eq!(rolled.previous_secret_expires_at, Some(grace_end));

        let by_new = found(&store, &second).await.expect("the new secret");
        assert!(!by_new.by_previous_secret);
        assert_eq!(by_new.expires_at(), Some(expires));
        let by_old = found(&store, &first).await.expect("the old secret");
        assert!(by_old.by_previous_secret);
        assert_eq!(by_old.key.id, id);
        assert_eq!(by_old.expires_at(), Some(grace_end), "capped at the grace");

        let (announced, _) = store.invalidations_since(since - 5_000).await.unwrap();
        assert!(
            announced.contains(&Invalidation::ApiKey(id)),
            "{announced:?}"
        );
        let audits = store
            .list_audits(acme.id, PageRequest::default())
            .await
            .unwrap();
        let rolled_event = &audits.items[0];
        assert_eq!(rolled_event.action, "api_key.rolled");
        assert_eq!(rolled_event.target_id, Some(id.to_string()));

        // Rolling again ends the first secret at once; the second is the previous one now.
        let (third, _) = roll(&store, id, now, Some(now + Duration::days(7)), None).await;
        assert!(found(&store, &first).await.is_none(), "the oldest is gone");
        let by_second = found(&store, &second).await.expect("the second");
        assert!(by_second.by_previous_secret);
        assert_eq!(
            by_second.expires_at(),
            Some(expires.min(now + Duration::days(7)))
        );
        assert!(!found(&store, &third).await.unwrap().by_previous_secret);

        // No grace: only the newest secret is left.
        let (fourth, _) = roll(&store, id, now, None, None).await;
        assert!(found(&store, &third).await.is_none());
        let key = found(&store, &fourth).await.unwrap().key;
        assert_eq!(
            (key.previous_secret_expires_at, key.previous_display_prefix),
            (None, None)
        );
    })
    .await;
}

#[tokio::test]
async fn revoked_expired_and_missing_keys_are_not_rolled() {
    each_backend(|store| async move {
        let now = OffsetDateTime::now_utc().replace_nanosecond(0).unwrap();
        let (_, ada) = acme_with_ada(&store, now).await;
        let m = ada.membership.id;
        let (revoked_secret, revoked) = key_with(&store, m, now, None, None).await;
        let audit = audit_at(now, AuditAction::ApiKeyRevoked, "api_key");
        store.revoke_api_key(revoked, now, audit).await.unwrap();
        let (expired_secret, expired) =
            key_with(&store, m, now, None, Some(now + Duration::seconds(1))).await;
        let later = now + Duration::seconds(2);

        for (id, secret, at) in [
            (revoked, revoked_secret, now),
            (expired, expired_secret, later),
        ] {
            let (new, outcome) = roll(&store, id, at, Some(at + Duration::hours(1)), None).await;
            assert!(matches!(outcome, KeyRollOutcome::Unusable(ref k) if k.id == id));
            assert!(found(&store, &new).await.is_none(), "nothing stored");
            assert!(!found(&store, &secret).await.unwrap().by_previous_secret);
        }
        let missing = store
            .roll_api_key(
                KeyRoll {
                    key_id: 9_999,
                    hash: Secret::generate(SecretKind::ApiKey).hash(),
                    display_prefix: "gk_key_missing0".into(),
                    at: now,
                    previous_until: None,
                    rolled_with: None,
                },
                audit_at(now, AuditAction::ApiKeyRolled, "api_key"),
            )
            .await;
        assert!(matches!(missing, Err(StoreError::NotFound)), "{missing:?}");
    })
    .await;
}

#[tokio::test]
async fn an_api_key_rolls_itself_and_its_descendants_with_its_current_secret() {
    each_backend(|store| async move {
        let now = OffsetDateTime::now_utc().replace_nanosecond(0).unwrap();
        let (_, ada) = acme_with_ada(&store, now).await;
        let m = ada.membership.id;
        let (root_secret, root) = key_with(&store, m, now, None, None).await;
        let (child_secret, child) = key_with(&store, m, now, Some(root), None).await;
        let (_, grandchild) = key_with(&store, m, now, Some(child), None).await;
        let (_, stranger) = key_with(&store, m, now, None, None).await;
        let with = |secret: &Secret, id| {
            Some(RollingKey {
                id,
                hash: secret.hash(),
            })
        };
        let rolled = |outcome: &KeyRollOutcome| matches!(outcome, KeyRollOutcome::Rolled(_));
        let refused = |outcome: &KeyRollOutcome| matches!(outcome, KeyRollOutcome::NotRollableWith);

        let grace = Some(now + Duration::hours(1));
        let (_, outcome) = roll(&store, grandchild, now, None, with(&root_secret, root)).await;
        assert!(rolled(&outcome), "an ancestor: {outcome:?}");
        let (_, outcome) = roll(&store, root, now, None, with(&child_secret, child)).await;
        assert!(refused(&outcome), "a descendant rolls no ancestor");
        let (_, outcome) = roll(&store, stranger, now, None, with(&root_secret, root)).await;
        assert!(refused(&outcome), "nor a key outside its lineage");
        let (_, outcome) = roll(&store, child, now, None, with(&root_secret, child)).await;
        assert!(
            refused(&outcome),
            "another key's secret is no key's current secret"
        );

        // The child rolls itself; its replaced secret, still in its grace, rolls nothing.
        let (new_child, outcome) =
            roll(&store, child, now, grace, with(&child_secret, child)).await;
        assert!(rolled(&outcome), "itself: {outcome:?}");
        let (_, outcome) = roll(&store, child, now, None, with(&child_secret, child)).await;
        assert!(refused(&outcome), "a replaced secret rolls nothing");
        let (_, outcome) = roll(&store, child, now, None, with(&new_child, child)).await;
        assert!(rolled(&outcome), "the current one does");
    })
    .await;
}

#[tokio::test]
async fn a_replaced_secret_ends_alone_when_asked() {
    each_backend(|store| async move {
        let now = OffsetDateTime::now_utc().replace_nanosecond(0).unwrap();
        let (_, ada) = acme_with_ada(&store, now).await;
        let (old, id) = key_with(&store, ada.membership.id, now, None, None).await;
        let (new, _) = roll(&store, id, now, Some(now + Duration::days(1)), None).await;
        let (_, since) = store.invalidations_since(0).await.unwrap();
        let later = now + Duration::minutes(5);
        let audit = || audit_at(later, AuditAction::LeakedSecretRevoked, "api_key");

        let ended = store
            .end_previous_api_key_secret(id, &new.hash(), audit())
            .await;
        assert!(!ended.unwrap(), "the current secret is not a previous one");
        assert!(store
            .end_previous_api_key_secret(id, &old.hash(), audit())
            .await
            .unwrap());
        assert!(found(&store, &old).await.is_none());
        let current = found(&store, &new).await.expect("the key lives on");
        assert!(current.key.revoked_at.is_none());
        assert_eq!(current.key.previous_secret_expires_at, Some(later));
        let (announced, _) = store.invalidations_since(since - 5_000).await.unwrap();
        assert!(announced.contains(&Invalidation::ApiKey(id)));
        assert!(!store
            .end_previous_api_key_secret(id, &old.hash(), audit())
            .await
            .unwrap());
    })
    .await;
}

#[tokio::test]
async fn the_latest_use_keeps_its_address() {
    each_backend(|store| async move {
        let now = OffsetDateTime::now_utc().replace_nanosecond(0).unwrap();
        let (_, ada) = acme_with_ada(&store, now).await;
        let (_, id) = key_with(&store, ada.membership.id, now, None, None).await;
        let at = |s| now + Duration::seconds(s);
        let used = |seconds, ip: &str| KeyUse {
            key_id: id,
            at: at(seconds),
            ip: ip.parse().ok(),
        };
        let stored = || async { store.api_key_by_id(id).await.unwrap().unwrap() };

        store
            .record_key_usage(&[used(10, "2001:db8::1")])
            .await
            .unwrap();
        let key = stored().await;
        assert_eq!(key.last_used_at, Some(at(10)));
        assert_eq!(key.last_used_ip.as_deref(), Some("2001:db8::1"));
        store
            .record_key_usage(&[used(5, "192.0.2.9")])
            .await
            .unwrap();
        assert_eq!(
            stored().await.last_used_ip.as_deref(),
            Some("2001:db8::1"),
            "an older use changes nothing"
        );
        store
            .record_key_usage(&[used(20, "unknown")])
            .await
            .unwrap();
        let key = stored().await;
        assert_eq!(key.last_used_at, Some(at(20)));
        assert_eq!(
            key.last_used_ip.as_deref(),
            Some("2001:db8::1"),
            "a use from an unknown address keeps the last known one"
        );
    })
    .await;
}

#[tokio::test]
async fn keys_close_to_expiry_are_listed_alone() {
    each_backend(|store| async move {
        let now = OffsetDateTime::now_utc().replace_nanosecond(0).unwrap();
        let (acme, ada) = acme_with_ada(&store, now).await;
        let other = fixtures::add_user(
            &store,
            fixtures::person("bob@acme.test", now),
            acme.id,
            Role::Member,
        )
        .await;
        let m = ada.membership.id;
        let days = |d| Some(now + Duration::days(d));
        let (_, soon) = key_with(&store, m, now, None, days(2)).await;
        let (_, later) = key_with(&store, m, now, None, days(20)).await;
        let (_, never) = key_with(&store, m, now, None, None).await;
        let (_, revoked) = key_with(&store, m, now, None, days(1)).await;
        let audit = audit_at(now, AuditAction::ApiKeyRevoked, "api_key");
        store.revoke_api_key(revoked, now, audit).await.unwrap();
        let (_, expired) = key_with(&store, m, now - Duration::days(2), None, days(-1)).await;
        let (_, bobs) = key_with(&store, other.membership.id, now, None, days(3)).await;
        let listed = |filter: ApiKeyFilter| {
            let store = store.clone();
            async move {
                let page = PageRequest::new(None, Some(200)).unwrap();
                let keys = store.list_api_keys(filter, page).await.unwrap();
                assert_eq!(keys.total, keys.items.len() as u64);
                keys.items.iter().map(|k| k.id).collect::<Vec<_>>()
            }
        };
        let week = Some((now, now + Duration::days(7)));
        let adas = ApiKeyFilter {
            user_id: Some(ada.user.id),
            account_id: Some(acme.id),
            expiring_between: week,
        };
        assert_eq!(listed(adas).await, [soon]);
        let everyone = ApiKeyFilter {
            expiring_between: week,
            ..ApiKeyFilter::default()
        };
        assert_eq!(listed(everyone).await, [bobs, soon]);
        let all = ApiKeyFilter {
            user_id: Some(ada.user.id),
            ..ApiKeyFilter::default()
        };
        assert_eq!(listed(all).await, [expired, revoked, never, later, soon]);
    })
    .await;
}
