//! The contract of what narrows and ends credentials, on every backend: role changes and the
//! lineage of API keys.

use gatekey_core::audit::{Actor, AuditAction, AuditEntry};
use gatekey_core::role::Role;
use gatekey_core::store::*;
use gatekey_core::user::UserKind;
use gatekey_store::testing::{backends, TestDatabase};
use gatekey_store::SqlStore;
use time::OffsetDateTime;

fn audit(action: AuditAction, target: &'static str) -> AuditEntry {
    AuditEntry::new(
        OffsetDateTime::now_utc(),
        &Actor::operator(),
        action,
        target,
    )
}

async fn each_backend<F, Fut>(test: F)
where
    F: Fn(SqlStore) -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    for backend in backends() {
        let db = TestDatabase::create(backend).await;
        let store = SqlStore::connect(&db.url).await.expect("connect");
        test(store.clone()).await;
        store.close().await;
        db.drop_database().await;
    }
}

async fn member(store: &SqlStore, account_id: i64, email: &str, role: Role) -> i64 {
    let user = NewUser {
        email: email.into(),
        name: "Someone".into(),
        kind: UserKind::Person,
        password_hash: None,
        created_at: OffsetDateTime::now_utc(),
    };
    store
        .create_user(
            user,
            account_id,
            role,
            audit(AuditAction::UserCreated, "user"),
        )
        .await
        .unwrap()
        .user
        .id
}

async fn account(store: &SqlStore, slug: &str) -> i64 {
    store
        .create_account(
            slug,
            slug,
            OffsetDateTime::now_utc(),
            audit(AuditAction::AccountCreated, "account"),
        )
        .await
        .unwrap()
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

async fn key(store: &SqlStore, membership_id: i64, parent: Option<i64>) -> i64 {
    let secret = gatekey_core::secret::Secret::generate(gatekey_core::secret::SecretKind::ApiKey);
    store
        .create_api_key(
            NewApiKey {
                membership_id,
                name: "k".into(),
                display_prefix: secret.display_prefix(),
                hash: secret.hash(),
                scopes: gatekey_core::scope::ScopeSet::ALL,
                created_at: OffsetDateTime::now_utc(),
                expires_at: None,
                parent_key_id: parent,
            },
            audit(AuditAction::ApiKeyCreated, "api_key"),
        )
        .await
        .unwrap()
        .id
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
