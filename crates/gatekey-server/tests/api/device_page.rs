//! The `/device` page of RFC 8628: a signed-in user types the code a device shows and decides.

use gatekey_core::oauth::application::{ApplicationSettings, ClientType, GrantType};
use gatekey_core::oauth::device::{display_user_code, DeviceStatus};
use gatekey_core::oauth::store::ApplicationStore;
use gatekey_core::scope::ScopeSet;
use gatekey_store::testing::application_settings;
use reqwest::header::LOCATION;
use reqwest::Method;

use crate::harness::{each_backend, send_text, sign_in, TestApp, PASSWORD};

/// Registers a device application and starts a device authorization; returns its user code.
async fn start_device_flow(app: &TestApp, account_id: i64) -> String {
    let settings = ApplicationSettings {
        scopes: ScopeSet::parse("read").unwrap(),
        ..application_settings("TV app", &[GrantType::DeviceCode, GrantType::RefreshToken])
    };
    let application = match app
        .store()
        .application_by_client_id("app_tv")
        .await
        .unwrap()
    {
        Some(existing) => existing,
        None => {
            app.store_application(account_id, "app_tv", ClientType::Public, settings)
                .await
        }
    };
    let user_code = app.start_device_authorization(&application).await;
    user_code
}

fn field(html: &str, name: &str) -> String {
    html.split(&format!("name=\"{name}\" value=\""))
        .nth(1)
        .and_then(|r| r.split('"').next())
        .unwrap_or_default()
        .to_owned()
}

#[tokio::test]
async fn a_user_types_the_code_and_allows_or_denies() {
    each_backend(|backend| async move {
        let (app, seeded) = TestApp::start_seeded(backend).await;
        let user_code = start_device_flow(&app, seeded.acme.id).await;
        let typed = display_user_code(&user_code).to_lowercase();

        let anonymous =
            send_text(app.http.get(app.url(&format!("/device?user_code={typed}")))).await;
        assert_eq!(anonymous.0, 303);
        assert!(anonymous.1[LOCATION]
            .to_str()
            .unwrap()
            .starts_with("/login?next=%2Fdevice%3Fuser_code%3D"));

        let browser = sign_in(&app, "owner@acme.test", PASSWORD).await;
        let form =
            send_text(browser.request(&app, Method::GET, &format!("/device?user_code={typed}")))
                .await;
        assert_eq!(form.0, 200);
        assert_eq!(
            field(&form.2, "user_code"),
            typed,
            "pre-filled from the verification_uri_complete"
        );
        let csrf = field(&form.2, "csrf_token");

        let consent = send_text(
            browser
                .request(&app, Method::POST, "/device")
                .form(&[("csrf_token", &csrf), ("user_code", &typed)]),
        )
        .await;
        assert_eq!(consent.0, 200, "{}", consent.2);
        assert!(consent.2.contains("TV app") && consent.2.contains(&display_user_code(&user_code)));

        let done = browser.allow_device(&app, &csrf, &user_code, "acme").await;
        assert_eq!(done.0, 200, "{}", done.2);
        assert!(done.2.contains("Device connected"));
        let record = app.device_code(&user_code).await;
        assert_eq!(record.status, DeviceStatus::Approved);
        assert!(record.grant_id.is_some());

        let reused = send_text(
            browser
                .request(&app, Method::POST, "/device")
                .form(&[("csrf_token", &csrf), ("user_code", &typed)]),
        )
        .await;
        assert_eq!(reused.0, 400, "a decided code cannot be used again");

        let second = start_device_flow(&app, seeded.acme.id).await;
        let denied = browser
            .request(&app, Method::POST, "/device/decision")
            .form(&[
                ("csrf_token", csrf.as_str()),
                ("user_code", second.as_str()),
                ("account", "acme"),
                ("offered", "acme"),
                ("decision", "deny"),
            ]);
        assert!(send_text(denied).await.2.contains("denied"));
        assert_eq!(app.device_code(&second).await.status, DeviceStatus::Denied);

        let forged = browser
            .request(&app, Method::POST, "/device")
            .form(&[("csrf_token", "forged"), ("user_code", typed.as_str())]);
        assert_eq!(send_text(forged).await.0, 403);
        app.stop().await;
    })
    .await;
}

#[tokio::test]
async fn guessing_user_codes_is_throttled() {
    each_backend(|backend| async move {
        let (app, seeded) = TestApp::start_seeded(backend).await;
        let real = start_device_flow(&app, seeded.acme.id).await;
        let browser = sign_in(&app, "owner@acme.test", PASSWORD).await;
        let form = send_text(browser.request(&app, Method::GET, "/device")).await;
        let csrf = field(&form.2, "csrf_token");
        let guess = |code: &str| {
            browser
                .request(&app, Method::POST, "/device")
                .form(&[("csrf_token", csrf.clone()), ("user_code", code.to_owned())])
        };
        for _ in 0..10 {
            assert_eq!(send_text(guess("BCDF-GHJK")).await.0, 400);
        }
        let throttled = send_text(guess(&real)).await;
        assert_eq!(
            throttled.0, 429,
            "even the right code waits once the limit is reached"
        );
        assert!(throttled.1.get("retry-after").is_some());
        app.stop().await;
    })
    .await;
}
