//! What every test starts from: the app on a manual clock, account `acme` with its owner, a
//! resource server application allowed to introspect, and a verifier reading the same clock.
#![allow(dead_code)] // Shared by the test modules; not every module uses each helper.

use std::sync::Arc;
use std::time::SystemTime;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use gatekey_core::oauth::application::AccessTokenFormat;
use gatekey_core::role::Role;
use gatekey_core::user::Member;
use gatekey_core::{Clock as _, ManualClock};
use gatekey_server::testing::{seed, send, Client, ClientSpec, Seeded, TestApp};
use gatekey_store::Backend;
use gatekey_verify::{Clock, Verifier, VerifierBuilder};
use reqwest::Method;
use serde_json::{json, Value};

pub use gatekey_server::testing::each_backend;

/// The resource server's identifier (RFC 8707), registered by the JWT application.
pub const AUDIENCE: &str = "https://notes.example.com";

/// The app's manual clock, read by the verifier too, so one `advance` ages both.
pub struct SharedClock(pub Arc<ManualClock>);

impl Clock for SharedClock {
    fn now(&self) -> SystemTime {
        self.0.now().into()
    }
}

/// A running gatekey and what the tests need of it.
pub struct Gatekey {
    pub app: TestApp,
    pub clock: Arc<ManualClock>,
    pub seeded: Seeded,
    /// An application of `acme` with the `introspect` permission.
    pub resource_server: Client,
}

impl Gatekey {
    /// Starts the app on `backend` and seeds it.
    pub async fn start(backend: Backend) -> Self {
        let (app, clock) = TestApp::start_with_manual_clock(backend, |_| {}).await;
        let seeded = seed(&app).await;
        let resource_server = app
            .register_client(seeded.acme.id, ClientSpec::resource_server())
            .await;
        Self {
            app,
            clock,
            seeded,
            resource_server,
        }
    }

    /// A verifier builder for the resource server, on the app's clock, with [`AUDIENCE`].
    pub fn verifier_builder(&self) -> VerifierBuilder {
        let secret = self.resource_server.secret.clone().expect("a secret");
        Verifier::builder(self.app.base_url(), &self.resource_server.id, secret)
            .clock(Arc::new(SharedClock(self.clock.clone())))
            .audience(AUDIENCE)
    }

    /// [`Gatekey::verifier_builder`] with the defaults.
    pub fn verifier(&self) -> Verifier {
        self.verifier_builder().build().expect("a verifier")
    }

    /// An API key of the owner of `acme` with `scopes`.
    pub async fn owner_key(&self, scopes: &str) -> String {
        self.app.key(&self.seeded.owner, Some(scopes)).await
    }

    /// A client credentials application of `acme` issuing JWT access tokens, acting as a new
    /// service account, with [`AUDIENCE`] among its resources.
    pub async fn jwt_client(&self) -> (Member, Client) {
        let service = self
            .app
            .service_account(&self.seeded.acme, "notes sync", Role::Member)
            .await;
        let spec = ClientSpec {
            access_token_format: AccessTokenFormat::Jwt,
            ..ClientSpec::service(&service)
        };
        let client = self.app.register_client(self.seeded.acme.id, spec).await;
        let admin_key = self.app.key(&self.seeded.owner, None).await;
        let path = format!("/api/v1/applications/{}", client.application.id);
        let changed = send(
            self.app
                .request(Method::PATCH, &path, &admin_key)
                .json(&json!({ "resources": [AUDIENCE] })),
        )
        .await;
        assert_eq!(changed.0, 200, "{}", changed.2);
        (service, client)
    }

    /// A JWT access token of `client` with `scope`, for `resource` when given.
    pub async fn jwt(&self, client: &Client, scope: &str, resource: Option<&str>) -> String {
        let mut form = vec![("grant_type", "client_credentials"), ("scope", scope)];
        if let Some(resource) = resource {
            form.push(("resource", resource));
        }
        let answer = self.app.token(client, &form).await;
        assert_eq!(answer.0, 200, "{}", answer.2);
        let token = answer.2["access_token"].as_str().expect("a token");
        assert!(token.starts_with("eyJ"), "a JWT: {token}");
        token.to_owned()
    }

    /// How many times the app answered `route`.
    pub fn requests_to(&self, route: &str) -> u64 {
        self.app.requests_to(route)
    }

    /// Stops the app and drops its database.
    pub async fn stop(self) {
        self.app.stop().await;
    }
}

/// A compact JWS with `header` and `claims` and a signature nobody made.
pub fn unsigned_token(header: &Value, claims: &Value) -> String {
    let part = |value: &Value| URL_SAFE_NO_PAD.encode(value.to_string());
    format!(
        "{}.{}.{}",
        part(header),
        part(claims),
        URL_SAFE_NO_PAD.encode([7u8; 64])
    )
}

/// The claims of a token, read without checking anything.
pub fn claims_of(token: &str) -> Value {
    let payload = token.split('.').nth(1).expect("a payload");
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).expect("base64url")).expect("JSON")
}

impl Gatekey {
    /// The time on the shared clock.
    pub fn clock_now(&self) -> SystemTime {
        self.clock.now().into()
    }
}
