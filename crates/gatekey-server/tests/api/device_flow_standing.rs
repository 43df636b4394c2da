//! A device code the user approved issues tokens only while the authorization still stands,
//! exactly as an authorization code does: the grant not revoked, its user enabled and still a
//! member of the account. A revoked authorization answers `invalid_grant` (RFC 6749 §5.2: the
//! grant "is … revoked"), not `access_denied`, which RFC 8628 §3.5 keeps for the user refusing
//! on the verification page; and the device code stays uncollected.

use std::future::Future;

use gatekey_core::audit::{Actor, AuditAction, AuditEntry};
use gatekey_core::oauth::application::{ClientType, GrantType};
use gatekey_core::oauth::device::{normalize_user_code, DeviceStatus};
use gatekey_core::oauth::store::GrantStore;
use gatekey_core::role::Role;
use gatekey_core::store::UserStore;
use gatekey_core::user::Member;
use gatekey_store::{Backend, SqlStore};
use time::OffsetDateTime;

use crate::harness::{assert_error, each_backend, sign_in, TestApp, PASSWORD};
use crate::oauth_fixture::{Client, ClientSpec};

const DEVICE_GRANT: &str = "urn:ietf:params:oauth:grant-type:device_code";

/// A device authorization the user approved on the device page, not yet collected.
struct Approved {
    app: TestApp,
    client: Client,
    user: Member,
    device_code: String,
    user_code: String,
}

/// Starts a device authorization for a public client and approves it as a member of `acme`.
async fn approved_device(backend: Backend) -> Approved {
    let (app, seeded) = TestApp::start_seeded(backend).await;
    let user = app.person(&seeded.acme, "tv@acme.test", Role::Member).await;
    let spec = ClientSpec {
        client_type: ClientType::Public,
        grant_types: vec![GrantType::DeviceCode, GrantType::RefreshToken],
        scopes: "read",
        introspect: false,
        service_account_id: None,
        access_token_format: gatekey_core::oauth::application::AccessTokenFormat::Opaque,
    };
    let client = app.register_client(seeded.acme.id, spec).await;
    let started = app
        .post_as(&client, "/oauth/device_authorization", &[("scope", "read")])
        .await;
    assert_eq!(started.0, 200, "{}", started.2);
    let device_code = started.2["device_code"].as_str().unwrap().to_owned();
    let user_code = normalize_user_code(started.2["user_code"].as_str().unwrap()).unwrap();
    let browser = sign_in(&app, "tv@acme.test", PASSWORD).await;
    let done = browser
        .allow_device(&app, &browser.csrf, &user_code, "acme")
        .await;
    assert_eq!(done.0, 200, "{}", done.2);
    Approved {
        app,
        client,
        user,
        device_code,
        user_code,
    }
}

fn operator_audit(action: AuditAction, target: &'static str) -> AuditEntry {
    AuditEntry::new(
        OffsetDateTime::now_utc(),
        &Actor::operator(),
        action,
        target,
    )
}

/// Approves a device code, lets `withdraw` take the authorization away, and checks that the
/// next poll issues nothing.
async fn poll_after<F, Fut>(backend: Backend, withdraw: F)
where
    F: FnOnce(SqlStore, Member, i64) -> Fut,
    Fut: Future<Output = ()>,
{
    let approved = approved_device(backend).await;
    let app = &approved.app;
    withdraw(
        app.store().clone(),
        approved.user.clone(),
        approved.client.application.id,
    )
    .await;
    let form = [
        ("grant_type", DEVICE_GRANT),
        ("device_code", approved.device_code.as_str()),
    ];
    let polled = app.post_as(&approved.client, "/oauth/token", &form).await;
    assert_error(&polled, 400, "invalid_grant");
    assert!(polled.2.get("access_token").is_none(), "{}", polled.2);
    let record = app.device_code(&approved.user_code).await;
    assert_eq!(
        record.status,
        DeviceStatus::Approved,
        "no tokens were collected"
    );
    approved.app.stop().await;
}

#[tokio::test]
async fn a_poll_after_the_grant_was_revoked_issues_nothing() {
    each_backend(|backend| {
        poll_after(backend, |store, user, application_id| async move {
            let revoked = store
                .revoke_grants(
                    user.user.id,
                    user.membership.account_id,
                    application_id,
                    OffsetDateTime::now_utc(),
                    operator_audit(AuditAction::GrantRevoked, "application"),
                )
                .await
                .unwrap();
            assert_eq!(revoked, 1);
        })
    })
    .await;
}

#[tokio::test]
async fn a_poll_after_the_user_was_disabled_issues_nothing() {
    each_backend(|backend| {
        poll_after(backend, |store, user, _| async move {
            store
                .disable_user(
                    user.user.id,
                    OffsetDateTime::now_utc(),
                    operator_audit(AuditAction::UserDisabled, "user"),
                )
                .await
                .unwrap();
        })
    })
    .await;
}

#[tokio::test]
async fn a_poll_while_the_authorization_stands_issues_tokens_once() {
    each_backend(|backend| async move {
        let approved = approved_device(backend).await;
        let app = &approved.app;
        let form = [
            ("grant_type", DEVICE_GRANT),
            ("device_code", approved.device_code.as_str()),
        ];
        let tokens = app.post_as(&approved.client, "/oauth/token", &form).await;
        assert_eq!(tokens.0, 200, "{}", tokens.2);
        assert_error(
            &app.post_as(&approved.client, "/oauth/token", &form).await,
            400,
            "invalid_grant",
        );
        approved.app.stop().await;
    })
    .await;
}
