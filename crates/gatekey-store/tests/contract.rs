//! One contract suite for every backend: SQLite always, PostgreSQL when
//! `GATEKEY_TEST_POSTGRES_URL` is set.

use gatekey_core::audit::AuditAction;
use gatekey_core::clock::{from_millis, to_millis};
use gatekey_core::page::PageRequest;
use gatekey_core::role::Role;
use gatekey_core::scope::ScopeSet;
use gatekey_core::secret::{Secret, SecretKind};
use gatekey_core::session::Session;
use gatekey_core::store::*;
use gatekey_core::user::{User, UserKind};
use gatekey_store::SqlStore;
use time::OffsetDateTime;

mod fixtures;
use fixtures::{acme_with, acme_with_ada, add_user, audit, create_account, each_backend, person};

/// Sets the password hash of `user_id` as the operator, keeping no session.
async fn set_password(store: &SqlStore, user_id: i64, hash: &str) -> StoreResult<()> {
    let audit = audit(AuditAction::PasswordChanged, "user");
    store.set_password(user_id, hash, None, audit).await
}

/// The user whose email is `email`, who must exist.
async fn user_by_email(store: &SqlStore, email: &str) -> User {
    let found = store.user_by_email(email).await.unwrap();
    found.expect("a user with that email")
}

#[tokio::test]
async fn accounts_users_and_memberships() {
    each_backend(|store| async move {
        let now = OffsetDateTime::now_utc();
        let acme = create_account(&store, "acme", "Acme", now).await;
        let other = create_account(&store, "other", "Other", now).await;
        let dup = store
            .create_account(
                "acme",
                "Again",
                now,
                audit(AuditAction::AccountCreated, "account"),
            )
            .await;
        assert!(matches!(dup, Err(StoreError::Conflict(_))), "{dup:?}");
        assert_eq!(
            store.account_by_slug("acme").await.unwrap(),
            Some(acme.clone())
        );
        assert_eq!(store.list_accounts().await.unwrap().len(), 2);

        let ada = add_user(&store, person("ada@example.com", now), acme.id, Role::Owner).await;
        let again = store
            .create_user(
                person("ada@example.com", now),
                other.id,
                Role::Owner,
                audit(AuditAction::UserCreated, "user"),
            )
            .await;
        assert!(matches!(again, Err(StoreError::Conflict(_))));
        let join_other = || {
            let audit = audit(AuditAction::MembershipCreated, "membership");
            store.add_membership(ada.user.id, other.id, Role::Viewer, now, audit)
        };
        join_other().await.unwrap();
        let twice = join_other().await;
        assert!(matches!(twice, Err(StoreError::Conflict(_))));

        let bot = NewUser {
            kind: UserKind::Service,
            ..person("bot@acme.service.invalid", now)
        };
        store
            .create_user(
                bot,
                acme.id,
                Role::Member,
                audit(AuditAction::ServiceAccountCreated, "service_account"),
            )
            .await
            .unwrap();

        let all = store
            .list_members(None, None, PageRequest::default())
            .await
            .unwrap();
        assert_eq!(all.total, 3);
        let in_acme = store
            .list_members(Some(acme.id), None, PageRequest::default())
            .await
            .unwrap();
        assert_eq!(in_acme.total, 2);
        let services = store
            .list_members(
                Some(acme.id),
                Some(UserKind::Service),
                PageRequest::default(),
            )
            .await
            .unwrap();
        assert_eq!(services.items.len(), 1);
        assert_eq!(services.items[0].user.kind, UserKind::Service);
        let paged = store
            .list_members(None, None, PageRequest::new(Some(2), Some(2)).unwrap())
            .await
            .unwrap();
        assert_eq!((paged.items.len(), paged.pagination().total_pages), (1, 2));

        assert_eq!(store.memberships_of(ada.user.id).await.unwrap().len(), 2);
        let member = store
            .member(other.id, ada.user.id)
            .await
            .unwrap()
            .expect("member");
        assert_eq!(member.membership.role, Role::Viewer);

        let disabled = store
            .disable_user(
                ada.user.id,
                now,
                audit(AuditAction::UserDisabled, "user").target(ada.user.id),
            )
            .await
            .unwrap();
        assert!(disabled.is_disabled());
        let (invalidations, _) = store.invalidations_since(0).await.unwrap();
        assert_eq!(invalidations, vec![Invalidation::User(ada.user.id)]);
        let enabled = store
            .enable_user(
                ada.user.id,
                audit(AuditAction::UserEnabled, "user").target(ada.user.id),
            )
            .await
            .unwrap();
        assert!(!enabled.is_disabled());
        set_password(&store, ada.user.id, "$argon2id$new")
            .await
            .unwrap();
        let changed = user_by_email(&store, "ada@example.com").await;
        assert_eq!(changed.password_hash.as_deref(), Some("$argon2id$new"));
        let bot_id = services.items[0].user.id;
        let for_service = set_password(&store, bot_id, "$argon2id$x").await;
        assert!(
            matches!(for_service, Err(StoreError::NotFound)),
            "service accounts never get a password"
        );
        let audits = store
            .list_audits(acme.id, PageRequest::default())
            .await
            .unwrap();
        let recent: Vec<&str> = audits
            .items
            .iter()
            .take(3)
            .map(|a| a.action.as_str())
            .collect();
        assert_eq!(
            recent,
            ["user.password_changed", "user.enabled", "user.disabled"]
        );
        for account in [&acme, &other] {
            let audits = store
                .list_audits(account.id, PageRequest::default())
                .await
                .unwrap();
            assert!(
                audits.items.iter().any(|a| a.action == "user.disabled"),
                "seen in every account of the user"
            );
        }
    })
    .await;
}

#[tokio::test]
async fn api_keys_are_stored_hashed_and_revocation_is_announced() {
    each_backend(|store| async move {
        let now = OffsetDateTime::now_utc();
        let (acme, ada) = acme_with(&store, now, "ada@example.com", Role::Admin).await;
        let secret = Secret::generate(SecretKind::ApiKey);
        let key = store
            .create_api_key(
                NewApiKey {
                    membership_id: ada.membership.id,
                    name: "ci".into(),
                    display_prefix: secret.display_prefix(),
                    hash: secret.hash(),
                    scopes: ScopeSet::parse("read").unwrap(),
                    created_at: now,
                    expires_at: None,
                    parent_key_id: None,
                    usage: Default::default(),
                },
                audit(AuditAction::ApiKeyCreated, "api_key"),
            )
            .await
            .unwrap();
        let KeyCreation::Created(key) = key else {
            panic!("a key without parent is stored");
        };
        assert_eq!((key.user_id, key.account_id), (ada.user.id, acme.id));

        let found = store
            .api_key_credential(&secret.hash())
            .await
            .unwrap()
            .expect("found by hash");
        assert_eq!(found.key, key);
        assert_eq!(found.role, Role::Admin);
        assert_eq!(found.account.slug, "acme");
        let unknown = Secret::generate(SecretKind::ApiKey);
        assert!(store
            .api_key_credential(&unknown.hash())
            .await
            .unwrap()
            .is_none());

        let later = now + time::Duration::seconds(5);
        let used_at = |at| KeyUse {
            key_id: key.id,
            at,
            ip: None,
        };
        store.record_key_usage(&[used_at(later)]).await.unwrap();
        store.record_key_usage(&[used_at(now)]).await.unwrap();
        let used = store.api_key_by_id(key.id).await.unwrap().unwrap();
        assert_eq!(
            used.last_used_at.map(gatekey_core::clock::to_millis),
            Some(gatekey_core::clock::to_millis(later))
        );

        for (account_id, total) in [(acme.id, 1), (acme.id + 100, 0)] {
            let in_account = ApiKeyFilter {
                account_id: Some(account_id),
                user_id: None,
                ..ApiKeyFilter::default()
            };
            let listed = store
                .list_api_keys(in_account, PageRequest::default())
                .await
                .unwrap();
            assert_eq!(listed.total, total, "keys of account {account_id}");
        }

        let revoked = store
            .revoke_api_key(key.id, later, audit(AuditAction::ApiKeyRevoked, "api_key"))
            .await
            .unwrap()
            .key;
        assert!(revoked.revoked_at.is_some());
        assert!(matches!(
            store
                .revoke_api_key(
                    key.id + 100,
                    later,
                    audit(AuditAction::ApiKeyRevoked, "api_key")
                )
                .await,
            Err(StoreError::NotFound)
        ));
        let (invalidations, db_now) = store.invalidations_since(0).await.unwrap();
        assert_eq!(invalidations, vec![Invalidation::ApiKey(key.id)]);
        assert!(store
            .invalidations_since(db_now + 60_000)
            .await
            .unwrap()
            .0
            .is_empty());

        let audits = store
            .list_audits(acme.id, PageRequest::default())
            .await
            .unwrap();
        let actions: Vec<&str> = audits.items.iter().map(|a| a.action.as_str()).collect();
        assert_eq!(
            actions,
            [
                "api_key.revoked",
                "api_key.created",
                "user.created",
                "account.created"
            ]
        );
        assert_eq!(
            audits.items[0].target_id.as_deref(),
            Some(key.id.to_string().as_str())
        );
    })
    .await;
}

#[tokio::test]
async fn sessions_round_trip() {
    each_backend(|store| async move {
        let now = OffsetDateTime::now_utc();
        let (acme, ada) = acme_with_ada(&store, now).await;
        let secret = Secret::generate(SecretKind::Session);
        let session = Session {
            id: 0,
            hash: secret.hash(),
            user_id: ada.user.id,
            account_id: acme.id,
            csrf_token: "csrf".into(),
            created_at: now,
            expires_at: now + time::Duration::hours(1),
            last_seen_at: now,
        };
        let stored = store
            .create_session(session, audit(AuditAction::LoginSucceeded, "session"))
            .await
            .unwrap();
        let found = store
            .session_by_hash(&secret.hash())
            .await
            .unwrap()
            .expect("session");
        assert_eq!(found.id, stored.id);
        let beta = create_account(&store, "beta", "Beta", now).await;
        store
            .switch_session_account(stored.id, beta.id)
            .await
            .unwrap();
        assert_eq!(
            store
                .session_by_hash(&secret.hash())
                .await
                .unwrap()
                .unwrap()
                .account_id,
            beta.id
        );
        store
            .delete_session(stored.id, audit(AuditAction::Logout, "session"))
            .await
            .unwrap();
        assert!(store
            .session_by_hash(&secret.hash())
            .await
            .unwrap()
            .is_none());
    })
    .await;
}

#[tokio::test]
async fn sessions_are_touched_ended_together_and_deleted_when_idle() {
    each_backend(|store| async move {
        // Stored to the millisecond.
        let now = from_millis(to_millis(OffsetDateTime::now_utc()));
        let acme = create_account(&store, "acme", "Acme", now).await;
        let mut users = Vec::new();
        for email in ["ada@example.com", "bob@example.com"] {
            let member = add_user(&store, person(email, now), acme.id, Role::Member).await;
            users.push(member.user.id);
        }
        let mut secrets = Vec::new();
        for user_id in [users[0], users[0], users[1]] {
            let secret = Secret::generate(SecretKind::Session);
            let session = Session {
                id: 0,
                hash: secret.hash(),
                user_id,
                account_id: acme.id,
                csrf_token: "csrf".into(),
                created_at: now,
                expires_at: now + time::Duration::hours(12),
                last_seen_at: now,
            };
            store
                .create_session(session, audit(AuditAction::LoginSucceeded, "session"))
                .await
                .unwrap();
            secrets.push(secret);
        }
        let found = |i: usize| {
            let store = store.clone();
            let hash = secrets[i].hash();
            async move { store.session_by_hash(&hash).await.unwrap() }
        };
        let later = now + time::Duration::minutes(10);
        let bobs = found(2).await.expect("stored");
        assert_eq!(bobs.last_seen_at, bobs.created_at);
        store.touch_session(bobs.id, later).await.unwrap();
        store.touch_session(bobs.id, now).await.unwrap();
        assert_eq!(
            found(2).await.expect("stored").last_seen_at,
            later,
            "never moved back"
        );

        let ended = store
            .delete_user_sessions(users[0], audit(AuditAction::LogoutEverywhere, "user"))
            .await
            .unwrap();
        assert_eq!(ended, 2);
        assert!(found(0).await.is_none() && found(1).await.is_none());
        assert!(found(2).await.is_some(), "another user's session stays");
        let audits = store
            .list_audits(acme.id, PageRequest::default())
            .await
            .unwrap();
        assert_eq!(audits.items[0].action, "logout.everywhere");
        assert_eq!(
            audits.items[0].detail.as_deref(),
            Some("2 session(s) ended")
        );

        assert_eq!(store.delete_idle_sessions(later).await.unwrap(), 0);
        let deleted = store
            .delete_idle_sessions(later + time::Duration::milliseconds(1))
            .await
            .unwrap();
        assert_eq!(deleted, 1);
        assert!(found(2).await.is_none());
    })
    .await;
}

#[tokio::test]
async fn a_required_password_change_is_cleared_by_the_change() {
    each_backend(|store| async move {
        let (_, ada) = acme_with(
            &store,
            OffsetDateTime::now_utc(),
            "ada@example.com",
            Role::Owner,
        )
        .await;
        assert!(!ada.user.must_change_password);
        store.require_password_change(ada.user.id).await.unwrap();
        let marked = user_by_email(&store, "ada@example.com").await;
        assert!(marked.must_change_password);
        set_password(&store, ada.user.id, "$argon2id$placeholder")
            .await
            .unwrap();
        let changed = user_by_email(&store, "ada@example.com").await;
        assert!(!changed.must_change_password);
        assert!(matches!(
            store.require_password_change(i64::MAX).await,
            Err(StoreError::NotFound)
        ));
    })
    .await;
}
