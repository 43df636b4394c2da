//! Storage that must not grow without bound, on every backend: the retention purge (time moved
//! by a `ManualClock`: what is dead goes after its grace, a refresh family goes only whole and
//! only once dead, purges run in batches and side by side without harm), and the cap on an
//! application's pending device codes.

use gatekey_core::audit::{Actor, AuditAction, AuditEntry};
use gatekey_core::clock::{Clock, ManualClock};
use gatekey_core::oauth::application::{ApplicationSettings, GrantType};
use gatekey_core::oauth::device::{new_user_code, DeviceCodeSlot, NewDeviceCode};
use gatekey_core::oauth::store::{ApplicationStore, DeviceStore, GrantStore, TokenStore};
use gatekey_core::oauth::token::NewCode;
use gatekey_core::page::PageRequest;
use gatekey_core::retention::{purge, Expired, PurgeLimits, RetentionPolicy};
use gatekey_core::scope::ScopeSet;
use gatekey_core::secret::{Secret, SecretKind};
use gatekey_core::session::Session;
use gatekey_core::store::{AuditStore, SessionStore};
use gatekey_store::testing::{application_settings, public_application};
use gatekey_store::SqlStore;
use time::{Duration, OffsetDateTime};

mod fixtures;
use fixtures::{access_token, acme_with_ada, read_on_own_connection, refresh_token};

const GRACE: Duration = Duration::days(1);

fn policy(audit_retention: Option<Duration>) -> RetentionPolicy {
    RetentionPolicy {
        grace: GRACE,
        audit_retention,
        session_idle: None,
    }
}

fn audit(clock: &ManualClock, action: AuditAction, target: &'static str) -> AuditEntry {
    AuditEntry::new(clock.now(), &Actor::operator(), action, target)
}

struct Fixture {
    store: SqlStore,
    clock: ManualClock,
    account_id: i64,
    user_id: i64,
    app_id: i64,
    grant_id: i64,
}

async fn fixture(store: SqlStore) -> Fixture {
    let clock = ManualClock::new(OffsetDateTime::now_utc());
    let now = clock.now();
    let (account, ada) = acme_with_ada(&store, now).await;
    let settings = ApplicationSettings {
        redirect_uris: vec!["http://127.0.0.1/cb".into()],
        ..application_settings(
            "Device",
            &[
                GrantType::AuthorizationCode,
                GrantType::RefreshToken,
                GrantType::DeviceCode,
            ],
        )
    };
    let app = public_application("app_device", account.id, settings, now);
    let app = store
        .create_application(
            app,
            audit(&clock, AuditAction::ApplicationCreated, "application"),
        )
        .await
        .unwrap();
    let grant = store
        .create_grant(
            ada.user.id,
            account.id,
            app.id,
            ScopeSet::ALL,
            now,
            audit(&clock, AuditAction::ConsentGranted, "grant"),
        )
        .await
        .unwrap();
    Fixture {
        store,
        clock,
        account_id: account.id,
        user_id: ada.user.id,
        app_id: app.id,
        grant_id: grant.id,
    }
}

async fn each_backend<F, Fut>(test: F)
where
    F: Fn(Fixture, String) -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    fixtures::each_backend_with_url(|store, url| async { test(fixture(store).await, url).await })
        .await;
}

/// Rows in `table`, read on a connection of its own.
async fn rows(url: &str, table: &str) -> i64 {
    read_on_own_connection(url, &format!("SELECT COUNT(*) FROM {table}")).await
}

/// Rows held in the tables a purge trims: authorization codes, device codes, access tokens,
/// refresh tokens and sessions, in that order.
async fn purgeable_rows(url: &str) -> (i64, i64, i64, i64, i64) {
    (
        rows(url, "authorization_codes").await,
        rows(url, "device_codes").await,
        rows(url, "access_tokens").await,
        rows(url, "refresh_tokens").await,
        rows(url, "sessions").await,
    )
}

/// The user code of the first device code stored.
async fn oldest_user_code(url: &str) -> String {
    read_on_own_connection(
        url,
        "SELECT user_code FROM device_codes ORDER BY id LIMIT 1",
    )
    .await
}

async fn session(f: &Fixture) -> Secret {
    let now = f.clock.now();
    let secret = Secret::generate(SecretKind::Session);
    let session = Session {
        id: 0,
        hash: secret.hash(),
        user_id: f.user_id,
        account_id: f.account_id,
        csrf_token: "csrf".into(),
        created_at: now,
        expires_at: now + Duration::hours(12),
        last_seen_at: now,
    };
    f.store
        .create_session(
            session,
            audit(&f.clock, AuditAction::LoginSucceeded, "session"),
        )
        .await
        .unwrap();
    secret
}

#[tokio::test]
async fn dead_rows_go_after_their_grace_and_live_families_stay_whole() {
    each_backend(|f, url| async move {
        let store = &f.store;
        let t0 = f.clock.now();
        let code = Secret::generate(SecretKind::AuthorizationCode);
        store
            .create_code(NewCode {
                hash: code.hash(),
                grant_id: f.grant_id,
                redirect_uri: "http://127.0.0.1/cb".into(),
                scopes: ScopeSet::ALL,
                code_challenge: None,
                nonce: None,
                auth_time: None,
                sid: None,
                created_at: t0,
                expires_at: t0 + Duration::seconds(60),
            })
            .await
            .unwrap();
        store
            .create_device_code(NewDeviceCode {
                hash: Secret::generate(SecretKind::DeviceCode).hash(),
                user_code: "BCDFGHJK".into(),
                application_id: f.app_id,
                scopes: ScopeSet::ALL,
                created_at: t0,
                expires_at: t0 + Duration::minutes(10),
            })
            .await
            .unwrap();
        // A live family whose first member was spent, and a family revoked at t0.
        let (_, at) = access_token(t0, None);
        let (spent, rt) = refresh_token(t0);
        let live = store.issue_tokens(f.grant_id, at, Some(rt)).await.unwrap();
        let spent_record = store.refresh_token(&spent.hash()).await.unwrap().unwrap();
        let (_, at) = access_token(t0, None);
        let (successor, rt) = refresh_token(t0);
        store
            .rotate_refresh_token(
                spent_record.id,
                live.family_id.unwrap(),
                f.grant_id,
                t0,
                at,
                rt,
            )
            .await
            .unwrap()
            .expect("rotated");
        let (revoked_access, at) = access_token(t0, None);
        let (revoked, rt) = refresh_token(t0);
        let dead = store.issue_tokens(f.grant_id, at, Some(rt)).await.unwrap();
        store
            .revoke_family(dead.family_id.unwrap(), t0, None)
            .await
            .unwrap();
        let cookie = session(&f).await;
        let audits_before = store
            .list_audits(f.account_id, PageRequest::default())
            .await
            .unwrap()
            .total;
        assert_eq!(purgeable_rows(&url).await, (1, 1, 3, 3, 1));

        // Two hours on: only the device code (dead, no grace) is gone.
        f.clock.advance(Duration::hours(2));
        let report = purge(store, &policy(None), PurgeLimits::default(), f.clock.now())
            .await
            .unwrap();
        assert_eq!(report.of(Expired::DeviceCodes), 1, "{report:?}");
        assert_eq!(
            purgeable_rows(&url).await,
            (1, 0, 3, 3, 1),
            "the grace keeps what died within it"
        );

        // A day and two hours on: the code, every access token (expired or revoked), the
        // revoked family and the session are gone; the live family stays whole, so its spent
        // member is still there to reveal a reuse.
        f.clock.advance(Duration::days(1));
        purge(store, &policy(None), PurgeLimits::default(), f.clock.now())
            .await
            .unwrap();
        assert_eq!(purgeable_rows(&url).await, (0, 0, 0, 2, 0));
        assert!(store
            .session_by_hash(&cookie.hash())
            .await
            .unwrap()
            .is_none());
        assert!(store
            .access_token(&revoked_access.hash())
            .await
            .unwrap()
            .is_none());
        assert!(store
            .refresh_token(&revoked.hash())
            .await
            .unwrap()
            .is_none());
        let kept = store.refresh_token(&spent.hash()).await.unwrap().unwrap();
        assert!(kept.used_at.is_some(), "reuse is still detected");
        assert!(store
            .refresh_token(&successor.hash())
            .await
            .unwrap()
            .is_some());
        assert_eq!(
            store
                .list_audits(f.account_id, PageRequest::default())
                .await
                .unwrap()
                .total,
            audits_before,
            "audit events are kept unless a retention is set"
        );

        // Once the successor has expired and the grace has passed, the family goes whole.
        f.clock.advance(Duration::days(30));
        purge(store, &policy(None), PurgeLimits::default(), f.clock.now())
            .await
            .unwrap();
        assert_eq!(rows(&url, "refresh_tokens").await, 0);
        assert_eq!(rows(&url, "grants").await, 1, "grants are kept");

        // With a retention set, old audit events go too.
        purge(
            store,
            &policy(Some(Duration::days(30))),
            PurgeLimits::default(),
            f.clock.now(),
        )
        .await
        .unwrap();
        assert_eq!(rows(&url, "audit_events").await, 0);
    })
    .await;
}

#[tokio::test]
async fn purges_run_in_batches_and_side_by_side() {
    each_backend(|f, url| async move {
        for _ in 0..7 {
            session(&f).await;
        }
        f.clock.advance(Duration::hours(13));
        let one_batch = PurgeLimits {
            batch: 2,
            max_batches: 1,
        };
        let report = purge(&f.store, &policy(None), one_batch, f.clock.now())
            .await
            .unwrap();
        assert_eq!(report.of(Expired::Sessions), 2, "one batch of two");
        assert_eq!(rows(&url, "sessions").await, 5);

        // Two servers purging the same database at once: both succeed, everything dead goes.
        let other = SqlStore::connect(&url).await.unwrap();
        let small = PurgeLimits {
            batch: 2,
            max_batches: 10,
        };
        let now = f.clock.now();
        let keep_audits = policy(None);
        let (a, b) = tokio::join!(
            purge(&f.store, &keep_audits, small, now),
            purge(&other, &keep_audits, small, now)
        );
        let (a, b) = (a.unwrap(), b.unwrap());
        assert_eq!(a.of(Expired::Sessions) + b.of(Expired::Sessions), 5);
        assert_eq!(rows(&url, "sessions").await, 0);
        other.close().await;
    })
    .await;
}

#[tokio::test]
async fn sessions_unused_for_the_idle_timeout_go_before_their_lifetime_is_over() {
    each_backend(|f, url| async move {
        session(&f).await;
        f.clock.advance(Duration::minutes(20));
        session(&f).await;
        f.clock.advance(Duration::minutes(20));
        let idle = RetentionPolicy {
            session_idle: Some(Duration::minutes(30)),
            ..policy(None)
        };
        let report = purge(&f.store, &idle, PurgeLimits::default(), f.clock.now())
            .await
            .unwrap();
        assert_eq!(
            report.of(Expired::IdleSessions),
            1,
            "only the one idle 40 minutes"
        );
        assert_eq!(report.of(Expired::Sessions), 0, "none is past its lifetime");
        assert_eq!(rows(&url, "sessions").await, 1);
        // Without an idle timeout, the same purge keeps it.
        f.clock.advance(Duration::minutes(20));
        let report = purge(
            &f.store,
            &policy(None),
            PurgeLimits::default(),
            f.clock.now(),
        )
        .await
        .unwrap();
        assert_eq!(report.of(Expired::IdleSessions), 0);
        assert_eq!(rows(&url, "sessions").await, 1);
    })
    .await;
}

#[tokio::test]
async fn an_application_holds_at_most_the_pending_device_codes_allowed() {
    each_backend(|f, url| async move {
        let t0 = f.clock.now();
        let new = |at: OffsetDateTime| NewDeviceCode {
            hash: Secret::generate(SecretKind::DeviceCode).hash(),
            user_code: new_user_code(),
            application_id: f.app_id,
            scopes: ScopeSet::ALL,
            created_at: at,
            expires_at: at + Duration::minutes(10),
        };
        let claim_slot = |at| f.store.create_device_code_within(new(at), 2);
        let first = claim_slot(t0).await.unwrap();
        assert!(matches!(first, DeviceCodeSlot::Created(_)), "{first:?}");
        let later = t0 + Duration::minutes(1);
        let second = claim_slot(later).await.unwrap();
        assert!(matches!(second, DeviceCodeSlot::Created(_)), "{second:?}");
        let full = claim_slot(later).await.unwrap();
        assert_eq!(
            full,
            DeviceCodeSlot::Full {
                free_at: gatekey_core::clock::from_millis(gatekey_core::clock::to_millis(
                    t0 + Duration::minutes(10)
                ))
            },
            "the oldest pending code frees the next slot"
        );
        assert_eq!(rows(&url, "device_codes").await, 2);

        // A decided code no longer counts, and neither does an expired one.
        let pending = f
            .store
            .device_code_by_user_code(&oldest_user_code(&url).await)
            .await
            .unwrap()
            .unwrap();
        assert!(f.store.decide_device_code(pending.id, None).await.unwrap());
        let freed = claim_slot(later).await.unwrap();
        assert!(matches!(freed, DeviceCodeSlot::Created(_)), "{freed:?}");
        let after_expiry = t0 + Duration::minutes(12);
        let again = claim_slot(after_expiry).await.unwrap();
        assert!(matches!(again, DeviceCodeSlot::Created(_)), "{again:?}");
    })
    .await;
}
