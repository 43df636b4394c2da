//! The invitation store's contract, on every backend: a link works once, a repeat invitation
//! replaces the pending one, and a refused acceptance changes nothing.

use gatekey_core::audit::{Actor, AuditAction, AuditEntry};
use gatekey_core::invitation::{
    prepare_invitation, Invitation, InvitationCreated, InvitationEnded, InvitationStatus,
    InvitationStore, PreparedInvitation,
};
use gatekey_core::page::PageRequest;
use gatekey_core::role::Role;
use gatekey_core::store::{NewUser, UserStore};
use gatekey_core::user::{Member, Membership, UserKind};
use gatekey_store::testing::{backends, TestDatabase};
use gatekey_store::SqlStore;
use time::{Duration, OffsetDateTime};

mod fixtures;
use fixtures::create_account;

fn audit(action: AuditAction) -> AuditEntry {
    AuditEntry::new(
        OffsetDateTime::now_utc(),
        &Actor::operator(),
        action,
        "invitation",
    )
}

fn person(email: &str, now: OffsetDateTime) -> NewUser {
    NewUser {
        email: email.into(),
        name: "Ada".into(),
        kind: UserKind::Person,
        password_hash: Some("$argon2id$not-a-real-hash".into()),
        created_at: now,
    }
}

fn prepared(account_id: i64, email: &str, now: OffsetDateTime) -> PreparedInvitation {
    prepare_invitation(
        account_id,
        email,
        "Ada",
        Role::Member,
        Role::Owner,
        None,
        now,
    )
    .expect("valid invitation")
}

async fn created(store: &SqlStore, prepared: &PreparedInvitation) -> i64 {
    match store
        .create_invitation(
            prepared.invitation.clone(),
            audit(AuditAction::InvitationCreated),
        )
        .await
        .expect("stored")
    {
        InvitationCreated::Created(invitation) => invitation.id,
        InvitationCreated::AlreadyMember => panic!("not a member yet"),
    }
}

/// Accepts invitation `id` as the existing user `user_id`.
async fn accept(
    store: &SqlStore,
    id: i64,
    user_id: i64,
    now: OffsetDateTime,
) -> InvitationEnded<Membership> {
    store
        .accept_invitation(id, user_id, now, audit(AuditAction::InvitationAccepted))
        .await
        .expect("accept")
}

/// Accepts invitation `id` by creating a login for `email`.
async fn accept_as_new_person(
    store: &SqlStore,
    id: i64,
    email: &str,
    now: OffsetDateTime,
) -> InvitationEnded<Member> {
    store
        .accept_invitation_as_new_person(
            id,
            person(email, now),
            now,
            audit(AuditAction::InvitationAccepted),
        )
        .await
        .expect("accept")
}

/// Withdraws invitation `id` as an admin of `account_id`.
async fn withdraw(
    store: &SqlStore,
    account_id: i64,
    id: i64,
    now: OffsetDateTime,
) -> InvitationEnded<Invitation> {
    store
        .withdraw_invitation(account_id, id, now, audit(AuditAction::InvitationWithdrawn))
        .await
        .expect("withdraw")
}

#[tokio::test]
async fn invitations_are_used_once_and_refusals_change_nothing() {
    for backend in backends() {
        let db = TestDatabase::create(backend).await;
        let store = SqlStore::connect(&db.url).await.expect("connect");
        let now = OffsetDateTime::now_utc();
        let acme = create_account(&store, "acme", "acme", now).await;
        let other = create_account(&store, "other", "other", now).await;
        let existing = store
            .create_user(
                person("ada@example.test", now),
                other.id,
                Role::Owner,
                audit(AuditAction::UserCreated),
            )
            .await
            .expect("user");

        // A repeat invitation replaces the pending one.
        let first = prepared(acme.id, "ada@example.test", now);
        let first_id = created(&store, &first).await;
        let second = prepared(acme.id, "ADA@example.test", now);
        let second_id = created(&store, &second).await;
        let (replaced, account_of) = store
            .invitation_by_hash(&first.secret.hash())
            .await
            .expect("read")
            .expect("found");
        assert_eq!(replaced.status, InvitationStatus::Replaced);
        assert_eq!(account_of.id, acme.id);
        let pending = store
            .pending_invitations(acme.id, now, PageRequest::default())
            .await
            .expect("list");
        assert_eq!(pending.total, 1);
        assert_eq!(pending.items[0].id, second_id);
        assert_eq!(pending.items[0].email, "ada@example.test");
        let stale = accept(&store, first_id, existing.user.id, now).await;
        assert!(matches!(stale, InvitationEnded::Gone), "{stale:?}");

        // Creating a login for an email that has one is refused and leaves the invitation usable.
        let clash = accept_as_new_person(&store, second_id, "ada@example.test", now).await;
        assert!(matches!(clash, InvitationEnded::LoginExists), "{clash:?}");
        let (still, _) = store
            .invitation_by_hash(&second.secret.hash())
            .await
            .expect("read")
            .expect("found");
        assert_eq!(still.status, InvitationStatus::Pending);

        // Accepted once; the second time finds nothing to accept.
        let accepted = accept(&store, second_id, existing.user.id, now).await;
        let InvitationEnded::Done(membership) = accepted else {
            panic!("accepted: {accepted:?}");
        };
        assert_eq!(membership.account_id, acme.id);
        assert_eq!(membership.role, Role::Member);
        let again = accept(&store, second_id, existing.user.id, now).await;
        assert!(matches!(again, InvitationEnded::Gone), "{again:?}");

        // A member is not invited again.
        let member = store
            .create_invitation(
                prepared(acme.id, "ada@example.test", now).invitation,
                audit(AuditAction::InvitationCreated),
            )
            .await
            .expect("answered");
        assert!(matches!(member, InvitationCreated::AlreadyMember));

        // A new person: the login and the membership come together.
        let newcomer = prepared(acme.id, "bea@example.test", now);
        let newcomer_id = created(&store, &newcomer).await;
        let joined = accept_as_new_person(&store, newcomer_id, "bea@example.test", now).await;
        let InvitationEnded::Done(bea) = joined else {
            panic!("joined: {joined:?}");
        };
        assert_eq!(bea.membership.account_id, acme.id);
        assert_eq!(
            store
                .user_by_email("bea@example.test")
                .await
                .expect("read")
                .map(|u| u.id),
            Some(bea.user.id)
        );

        // Expired links, withdrawn ones, and declined ones cannot be accepted.
        let late = prepared(acme.id, "cy@example.test", now - Duration::days(8));
        let late_id = created(&store, &late).await;
        let expired = accept_as_new_person(&store, late_id, "cy@example.test", now).await;
        assert!(matches!(expired, InvitationEnded::Gone), "{expired:?}");
        assert!(store
            .user_by_email("cy@example.test")
            .await
            .expect("read")
            .is_none());
        let withdrawn = prepared(acme.id, "di@example.test", now);
        let withdrawn_id = created(&store, &withdrawn).await;
        let by_other = withdraw(&store, other.id, withdrawn_id, now).await;
        assert!(
            matches!(by_other, InvitationEnded::Gone),
            "another account's admin cannot"
        );
        let done = withdraw(&store, acme.id, withdrawn_id, now).await;
        assert!(matches!(done, InvitationEnded::Done(_)));
        let refused = accept_as_new_person(&store, withdrawn_id, "di@example.test", now).await;
        assert!(matches!(refused, InvitationEnded::Gone));
        let declined = prepared(acme.id, "ed@example.test", now);
        let declined_id = created(&store, &declined).await;
        let no = store
            .decline_invitation(declined_id, now, audit(AuditAction::InvitationDeclined))
            .await
            .expect("decline");
        assert!(matches!(no, InvitationEnded::Done(())));
        let after = store
            .decline_invitation(declined_id, now, audit(AuditAction::InvitationDeclined))
            .await
            .expect("decline");
        assert!(matches!(after, InvitationEnded::Gone));

        store.close().await;
        db.drop_database().await;
    }
}
