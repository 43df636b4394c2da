//! The server for a client test: the shared harness's app on SQLite, seeded with account
//! `acme`, its owner, and one application per kind of client.
#![allow(dead_code)] // Shared by the test modules; not every module uses each helper.

use std::sync::Arc;
use std::time::Duration;

use gatekey_core::account::Account;
use gatekey_core::oauth::application::{ClientType, GrantType};
use gatekey_core::role::Role;
use gatekey_core::user::Member;
use gatekey_core::{Clock, SystemClock};
use gatekey_server::testing::{seed, Client, ClientSpec, Seeded, TestApp};
use gatekey_store::Backend;

pub use gatekey_server::testing::REDIRECT;

/// The person who signs in (with the harness's `PASSWORD`).
pub const EMAIL: &str = "owner@acme.test";

/// A running app with account `acme`, its owner, and one application per kind of client.
pub struct Server {
    /// The app.
    pub app: TestApp,
    /// Account `acme`.
    pub acme: Account,
    /// [`EMAIL`], owner of `acme`.
    pub owner: Member,
    /// Confidential, client credentials, acting as a service account.
    pub service_app: Client,
    /// Confidential, authorization code + refresh token.
    pub web_app: Client,
    /// Public, authorization code (PKCE) + device code + refresh token.
    pub native_app: Client,
}

impl Server {
    /// Starts an app whose access tokens live `access_token_ttl` seconds.
    pub async fn start(access_token_ttl: u64) -> Self {
        Self::start_with_clock(access_token_ttl, Arc::new(SystemClock)).await
    }

    /// Starts an app on `clock` whose access tokens live `access_token_ttl` seconds.
    pub async fn start_with_clock(access_token_ttl: u64, clock: Arc<dyn Clock>) -> Self {
        let app = TestApp::start_with_clock(Backend::Sqlite, clock, |config| {
            config.access_token_ttl = access_token_ttl;
        })
        .await;
        let Seeded { acme, owner, .. } = seed(&app).await;
        let robot = app.service_account(&acme, "sync job", Role::Member).await;
        let service_app = app
            .register_client(acme.id, ClientSpec::service(&robot))
            .await;
        let web_app = app
            .register_client(acme.id, ClientSpec::confidential())
            .await;
        let native = ClientSpec {
            grant_types: vec![
                GrantType::AuthorizationCode,
                GrantType::RefreshToken,
                GrantType::DeviceCode,
            ],
            ..ClientSpec::public()
        };
        let native_app = app.register_client(acme.id, native).await;
        assert_eq!(native_app.application.client_type, ClientType::Public);
        Self {
            app,
            acme,
            owner,
            service_app,
            web_app,
            native_app,
        }
    }

    /// The server's base URL (its issuer).
    pub fn url(&self) -> String {
        self.app.base_url()
    }

    /// A connection string: this server, `client`'s id and secret (when it has one), then
    /// `rest`.
    pub fn connection(&self, client: &Client, rest: &str) -> String {
        let secret = client
            .secret
            .as_deref()
            .map(|secret| format!(";ClientSecret={{{secret}}}"))
            .unwrap_or_default();
        format!(
            "Server={};ClientId={}{secret};{rest}",
            self.url(),
            client.id
        )
    }

    /// A code of the owner for `client` and [`REDIRECT`], without PKCE, as the authorization
    /// endpoint would have issued it.
    pub async fn code_for(&self, client: &Client) -> String {
        self.app.code_for(&self.owner, client, "read write").await
    }

    /// A refresh token of the owner for `client`, as a token response would have carried it.
    pub async fn refresh_token_for(&self, client: &Client) -> String {
        let (_, refresh) = self
            .app
            .grant_with_tokens(&self.owner, client, "read write")
            .await;
        refresh
    }
}

/// Calls `/api/v1/me` through `client` every 100 ms for `span`, and returns how many calls
/// failed, with the first failure.
pub async fn call_for(
    client: &gatekey_client::ApiClient,
    span: Duration,
) -> (usize, usize, Option<String>) {
    let until = tokio::time::Instant::now() + span;
    let (mut calls, mut failed, mut first) = (0, 0, None);
    while tokio::time::Instant::now() < until {
        calls += 1;
        if let Err(error) = client.get::<serde_json::Value>("/api/v1/me").await {
            failed += 1;
            first.get_or_insert(error.to_string());
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    (calls, failed, first)
}
