//! Deciding a device authorization, on every backend: the grant, its audit entry and the
//! decision are one write, so an answer that lost the race (the code was decided by another
//! answer, or expired, between the page and the submit) leaves nothing behind.

use gatekey_core::audit::{Actor, AuditAction, AuditEntry};
use gatekey_core::oauth::application::{ApplicationSettings, GrantType};
use gatekey_core::oauth::device::{new_user_code, DeviceCodeRecord, DeviceStatus, NewDeviceCode};
use gatekey_core::oauth::grant::{Grant, NewGrant};
use gatekey_core::oauth::sign_in::SignIn;
use gatekey_core::oauth::store::{DeviceStore, GrantStore};
use gatekey_core::page::PageRequest;
use gatekey_core::scope::ScopeSet;
use gatekey_core::secret::{Secret, SecretKind};
use gatekey_core::store::AuditStore;
use gatekey_store::testing::{application_settings, public_application};
use gatekey_store::SqlStore;
use time::{Duration, OffsetDateTime};

mod fixtures;
use fixtures::{acme_application, AcmeApplication};

fn sign_in() -> SignIn {
    SignIn {
        auth_time: OffsetDateTime::UNIX_EPOCH,
        sid: "sid".into(),
    }
}

fn audit(now: OffsetDateTime, action: AuditAction, target: &'static str) -> AuditEntry {
    AuditEntry::new(now, &Actor::operator(), action, target)
}

/// An account with one member and one device application.
type Fixture = AcmeApplication;

impl Fixture {
    async fn new(store: SqlStore) -> Self {
        acme_application(store, |account_id, now| {
            let settings = ApplicationSettings {
                scopes: ScopeSet::parse("read").unwrap(),
                ..application_settings("TV", &[GrantType::DeviceCode])
            };
            public_application("app_tv", account_id, settings, now)
        })
        .await
    }

    /// A pending device code expiring at `now + lifetime`.
    async fn device_code(&self, lifetime: Duration) -> (i64, String) {
        let user_code = new_user_code();
        let new = NewDeviceCode {
            hash: Secret::generate(SecretKind::DeviceCode).hash(),
            user_code: user_code.clone(),
            application_id: self.app_id,
            scopes: ScopeSet::parse("read").unwrap(),
            created_at: self.now,
            expires_at: self.now + lifetime,
        };
        (self.store.create_device_code(new).await.unwrap(), user_code)
    }

    fn grant_at(&self, at: OffsetDateTime) -> NewGrant {
        NewGrant {
            user_id: self.user_id,
            account_id: self.account_id,
            application_id: self.app_id,
            scopes: ScopeSet::parse("read").unwrap(),
            created_at: at,
        }
    }

    fn consent(&self, action: AuditAction) -> AuditEntry {
        audit(self.now, action, "grant")
    }

    /// Approves device code `id` with a grant made at `at`, as the member consenting.
    async fn approve_at(&self, id: i64, at: OffsetDateTime) -> Option<Grant> {
        self.store
            .approve_device_code(
                id,
                self.grant_at(at),
                &sign_in(),
                self.consent(AuditAction::ConsentGranted),
            )
            .await
            .unwrap()
    }

    /// The device code with `user_code`, as stored now.
    async fn record(&self, user_code: &str) -> DeviceCodeRecord {
        self.store
            .device_code_by_user_code(user_code)
            .await
            .unwrap()
            .unwrap()
    }

    /// Standing grants of the member to the application, and `consent.granted` entries.
    async fn left_behind(&self) -> (usize, usize) {
        let grants = self
            .store
            .grants_of_user(self.user_id, self.account_id)
            .await
            .unwrap()
            .len();
        let granted = self
            .store
            .list_audits(self.account_id, PageRequest::default())
            .await
            .unwrap()
            .items
            .iter()
            .filter(|r| r.action == AuditAction::ConsentGranted.as_str())
            .count();
        (grants, granted)
    }
}

async fn each_backend<F, Fut>(test: F)
where
    F: Fn(Fixture) -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    fixtures::each_backend(|store| async { test(Fixture::new(store).await).await }).await;
}

#[tokio::test]
async fn an_approval_that_lost_the_race_leaves_no_grant_and_no_audit_entry() {
    each_backend(|f| async move {
        let (id, user_code) = f.device_code(Duration::minutes(10)).await;
        let granted = f
            .approve_at(id, f.now)
            .await
            .expect("the first answer decides");
        assert_eq!(f.left_behind().await, (1, 1));
        let record = f.record(&user_code).await;
        assert_eq!(
            (record.status, record.grant_id),
            (DeviceStatus::Approved, Some(granted.id))
        );
        assert_eq!(
            record.grant.map(|g| (g.id, g.user_id, g.revoked_at)),
            Some((granted.id, f.user_id, None)),
            "read with its grant"
        );

        let late = f.approve_at(id, f.now).await;
        assert!(late.is_none(), "decided already");
        assert!(!f
            .store
            .deny_device_code(id, f.now, f.consent(AuditAction::ConsentDenied))
            .await
            .unwrap());
        assert_eq!(
            f.left_behind().await,
            (1, 1),
            "the late answers wrote nothing"
        );
    })
    .await;
}

#[tokio::test]
async fn an_approval_after_expiry_leaves_no_grant_and_no_audit_entry() {
    each_backend(|f| async move {
        let (id, user_code) = f.device_code(Duration::seconds(30)).await;
        let expired = f.now + Duration::seconds(30);
        let late = f.approve_at(id, expired).await;
        assert!(late.is_none());
        assert!(!f
            .store
            .deny_device_code(id, expired, f.consent(AuditAction::ConsentDenied))
            .await
            .unwrap());
        assert_eq!(f.left_behind().await, (0, 0));
        let record = f.record(&user_code).await;
        assert_eq!((record.status, record.grant), (DeviceStatus::Pending, None));
    })
    .await;
}

#[tokio::test]
async fn concurrent_approvals_make_exactly_one_grant() {
    each_backend(|f| async move {
        let (id, _) = f.device_code(Duration::minutes(10)).await;
        let answers: Vec<_> = (0..8)
            .map(|_| {
                let store = f.store.clone();
                let (grant, audit) = (f.grant_at(f.now), f.consent(AuditAction::ConsentGranted));
                tokio::spawn(async move {
                    store
                        .approve_device_code(id, grant, &sign_in(), audit)
                        .await
                })
            })
            .collect();
        let mut won = 0;
        for answer in answers {
            if answer.await.unwrap().unwrap().is_some() {
                won += 1;
            }
        }
        assert_eq!(won, 1);
        assert_eq!(f.left_behind().await, (1, 1));
    })
    .await;
}
