//! The contract of what narrows and ends credentials, on every backend: role changes and the
//! lineage of API keys.

use gatekey_core::audit::AuditAction;
use gatekey_core::role::Role;
use gatekey_core::store::*;
use gatekey_store::SqlStore;
use time::OffsetDateTime;

mod fixtures;
use fixtures::{add_user, audit, create_account, each_backend, person};

async fn member(store: &SqlStore, account_id: i64, email: &str, role: Role) -> i64 {
    let user = NewUser {
        name: "Someone".into(),
        ..person(email, OffsetDateTime::now_utc())
    };
    add_user(store, user, account_id, role).await.user.id
}

async fn account(store: &SqlStore, slug: &str) -> i64 {
    create_account(store, slug, slug, OffsetDateTime::now_utc())
        .await
        .id
}

#[tokio::test]
async fn role_changes_keep_an_owner_and_are_announced() {
    each_backend(|store| async move {
        let acme = account(&store, "acme").await;
        let owner = member(&store, acme, "owner@acme.test", Role::Owner).await;
        let ada = member(&store, acme, "ada@acme.test", Role::Member).await;
        let change = |user_id: i64, role: Role| {
            let store = store.clone();
            async move {
                store
                    .change_role(acme, user_id, role, audit(AuditAction::RoleChanged, "user"))
                    .await
                    .unwrap()
            }
        };
        let (_, start) = store.invalidations_since(0).await.unwrap();

        assert!(matches!(
            change(owner, Role::Admin).await,
            RoleChange::LastOwner
        ));
        assert!(matches!(
            change(9999, Role::Admin).await,
            RoleChange::NotFound
        ));
        let RoleChange::Changed(lowered) = change(ada, Role::Viewer).await else {
            panic!("changed");
        };
        assert_eq!(lowered.membership.role, Role::Viewer);
        let (announced, _) = store.invalidations_since(start - 5_000).await.unwrap();
        assert!(
            announced.contains(&Invalidation::User(ada)),
            "{announced:?}"
        );
        assert!(!announced.contains(&Invalidation::User(owner)));

        // With a second owner, the first may step down.
        assert!(matches!(
            change(ada, Role::Owner).await,
            RoleChange::Changed(_)
        ));
        assert!(matches!(
            change(owner, Role::Admin).await,
            RoleChange::Changed(_)
        ));
        assert!(matches!(
            change(ada, Role::Member).await,
            RoleChange::LastOwner
        ));
        let stored = store.member(acme, owner).await.unwrap().unwrap();
        assert_eq!(stored.membership.role, Role::Admin);
    })
    .await;
}

async fn create_key(
    store: &SqlStore,
    membership_id: i64,
    parent: Option<i64>,
    created_at: OffsetDateTime,
    expires_at: Option<OffsetDateTime>,
) -> KeyCreation {
    let secret = gatekey_core::secret::Secret::generate(gatekey_core::secret::SecretKind::ApiKey);
    store
        .create_api_key(
            NewApiKey {
                membership_id,
                name: "k".into(),
                display_prefix: secret.display_prefix(),
                hash: secret.hash(),
                scopes: gatekey_core::scope::ScopeSet::ALL,
                created_at,
                expires_at,
                parent_key_id: parent,
                usage: Default::default(),
            },
            audit(AuditAction::ApiKeyCreated, "api_key"),
        )
        .await
        .unwrap()
}

async fn key(store: &SqlStore, membership_id: i64, parent: Option<i64>) -> i64 {
    let now = OffsetDateTime::now_utc();
    match create_key(store, membership_id, parent, now, None).await {
        KeyCreation::Created(key) => key.id,
        KeyCreation::ParentUnusable => panic!("the parent {parent:?} is usable"),
    }
}

async fn membership(store: &SqlStore, account_id: i64, user_id: i64) -> i64 {
    store
        .member(account_id, user_id)
        .await
        .unwrap()
        .unwrap()
        .membership
        .id
}

async fn key_count(store: &SqlStore, account_id: i64) -> u64 {
    let filter = ApiKeyFilter {
        account_id: Some(account_id),
        user_id: None,
        ..ApiKeyFilter::default()
    };
    let page = gatekey_core::page::PageRequest::new(None, Some(200)).unwrap();
    store.list_api_keys(filter, page).await.unwrap().total
}

/// The cache of another server may still trust a parent that has ended; the store, which
/// writes the child, checks the parent again in the same transaction.
#[tokio::test]
async fn no_key_is_stored_under_a_parent_that_has_ended() {
    each_backend(|store| async move {
        let acme = account(&store, "acme").await;
        let admin = member(&store, acme, "admin@acme.test", Role::Admin).await;
        let admin_m = membership(&store, acme, admin).await;
        let t0 = OffsetDateTime::now_utc();

        let revoked = key(&store, admin_m, None).await;
        key(&store, admin_m, Some(revoked)).await;
        store
            .revoke_api_key(revoked, t0, audit(AuditAction::ApiKeyRevoked, "api_key"))
            .await
            .unwrap();
        let before = key_count(&store, acme).await;
        assert!(matches!(
            create_key(&store, admin_m, Some(revoked), t0, None).await,
            KeyCreation::ParentUnusable
        ));
        assert_eq!(key_count(&store, acme).await, before, "nothing stored");

        let expiring = match create_key(
            &store,
            admin_m,
            None,
            t0,
            Some(t0 + time::Duration::seconds(10)),
        )
        .await
        {
            KeyCreation::Created(key) => key.id,
            KeyCreation::ParentUnusable => panic!("no parent"),
        };
        let soon = t0 + time::Duration::seconds(5);
        assert!(matches!(
            create_key(&store, admin_m, Some(expiring), soon, None).await,
            KeyCreation::Created(_)
        ));
        let later = t0 + time::Duration::seconds(10);
        assert!(matches!(
            create_key(&store, admin_m, Some(expiring), later, None).await,
            KeyCreation::ParentUnusable
        ));

        let paused = key(&store, admin_m, None).await;
        store
            .disable_user(admin, t0, audit(AuditAction::UserDisabled, "user"))
            .await
            .unwrap();
        assert!(matches!(
            create_key(&store, admin_m, Some(paused), t0, None).await,
            KeyCreation::ParentUnusable
        ));
        store
            .enable_user(admin, audit(AuditAction::UserEnabled, "user"))
            .await
            .unwrap();
        assert!(matches!(
            create_key(&store, admin_m, Some(paused), t0, None).await,
            KeyCreation::Created(_)
        ));
        assert!(matches!(
            create_key(&store, admin_m, Some(999_999), t0, None).await,
            KeyCreation::ParentUnusable
        ));
    })
    .await;
}

#[tokio::test]
async fn revoking_a_key_or_disabling_its_user_revokes_its_descendants() {
    each_backend(|store| async move {
        let acme = account(&store, "acme").await;
        let admin = member(&store, acme, "admin@acme.test", Role::Admin).await;
        let robot = member(&store, acme, "robot@acme.test", Role::Member).await;
        let admin_m = store
            .member(acme, admin)
            .await
            .unwrap()
            .unwrap()
            .membership
            .id;
        let robot_m = store
            .member(acme, robot)
            .await
            .unwrap()
            .unwrap()
            .membership
            .id;
        let root = key(&store, admin_m, None).await;
        let child = key(&store, admin_m, Some(root)).await;
        let grandchild = key(&store, robot_m, Some(child)).await;
        let unrelated = key(&store, robot_m, None).await;
        let other_root = key(&store, admin_m, None).await;
        let other_child = key(&store, robot_m, Some(other_root)).await;
        assert_eq!(
            store
                .api_key_by_id(child)
                .await
                .unwrap()
                .unwrap()
                .parent_key_id,
            Some(root)
        );
        let (_, start) = store.invalidations_since(0).await.unwrap();

        let revoked = store
            .revoke_api_key(
                root,
                OffsetDateTime::now_utc(),
                audit(AuditAction::ApiKeyRevoked, "api_key"),
            )
            .await
            .unwrap();
        assert_eq!(revoked.key.id, root);
        assert_eq!(revoked.cascaded, vec![child, grandchild]);
        let (announced, _) = store.invalidations_since(start - 5_000).await.unwrap();
        for id in [root, child, grandchild] {
            assert!(
                announced.contains(&Invalidation::ApiKey(id)),
                "{announced:?}"
            );
        }
        for (id, revoked) in [(unrelated, false), (other_child, false), (grandchild, true)] {
            let stored = store.api_key_by_id(id).await.unwrap().unwrap();
            assert_eq!(stored.revoked_at.is_some(), revoked, "key {id}");
        }

        store
            .disable_user(
                admin,
                OffsetDateTime::now_utc(),
                audit(AuditAction::UserDisabled, "user"),
            )
            .await
            .unwrap();
        let orphan = store.api_key_by_id(other_child).await.unwrap().unwrap();
        assert!(
            orphan.revoked_at.is_some(),
            "a child of a disabled user's key"
        );
        let own = store.api_key_by_id(other_root).await.unwrap().unwrap();
        assert!(
            own.revoked_at.is_none(),
            "the user's own keys pause, not end"
        );
        let unrelated = store.api_key_by_id(unrelated).await.unwrap().unwrap();
        assert!(unrelated.revoked_at.is_none());
        let events = store
            .list_audits(
                acme,
                gatekey_core::page::PageRequest::new(None, Some(200)).unwrap(),
            )
            .await
            .unwrap();
        let cascades = events
            .items
            .iter()
            .filter(|e| e.action == "api_key.revoked" && e.detail.is_some())
            .count();
        assert_eq!(cascades, 3, "one event per cascaded key");
    })
    .await;
}
