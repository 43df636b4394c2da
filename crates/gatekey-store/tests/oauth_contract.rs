//! The OAuth storage contract, on every backend: applications, grants, codes used once,
//! refresh tokens rotated once, and revocation of everything under a grant.

use gatekey_core::oauth::application::{AccessTokenFormat, SigningAlgorithm};
use std::sync::Arc;

use gatekey_core::audit::AuditAction;
use gatekey_core::oauth::application::{Application, ApplicationSettings, ClientType, GrantType};
use gatekey_core::oauth::grant::Grant;
use gatekey_core::oauth::store::{ApplicationStore, GrantStore, NewApplication, TokenStore};
use gatekey_core::oauth::token::{CodeRedemption, IssuedTokens, NewCode, TokenRecord};
use gatekey_core::page::PageRequest;
use gatekey_core::role::Role;
use gatekey_core::scope::ScopeSet;
use gatekey_core::secret::{Secret, SecretKind};
use gatekey_core::store::{Invalidation, InvalidationStore, StoreError};
use gatekey_store::testing::public_application;
use gatekey_store::SqlStore;
use time::{Duration, OffsetDateTime};

mod fixtures;
use fixtures::{access_token, acme_application, audit, refresh_token, AcmeApplication};

fn settings() -> ApplicationSettings {
    ApplicationSettings {
        name: "Reporting".into(),
        redirect_uris: vec![
            "https://app.example.com/cb".into(),
            "http://127.0.0.1/cb".into(),
        ],
        grant_types: vec![GrantType::AuthorizationCode, GrantType::RefreshToken],
        scopes: ScopeSet::ALL,
        implicit_allowed: false,
        introspect: false,
        verify_keys: false,
        service_account_id: None,
        id_token_signed_response_alg: SigningAlgorithm::Rs256,
        access_token_format: AccessTokenFormat::Opaque,
        resources: vec![],
        post_logout_redirect_uris: vec![],
    }
}

/// Account `acme` with Ada, and the confidential application `app_test` of it.
type Fixture = AcmeApplication;

impl Fixture {
    /// Ada's consent to `app_id` for `scopes`, given at `now`.
    async fn grant(&self, app_id: i64, scopes: ScopeSet, now: OffsetDateTime) -> Grant {
        self.store
            .create_grant(
                self.user_id,
                self.account_id,
                app_id,
                scopes,
                now,
                audit(AuditAction::ConsentGranted, "grant"),
            )
            .await
            .expect("grant")
    }

    /// Ada's consent to the test application for every scope, and an access and a refresh
    /// token issued under it: the grant, the tokens' secrets, and what the store answered.
    async fn grant_with_tokens(&self) -> (Grant, Secret, Secret, IssuedTokens) {
        let grant = self.grant(self.app_id, ScopeSet::ALL, self.now).await;
        let (access, access_row) = access_token(self.now, None);
        let (refresh, refresh_row) = refresh_token(self.now);
        let issued = self
            .store
            .issue_tokens(grant.id, access_row, Some(refresh_row))
            .await
            .expect("issued");
        (grant, access, refresh, issued)
    }

    /// The stored access token whose secret is `secret`, in whatever state.
    async fn access_record(&self, secret: &Secret) -> TokenRecord {
        let found = self.store.access_token(&secret.hash()).await.unwrap();
        found.expect("the access token is stored")
    }

    /// The stored refresh token whose secret is `secret`, in whatever state.
    async fn refresh_record(&self, secret: &Secret) -> TokenRecord {
        let found = self.store.refresh_token(&secret.hash()).await.unwrap();
        found.expect("the refresh token is stored")
    }

    /// Ada's live grants in `acme`, with their applications.
    async fn grants_of_ada(&self) -> Vec<(Grant, Application)> {
        let grants = self.store.grants_of_user(self.user_id, self.account_id);
        grants.await.unwrap()
    }
}

async fn fixture(store: SqlStore) -> Fixture {
    acme_application(store, |account_id, now| NewApplication {
        client_id: "app_test".into(),
        account_id,
        client_type: ClientType::Confidential,
        secret_hash: Some(Secret::generate(SecretKind::ClientSecret).hash()),
        settings: settings(),
        created_at: now,
    })
    .await
}

async fn each_backend<F, Fut>(test: F)
where
    F: Fn(Fixture) -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    fixtures::each_backend(|store| async { test(fixture(store).await).await }).await;
}

/// Changes application `id`'s settings as an operator.
async fn update_settings(
    store: &SqlStore,
    id: i64,
    settings: &ApplicationSettings,
    now: OffsetDateTime,
) -> Application {
    store
        .update_application(
            id,
            settings,
            now,
            audit(AuditAction::ApplicationUpdated, "application"),
        )
        .await
        .unwrap()
}

#[tokio::test]
async fn applications_round_trip_rotate_and_delete() {
    each_backend(|f| async move {
        let (store, now) = (&f.store, f.now);
        let app = store
            .application_by_client_id("app_test")
            .await
            .unwrap()
            .expect("found");
        assert_eq!(app.redirect_uris, settings().redirect_uris);
        assert_eq!(app.grant_types, settings().grant_types);
        assert_eq!(
            store
                .list_applications(f.account_id, PageRequest::default())
                .await
                .unwrap()
                .total,
            1
        );
        assert!(
            store
                .application_in_account(f.account_id + 1, app.id)
                .await
                .unwrap()
                .is_none(),
            "confined to its account"
        );

        let changed = ApplicationSettings {
            name: "Reports".into(),
            introspect: true,
            ..settings()
        };
        let updated = update_settings(store, app.id, &changed, now).await;
        assert_eq!(
            (updated.name.as_str(), updated.introspect),
            ("Reports", true)
        );
        assert!(
            !updated.introspect_all_accounts,
            "off unless the operator says"
        );
        let widened = store
            .set_introspect_all_accounts(
                app.id,
                true,
                now,
                audit(AuditAction::ApplicationUpdated, "application"),
            )
            .await
            .unwrap();
        assert!(widened.introspect_all_accounts);
        let again = update_settings(store, app.id, &changed, now).await;
        assert!(
            again.introspect_all_accounts,
            "changing the settings an account admin may change leaves it alone"
        );

        let old_secret = app.secret_hash.unwrap();
        let new_secret = Secret::generate(SecretKind::ClientSecret).hash();
        let rotated = store
            .rotate_application_secret(
                app.id,
                new_secret,
                now + Duration::hours(1),
                now,
                audit(AuditAction::ApplicationSecretRotated, "application"),
            )
            .await
            .unwrap();
        assert!(rotated.secret_matches(&new_secret, now));
        assert!(
            rotated.secret_matches(&old_secret, now),
            "the old secret works during the grace period"
        );
        assert!(
            !rotated.secret_matches(&old_secret, now + Duration::hours(2)),
            "and not after"
        );

        let grant = f.grant(app.id, ScopeSet::ALL, now).await;
        let (at, at_row) = access_token(now, None);
        store.issue_tokens(grant.id, at_row, None).await.unwrap();
        store
            .delete_application(
                app.id,
                now,
                audit(AuditAction::ApplicationDeleted, "application"),
            )
            .await
            .unwrap();
        assert!(store
            .application_by_client_id("app_test")
            .await
            .unwrap()
            .is_none());
        let token = f.access_record(&at).await;
        assert!(
            !token.is_active_at(now),
            "deleting an application revokes its tokens"
        );
        let (invalidations, _) = store.invalidations_since(0).await.unwrap();
        assert!(
            invalidations.contains(&Invalidation::Application(app.id))
                && invalidations.contains(&Invalidation::Grant(grant.id))
        );
        assert!(matches!(
            store
                .delete_application(
                    app.id,
                    now,
                    audit(AuditAction::ApplicationDeleted, "application")
                )
                .await,
            Err(StoreError::NotFound)
        ));
    })
    .await;
}

#[tokio::test]
async fn a_code_is_redeemed_once_even_under_concurrency() {
    each_backend(|f| async move {
        let (store, now) = (&f.store, f.now);
        let grant = f.grant(f.app_id, ScopeSet::ALL, now).await;
        let code = Secret::generate(SecretKind::AuthorizationCode);
        let new = NewCode {
            hash: code.hash(),
            grant_id: grant.id,
            redirect_uri: "https://app.example.com/cb".into(),
            scopes: ScopeSet::parse("read").unwrap(),
            code_challenge: Some("E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM".into()),
            nonce: None,
            auth_time: None,
            sid: None,
            created_at: now,
            expires_at: now + Duration::seconds(60),
        };
        store.create_code(new).await.unwrap();
        let hash = code.hash();
        let attempts: Vec<_> = (0..20)
            .map(|_| {
                let store = store.clone();
                tokio::spawn(async move { store.redeem_code(&hash, now).await.unwrap() })
            })
            .collect();
        let mut redeemed = 0;
        for attempt in attempts {
            match attempt.await.unwrap() {
                CodeRedemption::Redeemed(record) => {
                    redeemed += 1;
                    assert_eq!(record.grant.id, grant.id);
                    assert_eq!(
                        record.code_challenge.as_deref(),
                        Some("E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM")
                    );
                }
                CodeRedemption::Replayed(_) => {}
                CodeRedemption::Unknown => panic!("the code exists"),
            }
        }
        assert_eq!(redeemed, 1);
        let unknown = Secret::generate(SecretKind::AuthorizationCode).hash();
        assert!(matches!(
            store.redeem_code(&unknown, now).await.unwrap(),
            CodeRedemption::Unknown
        ));
    })
    .await;
}

#[tokio::test]
async fn refresh_tokens_rotate_once_and_reuse_revokes_the_family() {
    each_backend(|f| async move {
        let (store, now) = (&f.store, f.now);
        let (grant, at, rt, issued) = f.grant_with_tokens().await;
        let family = issued.family_id.expect("a family");
        assert_eq!(
            Some(family),
            issued.refresh_token_id,
            "a family is named after its first member"
        );

        let first = f.refresh_record(&rt).await;
        assert_eq!(
            (first.family_id, first.grant.id, first.role),
            (Some(family), grant.id, Some(Role::Member))
        );
        let access_record = f.access_record(&at).await;
        assert!(access_record.is_active_at(now));
        assert_eq!(access_record.user.email, "ada@acme.test");

        let store = Arc::new(store.clone());
        let attempts: Vec<_> = (0..20)
            .map(|_| {
                let store = store.clone();
                tokio::spawn(async move {
                    let (_, a) = access_token(now, None);
                    let (_, r) = refresh_token(now);
                    store
                        .rotate_refresh_token(first.id, family, grant.id, now, a, r)
                        .await
                        .unwrap()
                })
            })
            .collect();
        let mut rotated = 0;
        for attempt in attempts {
            rotated += usize::from(attempt.await.unwrap().is_some());
        }
        assert_eq!(rotated, 1, "exactly one rotation wins");
        assert!(f.refresh_record(&rt).await.used_at.is_some());

        store
            .revoke_family(
                family,
                now,
                Some(audit(AuditAction::RefreshReuseDetected, "refresh_token")),
            )
            .await
            .unwrap();
        assert!(
            !f.access_record(&at).await.is_active_at(now),
            "the family's access tokens go too"
        );
    })
    .await;
}

#[tokio::test]
async fn revoking_a_grant_revokes_only_what_hangs_off_it() {
    each_backend(|f| async move {
        let (store, now) = (&f.store, f.now);
        let other_app = store
            .create_application(
                public_application("app_other", f.account_id, settings(), now),
                audit(AuditAction::ApplicationCreated, "application"),
            )
            .await
            .unwrap();
        let (grant, at, rt, _) = f.grant_with_tokens().await;
        assert_eq!(
            store
                .active_grant(f.user_id, f.account_id, f.app_id)
                .await
                .unwrap()
                .map(|g| g.id),
            Some(grant.id)
        );
        assert_eq!(f.grants_of_ada().await.len(), 1);

        let other_grant = f.grant(other_app.id, ScopeSet::ALL, now).await;
        let (other_at, other_row) = access_token(now, None);
        store
            .issue_tokens(other_grant.id, other_row, None)
            .await
            .unwrap();

        let revoked = store
            .revoke_grants(
                f.user_id,
                f.account_id,
                f.app_id,
                now,
                audit(AuditAction::GrantRevoked, "grant"),
            )
            .await
            .unwrap();
        assert_eq!(revoked, 1);
        assert!(!f.access_record(&at).await.is_active_at(now));
        assert!(!f.refresh_record(&rt).await.is_active_at(now));
        assert!(
            f.access_record(&other_at).await.is_active_at(now),
            "another application is untouched"
        );
        assert!(store
            .active_grant(f.user_id, f.account_id, f.app_id)
            .await
            .unwrap()
            .is_none());
        assert_eq!(f.grants_of_ada().await.len(), 1, "the other grant stays");
    })
    .await;
}

#[tokio::test]
async fn device_codes_are_decided_once_and_redeemed_once() {
    use gatekey_core::oauth::device::{new_user_code, DeviceStatus, NewDeviceCode};
    use gatekey_core::oauth::store::DeviceStore;
    each_backend(|f| async move {
        let (store, now) = (&f.store, f.now);
        let device = Secret::generate(SecretKind::DeviceCode);
        let user_code = new_user_code();
        let new = NewDeviceCode {
            hash: device.hash(),
            user_code: user_code.clone(),
            application_id: f.app_id,
            scopes: ScopeSet::parse("read").unwrap(),
            created_at: now,
            expires_at: now + Duration::minutes(10),
        };
        let id = store.create_device_code(new.clone()).await.unwrap();
        let taken = NewDeviceCode {
            hash: Secret::generate(SecretKind::DeviceCode).hash(),
            ..new
        };
        assert!(
            matches!(
                store.create_device_code(taken).await,
                Err(StoreError::Conflict(_))
            ),
            "user codes are unique"
        );

        let found = store
            .device_code_by_user_code(&user_code)
            .await
            .unwrap()
            .expect("by user code");
        assert_eq!(
            (found.id, found.status, found.interval_secs),
            (id, DeviceStatus::Pending, 5)
        );
        let polled = store
            .poll_device_code(&device.hash(), now)
            .await
            .unwrap()
            .expect("by device code");
        assert!(
            polled.last_polled_at.is_none(),
            "the record shows the previous poll"
        );
        let again = store
            .poll_device_code(&device.hash(), now + Duration::seconds(1))
            .await
            .unwrap()
            .unwrap();
        assert!(again.last_polled_at.is_some());
        store.slow_down_device_code(id, 10).await.unwrap();

        let grant = f
            .grant(f.app_id, ScopeSet::parse("read").unwrap(), now)
            .await;
        assert!(store.decide_device_code(id, Some(grant.id)).await.unwrap());
        assert!(
            !store.decide_device_code(id, None).await.unwrap(),
            "decided once"
        );
        let approved = store
            .poll_device_code(&device.hash(), now)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            (approved.status, approved.grant_id, approved.interval_secs),
            (DeviceStatus::Approved, Some(grant.id), 10)
        );
        assert!(store.redeem_device_code(id).await.unwrap());
        assert!(
            !store.redeem_device_code(id).await.unwrap(),
            "redeemed once"
        );
    })
    .await;
}

#[tokio::test]
async fn concurrent_issuances_are_all_committed_and_readable() {
    each_backend(|f| async move {
        let (store, now) = (Arc::new(f.store.clone()), f.now);
        let grant = f.grant(f.app_id, ScopeSet::ALL, now).await;
        let issuances: Vec<_> = (0..200)
            .map(|n| {
                let store = store.clone();
                tokio::spawn(async move {
                    let (at, at_row) = access_token(now, None);
                    let refresh = (n % 2 == 0).then(|| refresh_token(now).1);
                    let issued = store.issue_tokens(grant.id, at_row, refresh).await.unwrap();
                    (at, issued)
                })
            })
            .collect();
        let mut ids = std::collections::HashSet::new();
        for issuance in issuances {
            let (secret, issued) = issuance.await.unwrap();
            assert!(ids.insert(issued.access_token_id), "distinct ids");
            // Committed before answered.
            let record = f.access_record(&secret).await;
            assert_eq!(
                (record.id, record.family_id),
                (issued.access_token_id, issued.family_id)
            );
        }
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_code_flows_are_committed_and_each_code_is_spent_once() {
    each_backend(|f| async move {
        let now = f.now;
        let grant_id = f.grant(f.app_id, ScopeSet::ALL, now).await.id;
        let flows: Vec<_> = (0..60)
            .map(|n| {
                let store = f.store.clone();
                tokio::spawn(async move {
                    let code = Secret::generate(SecretKind::AuthorizationCode);
                    let new = NewCode {
                        hash: code.hash(),
                        grant_id,
                        redirect_uri: "https://app.example.com/cb".into(),
                        scopes: ScopeSet::parse("read").unwrap(),
                        code_challenge: None,
                        nonce: None,
                        auth_time: None,
                        sid: None,
                        created_at: now,
                        expires_at: now + Duration::seconds(60),
                    };
                    let code_id = store.create_code(new).await.unwrap();
                    // Two presentations of one code race, likely in one group commit.
                    let hash = code.hash();
                    let (first, second) =
                        tokio::join!(store.redeem_code(&hash, now), store.redeem_code(&hash, now));
                    let outcomes = [first.unwrap(), second.unwrap()];
                    let redeemed = outcomes
                        .iter()
                        .filter(|o| matches!(o, CodeRedemption::Redeemed(r) if r.id == code_id))
                        .count();
                    let replayed = outcomes
                        .iter()
                        .filter(|o| matches!(o, CodeRedemption::Replayed(r) if r.id == code_id))
                        .count();
                    assert_eq!((redeemed, replayed), (1, 1));
                    let (at, at_row) = access_token(now, Some(code_id));
                    let (rt, rt_row) = refresh_token(now);
                    let refresh = (n % 2 == 0).then_some(rt_row);
                    let issued = store.issue_tokens(grant_id, at_row, refresh).await.unwrap();
                    (at, (n % 2 == 0).then_some(rt), issued)
                })
            })
            .collect();
        for flow in flows {
            let (at, rt, issued) = flow.await.unwrap();
            // Answered, so committed and readable by every connection.
            assert_eq!(f.access_record(&at).await.id, issued.access_token_id);
            match rt {
                Some(rt) => assert_eq!(
                    Some(f.refresh_record(&rt).await.id),
                    issued.refresh_token_id
                ),
                None => assert_eq!(issued.refresh_token_id, None),
            }
        }
    })
    .await;
}
