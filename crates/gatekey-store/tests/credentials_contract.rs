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
