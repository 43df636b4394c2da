//! The sign-in behind an authorization, on every backend: the code keeps the request's
//! `nonce` and the sign-in's `auth_time` and `sid`; refresh tokens keep `auth_time` and `sid`
//! through rotation; an approved device code keeps the approving session's. The token
//! endpoint reads them from these records for the ID token (OpenID Connect Core §2).

use gatekey_core::audit::AuditAction;
use gatekey_core::oauth::application::{ApplicationSettings, ClientType, GrantType};
use gatekey_core::oauth::device::{new_user_code, NewDeviceCode};
use gatekey_core::oauth::grant::{Grant, NewGrant};
use gatekey_core::oauth::sign_in::SignIn;
use gatekey_core::oauth::store::{DeviceStore, GrantStore, NewApplication, TokenStore};
use gatekey_core::oauth::token::{CodeRedemption, NewCode};
use gatekey_core::scope::ScopeSet;
use gatekey_core::secret::{Secret, SecretKind};
use gatekey_store::testing::application_settings;
use gatekey_store::SqlStore;
use time::macros::datetime;
use time::{Duration, OffsetDateTime};

mod fixtures;
use fixtures::{access_token, acme_application, audit, refresh_token, AcmeApplication};

/// When Ada signed in: whole milliseconds, as the store keeps times.
const SIGNED_IN: OffsetDateTime = datetime!(2026-03-01 09:30:15.250 UTC);

fn sign_in() -> SignIn {
    SignIn {
        auth_time: SIGNED_IN,
        sid: "Zm9vYmFyYmF6cXV4cXV1eA".into(),
    }
}

async fn fixture(store: SqlStore) -> AcmeApplication {
    acme_application(store, |account_id, now| NewApplication {
        client_id: "app_oidc".into(),
        account_id,
        client_type: ClientType::Confidential,
        secret_hash: Some(Secret::generate(SecretKind::ClientSecret).hash()),
        settings: ApplicationSettings {
            scopes: ScopeSet::parse("read").unwrap(),
            ..application_settings(
                "Portal",
                &[
                    GrantType::AuthorizationCode,
                    GrantType::RefreshToken,
                    GrantType::DeviceCode,
                ],
            )
        },
        created_at: now,
    })
    .await
}

async fn each_backend<F, Fut>(test: F)
where
    F: Fn(AcmeApplication) -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    fixtures::each_backend(|store| async { test(fixture(store).await).await }).await;
}

async fn grant(f: &AcmeApplication) -> Grant {
    f.store
        .create_grant(
            f.user_id,
            f.account_id,
            f.app_id,
            ScopeSet::parse("read").unwrap(),
            f.now,
            audit(AuditAction::ConsentGranted, "grant"),
        )
        .await
        .unwrap()
}

fn code(
    grant_id: i64,
    now: OffsetDateTime,
    nonce: Option<&str>,
    signed: Option<SignIn>,
) -> (Secret, NewCode) {
    let secret = Secret::generate(SecretKind::AuthorizationCode);
    let new = NewCode {
        hash: secret.hash(),
        grant_id,
        redirect_uri: String::new(),
        scopes: ScopeSet::parse("read").unwrap(),
        code_challenge: None,
        nonce: nonce.map(str::to_owned),
        auth_time: signed.as_ref().map(|s| s.auth_time),
        sid: signed.map(|s| s.sid),
        created_at: now,
        expires_at: now + Duration::seconds(60),
    };
    (secret, new)
}

#[tokio::test]
async fn a_code_keeps_its_nonce_and_sign_in() {
    each_backend(|f| async move {
        let grant = grant(&f).await;
        let (secret, new) = code(grant.id, f.now, Some("n-0S6_WzA2Mj"), Some(sign_in()));
        f.store.create_code(new).await.unwrap();
        let CodeRedemption::Redeemed(record) =
            f.store.redeem_code(&secret.hash(), f.now).await.unwrap()
        else {
            panic!("the first presentation redeems");
        };
        assert_eq!(record.nonce.as_deref(), Some("n-0S6_WzA2Mj"));
        assert_eq!(record.auth_time, Some(SIGNED_IN));
        assert_eq!(record.sid.as_deref(), Some(sign_in().sid.as_str()));
        let CodeRedemption::Replayed(again) =
            f.store.redeem_code(&secret.hash(), f.now).await.unwrap()
        else {
            panic!("the second presentation is a replay");
        };
        assert_eq!(again.nonce.as_deref(), Some("n-0S6_WzA2Mj"));

        let (bare, new) = code(grant.id, f.now, None, None);
        f.store.create_code(new).await.unwrap();
        let CodeRedemption::Redeemed(record) =
            f.store.redeem_code(&bare.hash(), f.now).await.unwrap()
        else {
            panic!("redeemed");
        };
        assert_eq!(
            (record.nonce, record.auth_time, record.sid),
            (None, None, None)
        );
    })
    .await;
}

#[tokio::test]
async fn refresh_tokens_keep_the_sign_in_through_rotation() {
    each_backend(|f| async move {
        let grant = grant(&f).await;
        let (access, access_row) = access_token(f.now, None);
        let (refresh, mut refresh_row) = refresh_token(f.now);
        refresh_row.auth_time = Some(SIGNED_IN);
        refresh_row.sid = Some(sign_in().sid);
        let issued = f
            .store
            .issue_tokens(grant.id, access_row, Some(refresh_row))
            .await
            .unwrap();
        let first = f
            .store
            .refresh_token(&refresh.hash())
            .await
            .unwrap()
            .unwrap();
        assert_eq!(first.auth_time, Some(SIGNED_IN));
        assert_eq!(first.sid, Some(sign_in().sid));
        let access_record = f.store.access_token(&access.hash()).await.unwrap().unwrap();
        assert_eq!((access_record.auth_time, access_record.sid), (None, None));

        // The refresh grant copies the spent token's sign-in to its successor.
        let later = f.now + Duration::hours(1);
        let (_, next_access) = access_token(later, None);
        let (next, mut next_row) = refresh_token(later);
        next_row.auth_time = first.auth_time;
        next_row.sid = first.sid.clone();
        let rotated = f
            .store
            .rotate_refresh_token(
                first.id,
                issued.family_id.unwrap(),
                grant.id,
                later,
                next_access,
                next_row,
            )
            .await
            .unwrap();
        assert!(rotated.is_some());
        let second = f.store.refresh_token(&next.hash()).await.unwrap().unwrap();
        assert_eq!(second.auth_time, Some(SIGNED_IN));
        assert_eq!(second.sid, Some(sign_in().sid));
    })
    .await;
}

#[tokio::test]
async fn an_approved_device_code_keeps_the_approving_sign_in() {
    each_backend(|f| async move {
        let user_code = new_user_code();
        let device = Secret::generate(SecretKind::DeviceCode);
        let id = f
            .store
            .create_device_code(NewDeviceCode {
                hash: device.hash(),
                user_code: user_code.clone(),
                application_id: f.app_id,
                scopes: ScopeSet::parse("read").unwrap(),
                created_at: f.now,
                expires_at: f.now + Duration::minutes(10),
            })
            .await
            .unwrap();
        let pending = f
            .store
            .device_code_by_user_code(&user_code)
            .await
            .unwrap()
            .unwrap();
        assert_eq!((pending.auth_time, pending.sid), (None, None));
        let new_grant = NewGrant {
            user_id: f.user_id,
            account_id: f.account_id,
            application_id: f.app_id,
            scopes: ScopeSet::parse("read").unwrap(),
            created_at: f.now,
        };
        let approved = f
            .store
            .approve_device_code(
                id,
                new_grant,
                &sign_in(),
                audit(AuditAction::ConsentGranted, "grant"),
            )
            .await
            .unwrap();
        assert!(approved.is_some());
        let polled = f
            .store
            .poll_device_code(&device.hash(), f.now)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(polled.auth_time, Some(SIGNED_IN));
        assert_eq!(polled.sid, Some(sign_in().sid));
    })
    .await;
}
