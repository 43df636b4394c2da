//! A real browser (headless Chromium over WebDriver) goes through sign-in, account choice and
//! consent, and lands on the client's redirect URI with a code; and through the device page.
//!
//! Runs when `GATEKEY_TEST_BROWSER=1` (CI sets it and installs Chromium and chromedriver);
//! elsewhere it says so and stops, since no browser may be installed.

use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use fantoccini::{Client, ClientBuilder, Locator};
use gatekey_core::oauth::application::{ApplicationSettings, ClientType, GrantType};
use gatekey_core::oauth::device::{display_user_code, DeviceStatus};
use gatekey_core::role::Role;
use gatekey_core::scope::ScopeSet;
use gatekey_store::testing::application_settings;
use gatekey_store::Backend;

use crate::harness::{TestApp, PASSWORD};

pub(crate) const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";
pub(crate) const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";

pub(crate) fn enabled() -> bool {
    let on = std::env::var("GATEKEY_TEST_BROWSER").is_ok_and(|v| v == "1");
    if !on {
        eprintln!("browser tests skipped: set GATEKEY_TEST_BROWSER=1 with chromium and chromedriver installed");
    }
    on
}

/// chromedriver on a free port; killed when dropped.
pub(crate) struct Driver {
    child: Child,
    port: u16,
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

pub(crate) async fn browser() -> (Driver, Client) {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let port = free_port();
    let child = Command::new("chromedriver")
        .arg(format!("--port={port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("chromedriver is installed");
    let driver = Driver { child, port };
    let mut caps = serde_json::Map::new();
    caps.insert(
        "goog:chromeOptions".into(),
        serde_json::json!({
            "binary": "/usr/bin/chromium",
            "args": ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                     "--disable-background-networking", "--disable-component-update", "--disable-sync",
                     "--disable-dev-shm-usage"]
        }),
    );
    let started = Instant::now();
    loop {
        let connected = ClientBuilder::rustls()
            .expect("tls")
            .capabilities(caps.clone())
            .connect(&format!("http://127.0.0.1:{}", driver.port))
            .await;
        match connected {
            Ok(client) => return (driver, client),
            Err(error) if started.elapsed() > Duration::from_secs(20) => {
                panic!("no WebDriver session: {error}")
            }
            Err(_) => tokio::time::sleep(Duration::from_millis(200)).await,
        }
    }
}

/// A stand-in for the client application: records the query its redirect URI receives.
pub(crate) async fn redirect_catcher() -> (SocketAddr, Arc<Mutex<Option<String>>>) {
    let caught: Arc<Mutex<Option<String>>> = Arc::default();
    let seen = caught.clone();
    let app = axum::Router::new().route(
        "/cb",
        axum::routing::get(
            move |axum::extract::RawQuery(query): axum::extract::RawQuery| {
                *seen.lock().unwrap() = query;
                std::future::ready("You can close this window.")
            },
        ),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    (addr, caught)
}

pub(crate) async fn fill_and_sign_in(client: &Client, email: &str) {
    type_into(client, "#email", email).await;
    type_into(client, "#password", PASSWORD).await;
    submit(client).await;
}

/// Waits for the field `css` and types `text` into it.
pub(crate) async fn type_into(client: &Client, css: &str, text: &str) {
    client
        .wait()
        .for_element(Locator::Css(css))
        .await
        .unwrap()
        .send_keys(text)
        .await
        .unwrap();
}

/// Submits the page's main form.
pub(crate) async fn submit(client: &Client) {
    client
        .find(Locator::Css("main button[type=submit]"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_browser_signs_in_chooses_an_account_consents_and_gets_a_code() {
    if !enabled() {
        return;
    }
    let (app, seeded) = TestApp::start_seeded(Backend::Sqlite).await;
    app.join(seeded.owner.user.id, seeded.other.id, Role::Member)
        .await;
    let settings = ApplicationSettings {
        redirect_uris: vec!["http://127.0.0.1/cb".into()],
        scopes: ScopeSet::parse("read write").unwrap(),
        ..application_settings(
            "Browser test app",
            &[GrantType::AuthorizationCode, GrantType::RefreshToken],
        )
    };
    app.store_application(seeded.acme.id, "app_browser", ClientType::Public, settings)
        .await;

    let (catcher, caught) = redirect_catcher().await;
    let redirect_uri = format!("http://127.0.0.1:{}/cb", catcher.port());
    let authorize = format!(
        "{}/oauth/authorize?client_id=app_browser&response_type=code&scope=read&state=browser-state&code_challenge={CHALLENGE}&code_challenge_method=S256&redirect_uri={}",
        app.server.url(),
        url::form_urlencoded::byte_serialize(redirect_uri.as_bytes()).collect::<String>()
    );
    let (_driver, client) = browser().await;
    client.goto(&authorize).await.unwrap();
    fill_and_sign_in(&client, "owner@acme.test").await;

    // Two accounts: choose "other".
    let select = client
        .wait()
        .for_element(Locator::Css("select#account"))
        .await
        .unwrap();
    select.select_by_value("other").await.unwrap();
    submit(&client).await;

    let allow = client
        .wait()
        .for_element(Locator::Css("button[value=allow]"))
        .await
        .unwrap();
    let page = client.source().await.unwrap();
    assert!(
        page.contains("Browser test app") && page.contains("other"),
        "the consent page names the app and the account"
    );
    allow.click().await.unwrap();

    let started = Instant::now();
    let query = loop {
        if let Some(query) = caught.lock().unwrap().clone() {
            break query;
        }
        if started.elapsed() > Duration::from_secs(15) {
            let at = client
                .current_url()
                .await
                .map(|u| u.to_string())
                .unwrap_or_default();
            let source = client.source().await.unwrap_or_default();
            panic!("the browser never reached the redirect URI; it is at {at}: {source}");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    client.close().await.unwrap();
    let pairs: Vec<(String, String)> = url::form_urlencoded::parse(query.as_bytes())
        .into_owned()
        .collect();
    let get = |name: &str| {
        pairs
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
    };
    assert_eq!(get("state").as_deref(), Some("browser-state"));
    assert_eq!(get("iss"), Some(app.server.url()));
    let code = get("code").expect("a code");

    // The code exchanges for tokens at the token endpoint, with the PKCE verifier.
    let exchanged = app
        .http
        .post(app.url("/oauth/token"))
        .form(&[
            ("grant_type", "authorization_code"),
            ("client_id", "app_browser"),
            ("code", code.as_str()),
            ("redirect_uri", redirect_uri.as_str()),
            ("code_verifier", VERIFIER),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(exchanged.status(), 200);
    let tokens: serde_json::Value = exchanged.json().await.unwrap();
    assert_eq!(
        tokens["account"], "other",
        "the tokens act in the chosen account"
    );
    assert!(tokens["access_token"]
        .as_str()
        .unwrap()
        .starts_with("gk_at_"));
    assert!(tokens["refresh_token"].is_string());
    let me = app
        .http
        .get(app.url("/api/v1/me"))
        .bearer_auth(tokens["access_token"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(me.status(), 200);
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_browser_approves_a_device_on_the_device_page() {
    if !enabled() {
        return;
    }
    let (app, seeded) = TestApp::start_seeded(Backend::Sqlite).await;
    let settings = ApplicationSettings {
        scopes: ScopeSet::parse("read").unwrap(),
        ..application_settings("Device test app", &[GrantType::DeviceCode])
    };
    let application = app
        .store_application(seeded.acme.id, "app_device", ClientType::Public, settings)
        .await;
    let user_code = app.start_device_authorization(&application).await;

    let (_driver, client) = browser().await;
    client
        .goto(&format!("{}/device", app.server.url()))
        .await
        .unwrap();
    fill_and_sign_in(&client, "owner@acme.test").await;
    type_into(
        &client,
        "#user-code",
        &display_user_code(&user_code).to_lowercase(),
    )
    .await;
    submit(&client).await;
    client
        .wait()
        .for_element(Locator::Css("button[value=allow]"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    client
        .wait()
        .for_element(Locator::XPath("//h1[contains(., 'Device connected')]"))
        .await
        .unwrap();
    client.close().await.unwrap();
    let record = app.device_code(&user_code).await;
    assert_eq!(record.status, DeviceStatus::Approved);
    app.stop().await;
}
