//! The device authorization grant (RFC 8628) end to end: the `oauth2` crate as the device,
//! the `/device` page as the user; and every polling answer over raw HTTP.

use std::time::Duration;

use gatekey_core::oauth::application::{ClientType, GrantType};
use gatekey_core::oauth::device::normalize_user_code;
use gatekey_core::oauth::store::DeviceStore;
use oauth2::basic::BasicClient;
use oauth2::{
    ClientId, DeviceAuthorizationUrl, Scope, StandardDeviceAuthorizationResponse, TokenResponse,
    TokenUrl,
};
use reqwest::Method;

use crate::harness::{assert_error, each_backend, seed, send, sign_in, TestApp, PASSWORD};
use crate::oauth_fixture::{assert_no_store, oauth2_http, ClientSpec};

fn device_spec(client_type: ClientType) -> ClientSpec {
    ClientSpec {
        client_type,
        grant_types: vec![GrantType::DeviceCode, GrantType::RefreshToken],
        scopes: "read write",
        introspect: false,
        service_account_id: None,
        access_token_format: gatekey_core::oauth::application::AccessTokenFormat::Opaque,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_device_polls_until_the_user_approves_on_the_device_page() {
    each_backend(|backend| async move {
        let (app, _, device_app) =
            TestApp::start_with_client(backend, device_spec(ClientType::Public)).await;
        let client = BasicClient::new(ClientId::new(device_app.id.clone()))
            .set_device_authorization_url(
                DeviceAuthorizationUrl::new(app.url("/oauth/device_authorization")).unwrap(),
            )
            .set_token_uri(TokenUrl::new(app.url("/oauth/token")).unwrap());
        let http = oauth2_http();
        let details: StandardDeviceAuthorizationResponse = client
            .exchange_device_code()
            .add_scope(Scope::new("read".into()))
            .request_async(&http)
            .await
            .expect("device authorization");
        assert_eq!(details.verification_uri().as_str(), app.url("/device"));
        let user_code = details.user_code().secret().clone();
        assert_eq!(user_code.len(), 9, "shown as XXXX-XXXX");

        // The user, on another machine, types the code and allows.
        let approver = {
            let base = app.url("");
            let http = app.http.clone();
            let browser = sign_in(&app, "owner@acme.test", PASSWORD).await;
            tokio::spawn(async move {
                tokio::time::sleep(Duration::from_millis(300)).await;
                let form = [
                    ("csrf_token", browser.csrf.as_str()),
                    ("user_code", user_code.as_str()),
                    ("account", "acme"),
                    ("offered", "acme"),
                    ("decision", "allow"),
                ];
                let answer = http
                    .post(format!("{base}/device/decision"))
                    .header(reqwest::header::COOKIE, browser.cookie())
                    .form(&form)
                    .send()
                    .await
                    .unwrap();
                assert_eq!(answer.status(), 200);
            })
        };
        let token = client
            .exchange_device_access_token(&details)
            .request_async(&http, tokio::time::sleep, Some(Duration::from_secs(30)))
            .await
            .expect("tokens once the user approved");
        approver.await.unwrap();
        assert_eq!(
            token
                .scopes()
                .map(|s| s.iter().map(|s| s.to_string()).collect::<Vec<_>>()),
            Some(vec!["read".to_owned()])
        );
        assert!(
            token.refresh_token().is_some(),
            "the application may refresh"
        );
        let me = send(app.request(Method::GET, "/api/v1/me", token.access_token().secret())).await;
        assert_eq!(me.0, 200, "{}", me.2);
        assert_eq!(
            (
                me.2["user"]["email"].as_str(),
                me.2["credential"]["type"].as_str()
            ),
            (Some("owner@acme.test"), Some("oauth"))
        );
        app.stop().await;
    })
    .await;
}

#[tokio::test]
async fn every_polling_answer_of_rfc_8628() {
    each_backend(|backend| async move {
        let (app, clock) =
            TestApp::start_with_manual_clock(backend, |c| c.device_code_ttl = 2).await;
        let seeded = seed(&app).await;
        let device_app = app
            .register_client(seeded.acme.id, device_spec(ClientType::Confidential))
            .await;
        let other_app = app
            .register_client(seeded.acme.id, device_spec(ClientType::Confidential))
            .await;
        let no_device = app
            .register_client(seeded.acme.id, ClientSpec::confidential())
            .await;
        let grant_type = "urn:ietf:params:oauth:grant-type:device_code";

        let refused = app
            .post_as(&no_device, "/oauth/device_authorization", &[])
            .await;
        assert_error(&refused, 400, "unauthorized_client");
        let wide = app
            .post_as(
                &device_app,
                "/oauth/device_authorization",
                &[("scope", "admin")],
            )
            .await;
        assert_error(&wide, 400, "invalid_scope");

        let started = app
            .post_as(
                &device_app,
                "/oauth/device_authorization",
                &[("scope", "read")],
            )
            .await;
        assert_eq!(started.0, 200, "{}", started.2);
        assert_no_store(&started.1);
        assert_eq!(started.2["interval"], 5);
        assert_eq!(started.2["expires_in"], 2);
        let device_code = started.2["device_code"].as_str().unwrap().to_owned();
        assert!(device_code.starts_with("gk_dc_"));
        let user_code = started.2["user_code"].as_str().unwrap().to_owned();
        assert!(started.2["verification_uri_complete"]
            .as_str()
            .unwrap()
            .ends_with(&format!("/device?user_code={user_code}")));
        let poll = |client| {
            let form = [
                ("grant_type", grant_type),
                ("device_code", device_code.as_str()),
            ];
            let app = &app;
            async move { app.token(client, &form).await }
        };

        assert_error(&poll(&device_app).await, 400, "authorization_pending");
        assert_error(&poll(&device_app).await, 400, "slow_down");
        assert_error(&poll(&other_app).await, 400, "invalid_grant");

        let record = app
            .device_code(&normalize_user_code(&user_code).unwrap())
            .await;
        assert_eq!(record.interval_secs, 10, "slow_down adds five seconds");
        let grant = app.consent(&seeded.owner, &device_app, "read").await;
        assert!(app
            .store()
            .decide_device_code(record.id, Some(grant.id))
            .await
            .unwrap());
        let tokens = poll(&device_app).await;
        assert_eq!(tokens.0, 200, "{}", tokens.2);
        assert_eq!(
            (tokens.2["scope"].as_str(), tokens.2["account"].as_str()),
            (Some("read"), Some("acme"))
        );
        assert!(tokens.2["refresh_token"].is_string());
        assert_error(&poll(&device_app).await, 400, "invalid_grant");

        // Denied, then expired.
        let second = app
            .post_as(&device_app, "/oauth/device_authorization", &[])
            .await;
        let second_code = second.2["device_code"].as_str().unwrap().to_owned();
        let second_user_code =
            normalize_user_code(second.2["user_code"].as_str().unwrap()).unwrap();
        let record = app.device_code(&second_user_code).await;
        app.store()
            .decide_device_code(record.id, None)
            .await
            .unwrap();
        let denied = app
            .token(
                &device_app,
                &[("grant_type", grant_type), ("device_code", &second_code)],
            )
            .await;
        assert_error(&denied, 400, "access_denied");
        clock.advance(time::Duration::milliseconds(2100));
        let expired = app
            .token(
                &device_app,
                &[("grant_type", grant_type), ("device_code", &second_code)],
            )
            .await;
        assert_error(&expired, 400, "expired_token");
        let garbage = app
            .token(
                &device_app,
                &[("grant_type", grant_type), ("device_code", "gk_dc_nope")],
            )
            .await;
        assert_error(&garbage, 400, "invalid_grant");
        app.stop().await;
    })
    .await;
}
