//! The retention purge through the real server: dead sessions, device codes and tokens go,
//! while a spent refresh token of a live family stays, so presenting it still revokes the family.

use std::sync::Arc;
use std::time::Duration as StdDuration;

use gatekey_core::account::Account;
use gatekey_core::audit::{Actor, AuditAction, AuditEntry};
use gatekey_core::clock::{Clock, ManualClock};
use gatekey_core::oauth::application::{new_client_id, ApplicationSettings, GrantType};
use gatekey_core::oauth::store::{ApplicationStore, GrantStore, TokenStore};
use gatekey_core::oauth::token::{NewAccessToken, NewRefreshToken};
use gatekey_core::password::hash_password;
use gatekey_core::role::Role;
use gatekey_core::scope::ScopeSet;
use gatekey_core::secret::{Secret, SecretKind, TokenHash};
use gatekey_core::session::Session;
use gatekey_core::store::{AccountStore, SessionStore};
use gatekey_core::user::Member;
use gatekey_core::user_admin::{create_person, PersonRequest};
use gatekey_store::testing::{application_settings, public_application, TestDatabase};
use gatekey_store::SqlStore;
use time::{Duration, OffsetDateTime};

use crate::harness::{each_backend, send, test_config, PASSWORD};

fn operator(clock: &dyn Clock, action: AuditAction, target: &'static str) -> AuditEntry {
    AuditEntry::new(clock.now(), &Actor::operator(), action, target)
}

async fn account_with_owner(store: &SqlStore, clock: &dyn Clock) -> (Account, Member) {
    let account = store
        .create_account(
            "acme",
            "Acme",
            clock.now(),
            operator(clock, AuditAction::AccountCreated, "account"),
        )
        .await
        .unwrap();
    let person = PersonRequest {
        email: "owner@acme.test",
        name: "Owner",
        role: Role::Owner,
        password_hash: Some(hash_password(PASSWORD).unwrap()),
    };
    let owner = create_person(store, clock.now(), &account, person, &Actor::operator())
        .await
        .unwrap();
    (account, owner)
}

/// Writes a twelve-hour session of `owner` in `account` with `hash`, begun at the clock's time.
async fn sign_in_at(
    store: &SqlStore,
    clock: &dyn Clock,
    hash: TokenHash,
    owner: &Member,
    account: &Account,
) {
    store
        .create_session(
            Session {
                id: 0,
                hash,
                user_id: owner.user.id,
                account_id: account.id,
                csrf_token: "csrf".into(),
                created_at: clock.now(),
                expires_at: clock.now() + Duration::hours(12),
                last_seen_at: clock.now(),
            },
            operator(clock, AuditAction::LoginSucceeded, "session"),
        )
        .await
        .unwrap();
}

/// Rows in `table`, read on a connection of its own.
async fn rows(url: &str, table: &str) -> i64 {
    let pool = sqlx::any::AnyPoolOptions::new()
        .max_connections(1)
        .connect(url)
        .await
        .unwrap();
    let count: i64 = sqlx::query_scalar(&format!("SELECT COUNT(*) FROM {table}"))
        .fetch_one(&pool)
        .await
        .unwrap();
    pool.close().await;
    count
}

/// The rows of (device codes, sessions, access tokens, refresh tokens): what the purge ages out.
async fn short_lived_rows(url: &str) -> (i64, i64, i64, i64) {
    (
        rows(url, "device_codes").await,
        rows(url, "sessions").await,
        rows(url, "access_tokens").await,
        rows(url, "refresh_tokens").await,
    )
}

#[tokio::test]
async fn the_purge_deletes_dead_rows_and_reuse_of_a_spent_refresh_token_is_still_caught() {
    each_backend(|backend| async move {
        let db = TestDatabase::create(backend).await;
        let clock = Arc::new(ManualClock::new(OffsetDateTime::now_utc()));
        let mut config = test_config(&db.url);
        config.retention.grace = 24 * 3600;
        let server = gatekey_server::start(config, clock.clone()).await.unwrap();
        let url = |path: &str| format!("{}{path}", server.url());
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        let store = server.state.store.clone();
        let (account, owner) = account_with_owner(&store, clock.as_ref()).await;
        let settings = ApplicationSettings {
            redirect_uris: vec!["http://127.0.0.1/cb".into()],
            ..application_settings("Device", &[GrantType::DeviceCode, GrantType::RefreshToken])
        };
        let new = public_application(&new_client_id(), account.id, settings, clock.now());
        let created = operator(
            clock.as_ref(),
            AuditAction::ApplicationCreated,
            "application",
        );
        let app = store.create_application(new, created).await.unwrap();

        // A device code asked for over HTTP, and a session.
        let started = send(
            http.post(url("/oauth/device_authorization"))
                .form(&[("client_id", app.client_id.as_str()), ("scope", "read")]),
        )
        .await;
        assert_eq!(started.0, 200, "{}", started.2);
        let session = Secret::generate(SecretKind::Session);
        sign_in_at(&store, clock.as_ref(), session.hash(), &owner, &account).await;

        // A refresh family, rotated once over HTTP: its first member is spent.
        let grant = store
            .create_grant(
                owner.user.id,
                account.id,
                app.id,
                ScopeSet::parse("read").unwrap(),
                clock.now(),
                operator(clock.as_ref(), AuditAction::ConsentGranted, "grant"),
            )
            .await
            .unwrap();
        let (access, spent) = (
            Secret::generate(SecretKind::AccessToken),
            Secret::generate(SecretKind::RefreshToken),
        );
        store
            .issue_tokens(
                grant.id,
                NewAccessToken {
                    hash: access.hash(),
                    scopes: grant.scopes.clone(),
                    created_at: clock.now(),
                    expires_at: clock.now() + Duration::hours(1),
                    audience: Vec::new(),
                    code_id: None,
                },
                Some(NewRefreshToken {
                    hash: spent.hash(),
                    scopes: grant.scopes,
                    created_at: clock.now(),
                    expires_at: clock.now() + Duration::days(30),
                    auth_time: None,
                    sid: None,
                    audience: Vec::new(),
                }),
            )
            .await
            .unwrap();
        let refresh = |token: String| {
            let request = http.post(url("/oauth/token")).form(&[
                ("grant_type", "refresh_token".to_owned()),
                ("refresh_token", token),
                ("client_id", app.client_id.clone()),
            ]);
            send(request)
        };
        let rotated = refresh(spent.expose().to_owned()).await;
        assert_eq!(rotated.0, 200, "{}", rotated.2);
        let successor = rotated.2["refresh_token"].as_str().unwrap().to_owned();
        assert_eq!(short_lived_rows(&db.url).await, (1, 1, 2, 2));

        // Two days on, past the tokens' expiry and the grace: the purge deletes the device
        // code, the session and both access tokens, and keeps the live family whole.
        clock.advance(Duration::days(2));
        let report = gatekey_server::background::purge_expired(&server.state)
            .await
            .unwrap();
        assert!(!report.deleted.is_empty(), "{report:?}");
        assert_eq!(short_lived_rows(&db.url).await, (0, 0, 0, 2));
        let home = send(
            http.get(url("/"))
                .header("cookie", format!("gatekey_session={}", session.expose())),
        )
        .await;
        assert_eq!(home.0, 303, "the session is gone");

        // The spent token, presented again, still revokes its family: the successor dies.
        let reused = refresh(spent.expose().to_owned()).await;
        assert_eq!(reused.0, 400, "{}", reused.2);
        assert_eq!(reused.2["error"], "invalid_grant");
        let after = refresh(successor).await;
        assert_eq!(after.0, 400, "{}", after.2);
        assert_eq!(after.2["error"], "invalid_grant");

        let store = server.state.store.clone();
        let _ = server.shutdown().await;
        store.close().await;
        db.drop_database().await;
    })
    .await;
}

#[tokio::test]
async fn every_server_purges_in_the_background() {
    each_backend(|backend| async move {
        let db = TestDatabase::create(backend).await;
        // A session that expired an hour ago, written before the server starts.
        let clock = ManualClock::new(OffsetDateTime::now_utc() - Duration::hours(13));
        let seeding = SqlStore::connect(&db.url).await.unwrap();
        let (account, owner) = account_with_owner(&seeding, &clock).await;
        sign_in_at(
            &seeding,
            &clock,
            Secret::generate(SecretKind::Session).hash(),
            &owner,
            &account,
        )
        .await;
        seeding.close().await;
        assert_eq!(rows(&db.url, "sessions").await, 1);

        let server =
            gatekey_server::start(test_config(&db.url), Arc::new(gatekey_core::SystemClock))
                .await
                .unwrap();
        // The first purge runs as the server starts.
        let mut left = 1;
        for _ in 0..100 {
            left = rows(&db.url, "sessions").await;
            if left == 0 {
                break;
            }
            tokio::time::sleep(StdDuration::from_millis(50)).await;
        }
        assert_eq!(left, 0, "the expired session was purged");
        let store = server.state.store.clone();
        let _ = server.shutdown().await;
        store.close().await;
        db.drop_database().await;
    })
    .await;
}

/// Signs `owner` in with a session that expired an hour before `clock`'s time.
async fn expired_session(url: &str, owner: &Member, account: &Account) {
    let store = SqlStore::connect(url).await.unwrap();
    let clock = ManualClock::new(OffsetDateTime::now_utc() - Duration::hours(13));
    sign_in_at(
        &store,
        &clock,
        Secret::generate(SecretKind::Session).hash(),
        owner,
        account,
    )
    .await;
    store.close().await;
}

/// Waits up to 5 s for `table` to be empty; its row count then.
async fn rows_after_waiting(url: &str, table: &str) -> i64 {
    let mut left = rows(url, table).await;
    for _ in 0..100 {
        if left == 0 {
            break;
        }
        tokio::time::sleep(StdDuration::from_millis(50)).await;
        left = rows(url, table).await;
    }
    left
}

#[tokio::test]
async fn one_replica_at_a_time_purges_and_another_takes_over_when_its_lease_expires() {
    each_backend(|backend| async move {
        let db = TestDatabase::create(backend).await;
        let seeding = SqlStore::connect(&db.url).await.unwrap();
        let clock = ManualClock::new(OffsetDateTime::now_utc());
        let (account, owner) = account_with_owner(&seeding, &clock).await;
        seeding.close().await;
        // One configuration for every replica: they share the key-encryption key.
        let config = test_config(&db.url);
        let start = |clock: Arc<dyn Clock>| gatekey_server::start(config.clone(), clock);

        expired_session(&db.url, &owner, &account).await;
        let first = start(Arc::new(gatekey_core::SystemClock)).await.unwrap();
        assert_eq!(
            rows_after_waiting(&db.url, "sessions").await,
            0,
            "the first replica purges"
        );

        // A second replica starts while the first holds the purge: it does not purge.
        expired_session(&db.url, &owner, &account).await;
        let second = start(Arc::new(gatekey_core::SystemClock)).await.unwrap();
        tokio::time::sleep(StdDuration::from_millis(1_000)).await;
        assert_eq!(
            rows(&db.url, "sessions").await,
            1,
            "only the lease holder purges"
        );

        // The first replica stops; once its lease (two purge intervals) has run out, a
        // replica takes the purge over.
        let _ = first.shutdown().await;
        let interval = config.retention.interval as i64;
        let later =
            ManualClock::new(OffsetDateTime::now_utc() + Duration::seconds(2 * interval + 60));
        let third = start(Arc::new(later)).await.unwrap();
        assert_eq!(
            rows_after_waiting(&db.url, "sessions").await,
            0,
            "the purge is taken over"
        );

        for server in [second, third] {
            let store = server.state.store.clone();
            let _ = server.shutdown().await;
            store.close().await;
        }
        db.drop_database().await;
    })
    .await;
}
