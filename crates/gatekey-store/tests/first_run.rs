//! First-run setup on every backend: the first account and its owner are written together or
//! not at all.

use gatekey_core::audit::AuditAction;
use gatekey_core::role::Role;
use gatekey_core::store::{AccountStore, NewUser, StoreError, UserStore};
use gatekey_store::OwnerAccount;
use time::OffsetDateTime;

mod fixtures;
use fixtures::{add_user, audit, create_account, each_backend, person};

fn owner(email: &str) -> NewUser {
    NewUser {
        name: "Owner".into(),
        ..person(email, OffsetDateTime::now_utc())
    }
}

fn new_default() -> OwnerAccount<'static> {
    OwnerAccount::New {
        slug: "default",
        name: "Default",
        audit: audit(AuditAction::AccountCreated, "account"),
    }
}

#[tokio::test]
async fn the_first_account_and_its_owner_are_written_together_or_not_at_all() {
    each_backend(|store| async move {
        let now = OffsetDateTime::now_utc();
        let facts = store.first_run_facts("default").await.unwrap();
        assert!(!facts.any_account && !facts.any_owner);

        // An operator's account and user take the email; a first run that then fails on the
        // owner must not leave its account behind.
        let acme = create_account(&store, "acme", "Acme", now).await;
        add_user(&store, owner("taken@example.com"), acme.id, Role::Member).await;
        let refused = store
            .create_first_owner(
                new_default(),
                owner("taken@example.com"),
                Role::Owner,
                false,
                now,
                audit(AuditAction::UserCreated, "user"),
            )
            .await;
        assert!(
            matches!(refused, Err(StoreError::Conflict(_))),
            "{refused:?}"
        );
        assert_eq!(store.account_by_slug("default").await.unwrap(), None);

        let (account, member) = store
            .create_first_owner(
                new_default(),
                owner("owner@example.com"),
                Role::Owner,
                true,
                now,
                audit(AuditAction::UserCreated, "user"),
            )
            .await
            .unwrap()
            .expect("created");
        assert_eq!(
            (account.slug.as_str(), member.membership.role),
            ("default", Role::Owner)
        );
        let facts = store.first_run_facts("default").await.unwrap();
        assert_eq!((facts.any_owner, facts.first_account_members), (true, 1));
        // A generated password is marked for replacement in the same transaction.
        assert!(member.user.must_change_password);
        let stored = store.user_by_email("owner@example.com").await.unwrap();
        assert!(stored.expect("stored").must_change_password);

        // Another server's first run at the same moment finds the slug taken: nothing to do.
        let raced = store
            .create_first_owner(
                new_default(),
                owner("second@example.com"),
                Role::Owner,
                false,
                now,
                audit(AuditAction::UserCreated, "user"),
            )
            .await
            .unwrap();
        assert!(raced.is_none());
        assert_eq!(
            store.user_by_email("second@example.com").await.unwrap(),
            None
        );
    })
    .await;
}
