//! Seeding OAuth applications, grants, codes and tokens straight through the store, and
//! talking to the token, revocation and introspection endpoints, raw or through the `oauth2`
//! crate.

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use gatekey_core::account::Account;
use gatekey_core::audit::AuditAction;
use gatekey_core::oauth::application::{
    new_client_id, AccessTokenFormat, Application, ApplicationSettings, ClientType, GrantType,
};
use gatekey_core::oauth::application_tokens::DEFAULT_ID_TOKEN_ALG;
use gatekey_core::oauth::device::{new_user_code, DeviceCodeRecord, NewDeviceCode};
use gatekey_core::oauth::grant::Grant;
use gatekey_core::oauth::store::{
    ApplicationStore, DeviceStore, GrantStore, NewApplication, TokenStore,
};
use gatekey_core::oauth::token::{NewAccessToken, NewCode, NewRefreshToken};
use gatekey_core::role::Role;
use gatekey_core::scope::ScopeSet;
use gatekey_core::secret::{Secret, SecretKind};
use gatekey_core::user::Member;
use gatekey_store::Backend;
use oauth2::basic::BasicClient;
use oauth2::{
    AuthUrl, ClientId, ClientSecret, EndpointNotSet, EndpointSet, IntrospectionUrl, RedirectUrl,
    RevocationUrl, TokenUrl,
};
use reqwest::header::HeaderMap;
use serde_json::Value;
use time::Duration;

use super::fixtures::Seeded;
use super::http::{send, Answer};
use super::TestApp;

/// The redirect URI every seeded application registers first.
pub const REDIRECT: &str = "https://client.example.com/cb";

/// A registered application and its credentials in clear.
#[derive(Debug, Clone)]
pub struct Client {
    /// The stored application.
    pub application: Application,
    /// Its client id.
    pub id: String,
    /// Its secret, for a confidential client.
    pub secret: Option<String>,
}

/// What to register.
#[derive(Debug, Clone)]
pub struct ClientSpec {
    /// Confidential (with a secret) or public.
    pub client_type: ClientType,
    /// The grant types it may use.
    pub grant_types: Vec<GrantType>,
    /// The scopes it may ask for, space-separated.
    pub scopes: &'static str,
    /// Whether it may introspect its account's tokens.
    pub introspect: bool,
    /// The service account a client credentials client acts as.
    pub service_account_id: Option<i64>,
    /// Opaque or JWT access tokens.
    pub access_token_format: AccessTokenFormat,
}

impl ClientSpec {
    /// A confidential client of the code flow with refresh tokens, `read write`.
    pub fn confidential() -> Self {
        Self {
            client_type: ClientType::Confidential,
            grant_types: vec![GrantType::AuthorizationCode, GrantType::RefreshToken],
            scopes: "read write",
            introspect: false,
            service_account_id: None,
            access_token_format: AccessTokenFormat::Opaque,
        }
    }

    /// A public client of the code flow with refresh tokens, `read write`.
    pub fn public() -> Self {
        Self {
            client_type: ClientType::Public,
            ..Self::confidential()
        }
    }

    /// A confidential client of the client credentials grant acting as `service_account`.
    pub fn service(service_account: &Member) -> Self {
        Self {
            grant_types: vec![GrantType::ClientCredentials],
            service_account_id: Some(service_account.user.id),
            ..Self::confidential()
        }
    }

    /// A resource server allowed to introspect its own account's tokens.
    pub fn resource_server() -> Self {
        Self {
            introspect: true,
            grant_types: vec![GrantType::AuthorizationCode],
            ..Self::confidential()
        }
    }
}

impl TestApp {
    /// The device authorization whose user code is `user_code` (normalized), as stored.
    pub async fn device_code(&self, user_code: &str) -> DeviceCodeRecord {
        self.store()
            .device_code_by_user_code(user_code)
            .await
            .expect("the device code lookup")
            .expect("a device code with that user code")
    }

    /// Starts the app on a fresh database of `backend`, seeds it ([`seed`]) and registers one
    /// application of `acme` as `spec`: where most OAuth tests begin.
    pub async fn start_with_client(backend: Backend, spec: ClientSpec) -> (Self, Seeded, Client) {
        let (app, seeded) = Self::start_seeded(backend).await;
        let client = app.register_client(seeded.acme.id, spec).await;
        (app, seeded, client)
    }

    /// [`TestApp::start_with_client`], then a second application of `acme` as `second`: for the
    /// tests of what one application must not do with another's credentials.
    pub async fn start_with_clients(
        backend: Backend,
        first: ClientSpec,
        second: ClientSpec,
    ) -> (Self, Seeded, Client, Client) {
        let (app, seeded, client) = Self::start_with_client(backend, first).await;
        let other = app.register_client(seeded.acme.id, second).await;
        (app, seeded, client, other)
    }

    /// Creates a service account of `account` named `name` with `role`, and registers a client
    /// credentials application of `account` acting as it.
    pub async fn service_client(
        &self,
        account: &Account,
        name: &str,
        role: Role,
    ) -> (Member, Client) {
        let service_account = self.service_account(account, name, role).await;
        let spec = ClientSpec::service(&service_account);
        let client = self.register_client(account.id, spec).await;
        (service_account, client)
    }

    /// Starts a device authorization (RFC 8628 section 3.1) for `application` straight through
    /// the store, good for ten minutes; returns its user code.
    pub async fn start_device_authorization(&self, application: &Application) -> String {
        let now = self.now();
        let user_code = new_user_code();
        let device = NewDeviceCode {
            hash: Secret::generate(SecretKind::DeviceCode).hash(),
            user_code: user_code.clone(),
            application_id: application.id,
            scopes: application.scopes.clone(),
            created_at: now,
            expires_at: now + Duration::minutes(10),
        };
        self.store()
            .create_device_code(device)
            .await
            .expect("device code");
        user_code
    }

    /// Registers an application in `account_id` straight through the store.
    pub async fn register_client(&self, account_id: i64, spec: ClientSpec) -> Client {
        let secret = (spec.client_type == ClientType::Confidential)
            .then(|| Secret::generate(SecretKind::ClientSecret));
        let settings = ApplicationSettings {
            name: "Test application".into(),
            // A loopback URI, and the client library's default loopback redirect.
            redirect_uris: vec![
                REDIRECT.into(),
                "http://127.0.0.1/cb".into(),
                "http://127.0.0.1/callback".into(),
            ],
            grant_types: spec.grant_types,
            scopes: ScopeSet::parse(spec.scopes).expect("scopes"),
            implicit_allowed: false,
            introspect: spec.introspect,
            verify_keys: false,
            service_account_id: spec.service_account_id,
            id_token_signed_response_alg: DEFAULT_ID_TOKEN_ALG,
            access_token_format: spec.access_token_format,
            resources: Vec::new(),
            post_logout_redirect_uris: Vec::new(),
        };
        let new = NewApplication {
            client_id: new_client_id(),
            account_id,
            client_type: spec.client_type,
            secret_hash: secret.as_ref().map(Secret::hash),
            settings,
            created_at: self.now(),
        };
        let application = self
            .store()
            .create_application(
                new,
                self.operator_audit(AuditAction::ApplicationCreated, "application"),
            )
            .await
            .expect("application");
        Client {
            id: application.client_id.clone(),
            application,
            secret: secret.map(|s| s.expose().to_owned()),
        }
    }

    /// Stores an application as given, with a secret nobody knows when it is confidential:
    /// for what [`TestApp::register_client`] does not make (a fixed client id, settings the
    /// API would refuse, as an older database may hold them).
    pub async fn store_application(
        &self,
        account_id: i64,
        client_id: &str,
        client_type: ClientType,
        settings: ApplicationSettings,
    ) -> Application {
        let secret_hash = (client_type == ClientType::Confidential)
            .then(|| Secret::generate(SecretKind::ClientSecret).hash());
        let new = NewApplication {
            client_id: client_id.into(),
            account_id,
            client_type,
            secret_hash,
            settings,
            created_at: self.now(),
        };
        self.store()
            .create_application(
                new,
                self.operator_audit(AuditAction::ApplicationCreated, "application"),
            )
            .await
            .expect("application")
    }

    /// Records `member`'s consent to `client` with `scopes`.
    pub async fn consent(&self, member: &Member, client: &Client, scopes: &str) -> Grant {
        self.store()
            .create_grant(
                member.user.id,
                member.membership.account_id,
                client.application.id,
                ScopeSet::parse(scopes).expect("scopes"),
                self.now(),
                self.operator_audit(AuditAction::ConsentGranted, "grant"),
            )
            .await
            .expect("grant")
    }

    /// Revokes every grant of `member` to `client` straight in the database, with their codes
    /// and tokens, as the operator would.
    pub async fn revoke_grants(&self, member: &Member, client: &Client) {
        self.store()
            .revoke_grants(
                member.user.id,
                member.membership.account_id,
                client.application.id,
                self.now(),
                self.operator_audit(AuditAction::GrantRevoked, "application"),
            )
            .await
            .expect("grants revoked");
    }

    /// Stores a code under `grant` as the authorization endpoint would; `redirect_uri` is the
    /// one of the authorization request ("" when it named none).
    pub async fn code(
        &self,
        grant: &Grant,
        redirect_uri: &str,
        challenge: Option<&str>,
        lifetime: Duration,
    ) -> String {
        let code = Secret::generate(SecretKind::AuthorizationCode);
        let now = self.now();
        let new = NewCode {
            hash: code.hash(),
            grant_id: grant.id,
            redirect_uri: redirect_uri.into(),
            scopes: grant.scopes.clone(),
            code_challenge: challenge.map(str::to_owned),
            nonce: None,
            auth_time: None,
            sid: None,
            created_at: now,
            expires_at: now + lifetime,
        };
        self.store().create_code(new).await.expect("code");
        code.expose().to_owned()
    }

    /// Issues an access token and a refresh token under `grant` straight through the store,
    /// both expiring after `lifetime`.
    pub async fn issue(&self, grant: &Grant, lifetime: Duration) -> (String, String) {
        let now = self.now();
        let access = Secret::generate(SecretKind::AccessToken);
        let refresh = Secret::generate(SecretKind::RefreshToken);
        self.store()
            .issue_tokens(
                grant.id,
                NewAccessToken {
                    hash: access.hash(),
                    scopes: grant.scopes.clone(),
                    created_at: now,
                    expires_at: now + lifetime,
                    audience: Vec::new(),
                    code_id: None,
                },
                Some(NewRefreshToken {
                    hash: refresh.hash(),
                    scopes: grant.scopes.clone(),
                    created_at: now,
                    expires_at: now + lifetime,
                    auth_time: None,
                    sid: None,
                    audience: Vec::new(),
                }),
            )
            .await
            .expect("tokens");
        (access.expose().to_owned(), refresh.expose().to_owned())
    }

    /// Tokens of `member` for `client` with `scopes` under a new grant: an access token and a
    /// refresh token valid for an hour, a session the test can use, refresh or revoke.
    pub async fn grant_with_tokens(
        &self,
        member: &Member,
        client: &Client,
        scopes: &str,
    ) -> (String, String) {
        let grant = self.consent(member, client, scopes).await;
        self.issue(&grant, Duration::hours(1)).await
    }

    /// A code for [`REDIRECT`] without PKCE, valid a minute, under a new grant of `member` to
    /// `client` with `scopes`: what the authorization endpoint would have sent back.
    pub async fn code_for(&self, member: &Member, client: &Client, scopes: &str) -> String {
        let grant = self.consent(member, client, scopes).await;
        self.code(&grant, REDIRECT, None, Duration::seconds(60))
            .await
    }

    /// POSTs a form to `path`, authenticating with `basic` (id, secret) when given.
    pub async fn post_form(
        &self,
        path: &str,
        basic: Option<(&str, &str)>,
        form: &[(&str, &str)],
    ) -> Answer {
        let mut request = self.http.post(self.url(path)).form(form);
        if let Some((id, secret)) = basic {
            request = request.header(reqwest::header::AUTHORIZATION, basic_header(id, secret));
        }
        send(request).await
    }

    /// POSTs a form to `path` authenticating `client` the way it should: Basic with its secret,
    /// or `client_id` in the body for a public client.
    pub async fn post_as(&self, client: &Client, path: &str, form: &[(&str, &str)]) -> Answer {
        match &client.secret {
            Some(secret) => self.post_form(path, Some((&client.id, secret)), form).await,
            None => {
                let mut with_id = form.to_vec();
                with_id.push(("client_id", &client.id));
                self.post_form(path, None, &with_id).await
            }
        }
    }

    /// POSTs `form` to the token endpoint as `client` (see [`TestApp::post_as`]).
    pub async fn token(&self, client: &Client, form: &[(&str, &str)]) -> Answer {
        self.post_as(client, "/oauth/token", form).await
    }

    /// Asks the token endpoint, as `client`, to refresh `refresh_token` (RFC 6749 §6).
    pub async fn refresh(&self, client: &Client, refresh_token: &str) -> Answer {
        let form = [
            ("grant_type", "refresh_token"),
            ("refresh_token", refresh_token),
        ];
        self.token(client, &form).await
    }

    /// Introspects `token` as `resource_server`.
    pub async fn introspect(&self, resource_server: &Client, token: &str) -> Value {
        let answer = self
            .post_as(resource_server, "/oauth/introspect", &[("token", token)])
            .await;
        assert_eq!(answer.0, 200, "{}", answer.2);
        answer.2
    }

    /// An `oauth2` crate client for `client`, with every endpoint of this server set.
    pub fn oauth2_client(&self, client: &Client) -> FullClient {
        let mut built = BasicClient::new(ClientId::new(client.id.clone()))
            .set_auth_uri(AuthUrl::new(self.url("/oauth/authorize")).expect("url"))
            .set_token_uri(TokenUrl::new(self.url("/oauth/token")).expect("url"))
            .set_revocation_url(RevocationUrl::new(self.url("/oauth/revoke")).expect("url"))
            .set_introspection_url(
                IntrospectionUrl::new(self.url("/oauth/introspect")).expect("url"),
            )
            .set_redirect_uri(RedirectUrl::new(REDIRECT.into()).expect("url"));
        if let Some(secret) = &client.secret {
            built = built.set_client_secret(ClientSecret::new(secret.clone()));
        }
        built
    }
}

/// An `oauth2` client with the authorization, introspection, revocation and token endpoints set.
pub type FullClient =
    BasicClient<EndpointSet, EndpointNotSet, EndpointSet, EndpointSet, EndpointSet>;

/// The HTTP client the `oauth2` crate uses: redirects off, as its documentation asks (SSRF).
pub fn oauth2_http() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client")
}

/// `Basic base64(urlencode(id):urlencode(secret))` (RFC 6749 §2.3.1).
pub fn basic_header(id: &str, secret: &str) -> String {
    let encode = |s: &str| url::form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
    format!(
        "Basic {}",
        STANDARD.encode(format!("{}:{}", encode(id), encode(secret)))
    )
}

/// Asserts the headers RFC 6749 §5.1 requires on every token endpoint response.
#[track_caller]
pub fn assert_no_store(headers: &HeaderMap) {
    assert_eq!(
        headers.get("cache-control").and_then(|v| v.to_str().ok()),
        Some("no-store")
    );
    assert_eq!(
        headers.get("pragma").and_then(|v| v.to_str().ok()),
        Some("no-cache")
    );
}
