//! Starting the server for a client test, seeding it, and acting as the user's browser.
#![allow(dead_code)] // Shared by the test modules; not every module uses each helper.

use std::sync::Arc;
use std::time::Duration;

use gatekey_core::account::Account;
use gatekey_core::audit::{Actor, AuditAction, AuditEntry};
use gatekey_core::oauth::application::{new_client_id, ApplicationSettings, ClientType, GrantType};
use gatekey_core::oauth::store::{ApplicationStore, GrantStore, NewApplication, TokenStore};
use gatekey_core::oauth::token::{NewAccessToken, NewCode, NewRefreshToken};
use gatekey_core::password::hash_password;
use gatekey_core::role::Role;
use gatekey_core::scope::ScopeSet;
use gatekey_core::secret::{Secret, SecretKind};
use gatekey_core::store::AccountStore;
use gatekey_core::user::Member;
use gatekey_core::user_admin::{create_person, create_service_account, PersonRequest};
use gatekey_core::{Clock, SystemClock};
use gatekey_server::RunningServer;
use gatekey_store::testing::TestDatabase;
use gatekey_store::{Backend, SqlStore};
use time::OffsetDateTime;

/// The password of the seeded person.
pub const PASSWORD: &str = "correct horse battery staple";
/// The person who signs in.
pub const EMAIL: &str = "owner@acme.test";
/// Where the confidential code-flow application redirects.
pub const REDIRECT: &str = "https://client.example.com/cb";

/// A running server with account `acme`, its owner, and one application per kind of client.
pub struct Server {
    pub running: RunningServer,
    pub http: reqwest::Client,
    db: Option<TestDatabase>,
    pub acme: Account,
    pub owner: Member,
    /// Confidential, client credentials, acting as a service account.
    pub service_app: App,
    /// Confidential, authorization code + refresh token.
    pub web_app: App,
    /// Public, authorization code (PKCE) + device code + refresh token.
    pub native_app: App,
}

/// A registered application.
#[derive(Debug, Clone)]
pub struct App {
    pub id: i64,
    pub client_id: String,
    pub secret: Option<String>,
}

impl Server {
    /// Starts a server whose access tokens live `access_token_ttl` seconds.
    pub async fn start(access_token_ttl: u64) -> Self {
        let db = TestDatabase::create(Backend::Sqlite).await;
        let mut config = gatekey_server::Config {
            database_url: db.url.clone(),
            ..gatekey_server::Config::default()
        };
        config.listen = "127.0.0.1:0".parse().expect("address");
        config.access_token_ttl = access_token_ttl;
        config.rate_limit.per_minute = 1_000_000;
        config.rate_limit.per_second = 100_000;
        config.cache.invalidation_poll_ms = 100;
        let running = gatekey_server::start(config, Arc::new(SystemClock))
            .await
            .expect("server starts");
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("client");
        let store = running.state.store.clone();
        let now = SystemClock.now();
        let acme = store
            .create_account("acme", "Acme", now, operator(AuditAction::AccountCreated))
            .await
            .expect("account");
        let owner = create_person(
            &store,
            now,
            &acme,
            PersonRequest {
                email: EMAIL,
                name: "Owner",
                role: Role::Owner,
                password_hash: Some(hash_password(PASSWORD).expect("hash")),
            },
            &Actor::operator(),
        )
        .await
        .expect("person");
        let robot = create_service_account(
            &store,
            now,
            &acme,
            "sync job",
            Role::Member,
            &Actor::operator(),
        )
        .await
        .expect("service account");
        let service_app = register(
            &store,
            &acme,
            ClientType::Confidential,
            vec![GrantType::ClientCredentials],
            Some(robot.user.id),
        )
        .await;
        let web_app = register(
            &store,
            &acme,
            ClientType::Confidential,
            vec![GrantType::AuthorizationCode, GrantType::RefreshToken],
            None,
        )
        .await;
        let native_app = register(
            &store,
            &acme,
            ClientType::Public,
            vec![
                GrantType::AuthorizationCode,
                GrantType::RefreshToken,
                GrantType::DeviceCode,
            ],
            None,
        )
        .await;
        Self {
            running,
            http,
            db: Some(db),
            acme,
            owner,
            service_app,
            web_app,
            native_app,
        }
    }

    /// Stops the server and drops its database.
    pub async fn stop(mut self) {
        let store = self.running.state.store.clone();
        let _ = self.running.shutdown().await;
        store.close().await;
        if let Some(db) = self.db.take() {
            db.drop_database().await;
        }
    }

    /// The store, for seeding and for reading what the database holds.
    pub fn store(&self) -> &SqlStore {
        &self.running.state.store
    }

    /// The server's base URL (its issuer).
    pub fn url(&self) -> String {
        self.running.url()
    }

    /// Requests the server has answered at `route` so far, counted by its own metrics.
    pub fn requests_to(&self, route: &str) -> u64 {
        let mark = format!("route=\"{route}\"");
        self.running
            .state
            .metrics
            .render()
            .lines()
            .filter(|line| line.starts_with("gatekey_http_requests_total{") && line.contains(&mark))
            .filter_map(|line| line.rsplit(' ').next()?.parse::<u64>().ok())
            .sum()
    }

    /// A consented grant of the owner to `app` with a code for `REDIRECT` and no PKCE, as the
    /// authorization endpoint would have issued it.
    pub async fn code_for(&self, app: &App) -> String {
        let grant = self.grant(app).await;
        let code = Secret::generate(SecretKind::AuthorizationCode);
        let now = OffsetDateTime::now_utc();
        self.store()
            .create_code(NewCode {
                hash: code.hash(),
                grant_id: grant,
                redirect_uri: REDIRECT.into(),
                scopes: ScopeSet::parse("read write").expect("scopes"),
                code_challenge: None,
                created_at: now,
                expires_at: now + time::Duration::seconds(60),
            })
            .await
            .expect("code");
        code.expose().to_owned()
    }

    /// A refresh token of the owner for `app`, as a token response would have carried it.
    pub async fn refresh_token_for(&self, app: &App) -> String {
        let grant = self.grant(app).await;
        let now = OffsetDateTime::now_utc();
        let access = Secret::generate(SecretKind::AccessToken);
        let refresh = Secret::generate(SecretKind::RefreshToken);
        let scopes = ScopeSet::parse("read write").expect("scopes");
        self.store()
            .issue_tokens(
                grant,
                NewAccessToken {
                    hash: access.hash(),
                    scopes,
                    created_at: now,
                    expires_at: now + time::Duration::seconds(60),
                    code_id: None,
                },
                Some(NewRefreshToken {
                    hash: refresh.hash(),
                    scopes,
                    created_at: now,
                    expires_at: now + time::Duration::days(1),
                }),
            )
            .await
            .expect("tokens");
        refresh.expose().to_owned()
    }

    async fn grant(&self, app: &App) -> i64 {
        self.store()
            .create_grant(
                self.owner.user.id,
                self.acme.id,
                app.id,
                ScopeSet::parse("read write").expect("scopes"),
                OffsetDateTime::now_utc(),
                operator(AuditAction::ConsentGranted),
            )
            .await
            .expect("grant")
            .id
    }

    /// Whether the server takes `access_token` on the API now.
    pub async fn accepts(&self, access_token: &str) -> bool {
        self.http
            .get(format!("{}/api/v1/me", self.url()))
            .bearer_auth(access_token)
            .send()
            .await
            .expect("request")
            .status()
            == 200
    }

    /// Signs the owner in through the login form; returns the session cookie.
    pub async fn sign_in(&self) -> String {
        let page = self
            .http
            .get(format!("{}/login", self.url()))
            .send()
            .await
            .expect("login page");
        let login_cookie = cookie(&page, "gatekey_login_csrf").expect("login CSRF cookie");
        let csrf = csrf_token_in(&page.text().await.expect("page"));
        let answer = self
            .http
            .post(format!("{}/login", self.url()))
            .header(
                reqwest::header::COOKIE,
                format!("gatekey_login_csrf={login_cookie}"),
            )
            .form(&[
                ("email", EMAIL),
                ("password", PASSWORD),
                ("csrf_token", csrf.as_str()),
            ])
            .send()
            .await
            .expect("login");
        assert_eq!(answer.status(), 303);
        format!(
            "gatekey_session={}",
            cookie(&answer, "gatekey_session").expect("session cookie")
        )
    }

    /// Acts as the signed-in user's browser on an authorization URL: consents, and follows
    /// the redirect back to wherever it points (the client's loopback listener).
    pub async fn consent_in_browser(&self, authorization_url: &str) {
        let session = self.sign_in().await;
        let page = self
            .http
            .get(authorization_url)
            .header(reqwest::header::COOKIE, &session)
            .send()
            .await
            .expect("consent page");
        assert_eq!(page.status(), 200);
        let mut form = hidden_inputs(&page.text().await.expect("page"));
        form.push(("decision".into(), "allow".into()));
        let answer = self
            .http
            .post(format!("{}/oauth/authorize", self.url()))
            .header(reqwest::header::COOKIE, &session)
            .form(&form)
            .send()
            .await
            .expect("consent");
        assert_eq!(answer.status(), 302);
        let location = answer.headers()[reqwest::header::LOCATION]
            .to_str()
            .expect("location")
            .to_owned();
        let back = self
            .http
            .get(location)
            .send()
            .await
            .expect("the redirect reaches the client");
        assert_eq!(back.status(), 200);
    }

    /// Acts as the user on the `/device` page: signs in and approves `user_code`.
    pub async fn approve_device(&self, user_code: &str) {
        let session = self.sign_in().await;
        let page = self
            .http
            .get(format!("{}/device?user_code={user_code}", self.url()))
            .header(reqwest::header::COOKIE, &session)
            .send()
            .await
            .expect("device page");
        assert_eq!(page.status(), 200);
        let csrf = csrf_token_in(&page.text().await.expect("page"));
        let answer = self
            .http
            .post(format!("{}/device/decision", self.url()))
            .header(reqwest::header::COOKIE, &session)
            .form(&[
                ("csrf_token", csrf.as_str()),
                ("user_code", user_code),
                ("account", "acme"),
                ("offered", "acme"),
                ("decision", "allow"),
            ])
            .send()
            .await
            .expect("approval");
        assert_eq!(answer.status(), 200);
    }
}

fn operator(action: AuditAction) -> AuditEntry {
    AuditEntry::new(
        OffsetDateTime::now_utc(),
        &Actor::operator(),
        action,
        "test",
    )
}

async fn register(
    store: &SqlStore,
    account: &Account,
    client_type: ClientType,
    grant_types: Vec<GrantType>,
    service_account_id: Option<i64>,
) -> App {
    let secret = (client_type == ClientType::Confidential)
        .then(|| Secret::generate(SecretKind::ClientSecret));
    let application = store
        .create_application(
            NewApplication {
                client_id: new_client_id(),
                account_id: account.id,
                client_type,
                secret_hash: secret.as_ref().map(Secret::hash),
                settings: ApplicationSettings {
                    name: "Connector".into(),
                    redirect_uris: vec![REDIRECT.into(), "http://127.0.0.1/callback".into()],
                    grant_types,
                    scopes: ScopeSet::parse("read write").expect("scopes"),
                    implicit_allowed: false,
                    introspect: false,
                    service_account_id,
                },
                created_at: OffsetDateTime::now_utc(),
            },
            operator(AuditAction::ApplicationCreated),
        )
        .await
        .expect("application");
    App {
        id: application.id,
        client_id: application.client_id,
        secret: secret.map(|s| s.expose().to_owned()),
    }
}

fn cookie(response: &reqwest::Response, name: &str) -> Option<String> {
    response
        .headers()
        .get_all(reqwest::header::SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(|v| v.strip_prefix(&format!("{name}=")))
        .map(|v| v.split(';').next().unwrap_or_default().to_owned())
}

fn csrf_token_in(html: &str) -> String {
    const MARK: &str = r#"name="csrf_token" value=""#;
    let start = html.find(MARK).expect("a csrf_token field") + MARK.len();
    let length = html[start..].find('"').expect("end of the value");
    html[start..start + length].to_owned()
}

fn hidden_inputs(html: &str) -> Vec<(String, String)> {
    html.split("<input type=\"hidden\" name=\"")
        .skip(1)
        .filter_map(|rest| {
            let (name, rest) = rest.split_once('"')?;
            let value = rest.split("value=\"").nth(1)?.split('"').next()?;
            Some((
                name.to_owned(),
                value.replace("&amp;", "&").replace("&quot;", "\""),
            ))
        })
        .collect()
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
