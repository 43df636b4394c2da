//! Configuration: defaults, then a TOML file, then `GATEKEY_*` environment variables (a key
//! `a.b` is `GATEKEY_A__B`), then command-line flags. An unknown key in the file is an error
//! naming it; a `GATEKEY_*` variable that is no key is ignored with a warning
//! ([`unknown_keys`]).

mod gateway;
mod leak_reports;
mod rate_limit;
mod signing;
mod unknown_keys;

use std::fmt;
use std::net::SocketAddr;
use std::path::Path;

use figment::providers::{Format, Serialized, Toml};
use figment::Figment;
use gatekey_core::oauth::signing_key_schedule::SigningAlgorithm;
use gatekey_core::session::{MIN_IDLE_TIMEOUT, SESSION_TTL};
use gatekey_store::redact_database_url;
use serde::{Deserialize, Serialize};

pub use gateway::{GatewayConfig, GatewayRoute, SampleRate, UnmatchedRoutes};
pub use leak_reports::{GithubPublicKey, LeakReportsConfig};
pub use rate_limit::{LimitBackend, RateLimitConfig, RedisUrl};
pub use signing::SigningConfig;
pub use unknown_keys::IgnoredEnvVariables;
use unknown_keys::KnownKeys;

/// Environment variables that start with `GATEKEY_` but are not configuration keys: gatekey reads
/// them for something else, so they are not warned about. None may ever be a key's name.
pub const NON_CONFIG_ENV: &[&str] = &[
    "BOOTSTRAP_EMAIL",
    "BOOTSTRAP_PASSWORD",
    "TEST_POSTGRES_URL",
    "TEST_BROWSER",
    "TEST_PROXIES",
    "TEST_README",
    "TEST_REDIS",
    "BENCH_POSTGRES_URL",
    "CONNECTION",
    "CONFIG",
    "LOG",
];

/// The whole server configuration. `Debug` shows `database_url` without its password.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// Address to listen on.
    pub listen: SocketAddr,
    /// `sqlite://PATH` or `postgres://…`.
    pub database_url: String,
    /// The public base URL; defaults to `http://` + `listen`.
    pub issuer: Option<String>,
    /// Access token lifetime in seconds.
    pub access_token_ttl: u64,
    /// Lifetime of a JWT access token (RFC 9068) in seconds: shorter than an opaque token's,
    /// since a verifier that checks it offline sees no revocation before it expires.
    pub jwt_access_token_ttl: u64,
    /// The algorithm JWT access tokens are signed with: `EdDSA` (default), `ES256` or `RS256`.
    pub jwt_access_token_alg: String,
    /// ID token lifetime in seconds (OpenID Connect Core §2 `exp`).
    pub id_token_ttl: u64,
    /// Refresh token lifetime in seconds.
    pub refresh_token_ttl: u64,
    /// Authorization code lifetime in seconds.
    pub authorization_code_ttl: u64,
    /// Device code lifetime in seconds.
    pub device_code_ttl: u64,
    /// HTTP limits.
    pub http: HttpConfig,
    /// Per-account rate limits.
    pub rate_limit: RateLimitConfig,
    /// Login brute-force protection.
    pub login: LoginConfig,
    /// Bounds on concurrent password hashing.
    pub password_hashing: PasswordHashingConfig,
    /// Credential cache and its invalidation.
    pub cache: CacheConfig,
    /// Deleting what is expired or revoked.
    pub retention: RetentionConfig,
    /// Limits of `POST /oauth/device_authorization`.
    pub device_authorization: DeviceAuthorizationConfig,
    /// Web sessions.
    pub session: SessionConfig,
    /// The operations endpoints.
    pub operations: OperationsConfig,
    /// The slug of the operator account: its owners and admins manage the scope catalogue
    /// over the REST API and the web pages. Defaults to the account the first run creates.
    pub operator_account: String,
    /// Stopping.
    pub shutdown: ShutdownConfig,
    /// Signing keys and their key-encryption key.
    pub signing: SigningConfig,
    /// Route rules of the forward-auth endpoint.
    pub gateway: GatewayConfig,
    /// Secret scanners that may report leaked gatekey secrets for revocation.
    pub leak_reports: LeakReportsConfig,
}

/// HTTP limits.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct HttpConfig {
    /// Largest request body accepted, in bytes.
    pub body_limit: usize,
    /// Take the client's address from `X-Forwarded-For` (only behind proxies you run).
    pub trust_forwarded_for: bool,
    /// How many trusted proxies stand in front, each appending to `X-Forwarded-For`: the
    /// client's address is the entry this many places from the right.
    pub forwarded_for_hops: u32,
    /// Seconds a client has to send a whole request head, from opening the connection (or
    /// from the first byte of a later request on it).
    pub header_read_timeout: u64,
    /// Seconds a kept-alive connection may wait for its next request.
    pub idle_timeout: u64,
    /// Seconds a client has to send a whole request body, counted from the end of its head.
    pub body_read_timeout: u64,
}

/// Login brute-force protection, counted across replicas with `rate_limit.backend = "redis"`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LoginConfig {
    /// Failed logins allowed per email within the window.
    pub max_failures_per_email: u32,
    /// Failed logins allowed per client IP within the window.
    pub max_failures_per_ip: u32,
    /// The window, in seconds.
    pub failure_window: u64,
}

/// Bounds on concurrent password hashing (each argon2id check holds 19 MiB).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PasswordHashingConfig {
    /// Hashes run at once; 0 means one per CPU core.
    pub max_concurrent: usize,
    /// Requests that may wait for a free slot; past it they are refused with 503 at once.
    pub max_waiting: usize,
    /// Milliseconds a request waits for a slot before it is refused with 503.
    pub max_wait_ms: u64,
}

/// Credential cache.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CacheConfig {
    /// Seconds a checked credential is trusted without asking the database again.
    pub credential_ttl: u64,
    /// Milliseconds between polls of the invalidation feed.
    pub invalidation_poll_ms: u64,
    /// Milliseconds since the invalidation feed was last read past which no cached credential
    /// or client record is trusted: every lookup goes to the database.
    pub max_staleness_ms: u64,
    /// Seconds between writes of API keys' `last_used_at`.
    pub last_used_flush: u64,
}

/// Web sessions.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SessionConfig {
    /// Seconds without a request after which a session ends (besides its 12-hour lifetime).
    pub idle_timeout: u64,
}

impl SessionConfig {
    /// The idle timeout as a duration.
    pub fn idle_timeout(&self) -> time::Duration {
        time::Duration::seconds(i64::try_from(self.idle_timeout).unwrap_or(i64::MAX))
    }
}

impl Default for SessionConfig {
    fn default() -> Self {
        Self { idle_timeout: 1800 }
    }
}

impl Default for Config {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            database_url: "sqlite://gatekey-data/gatekey.db".into(),
            issuer: None,
            access_token_ttl: 3600,
            jwt_access_token_ttl: 600,
            jwt_access_token_alg: SigningAlgorithm::EdDsa.as_str().into(),
            id_token_ttl: 3600,
            refresh_token_ttl: 30 * 24 * 3600,
            authorization_code_ttl: 60,
            device_code_ttl: 600,
            http: HttpConfig::default(),
            rate_limit: RateLimitConfig::default(),
            login: LoginConfig::default(),
            password_hashing: PasswordHashingConfig::default(),
            cache: CacheConfig::default(),
            retention: RetentionConfig::default(),
            device_authorization: DeviceAuthorizationConfig::default(),
            session: SessionConfig::default(),
            operations: OperationsConfig::default(),
            operator_account: crate::bootstrap::FIRST_ACCOUNT_SLUG.into(),
            shutdown: ShutdownConfig::default(),
            signing: SigningConfig::default(),
            gateway: GatewayConfig::default(),
            leak_reports: LeakReportsConfig::default(),
        }
    }
}

impl Config {
    /// The algorithm of JWT access tokens (checked at start: see `jwt_access_token_alg`).
    pub fn jwt_access_token_algorithm(&self) -> SigningAlgorithm {
        self.jwt_access_token_alg
            .parse()
            .unwrap_or(SigningAlgorithm::EdDsa)
    }
}

impl Default for HttpConfig {
    fn default() -> Self {
        Self {
            body_limit: 64 * 1024,
            trust_forwarded_for: false,
            forwarded_for_hops: 1,
            header_read_timeout: 10,
            idle_timeout: 60,
            body_read_timeout: 30,
        }
    }
}

impl Default for LoginConfig {
    fn default() -> Self {
        Self {
            max_failures_per_email: 5,
            max_failures_per_ip: 20,
            failure_window: 900,
        }
    }
}

impl Default for PasswordHashingConfig {
    fn default() -> Self {
        Self {
            max_concurrent: 0,
            max_waiting: 32,
            max_wait_ms: 1000,
        }
    }
}

impl Default for CacheConfig {
    fn default() -> Self {
        Self {
            credential_ttl: 60,
            invalidation_poll_ms: 250,
            max_staleness_ms: 5000,
            last_used_flush: 5,
        }
    }
}

/// The retention purge: what is expired or revoked is deleted after a grace (see
/// docs/configuration.md, `[retention]`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RetentionConfig {
    /// Seconds between purges.
    pub interval: u64,
    /// Seconds expired or revoked authorization codes and tokens are kept (refresh families:
    /// after their last member died), so that reuse of a spent one is still detected.
    pub grace: u64,
    /// Days audit events are kept; 0 keeps them forever.
    pub audit_days: u64,
    /// Days a retired signing key is kept before the purge deletes it; 0 keeps them forever.
    pub retired_signing_key_days: u64,
}

impl Default for RetentionConfig {
    fn default() -> Self {
        Self {
            interval: 900,
            grace: 7 * 24 * 3600,
            audit_days: 0,
            retired_signing_key_days: 30,
        }
    }
}

impl RetentionConfig {
    /// The time before which a retired signing key may be deleted at `now`; `None` when they
    /// are kept forever.
    pub fn retired_signing_keys_cutoff(
        &self,
        now: time::OffsetDateTime,
    ) -> Option<time::OffsetDateTime> {
        let days = i64::try_from(self.retired_signing_key_days).ok()?;
        (days > 0)
            .then(|| now.checked_sub(time::Duration::days(days)))
            .flatten()
    }

    /// The policy these settings describe; sessions go only when their lifetime is over (see
    /// [`Config::retention_policy`] for the idle timeout too).
    pub fn policy(&self) -> gatekey_core::retention::RetentionPolicy {
        let seconds = |s: u64| time::Duration::seconds(i64::try_from(s).unwrap_or(i64::MAX / 4));
        gatekey_core::retention::RetentionPolicy {
            grace: seconds(self.grace),
            audit_retention: (self.audit_days > 0)
                .then(|| seconds(self.audit_days.saturating_mul(24 * 3600))),
            session_idle: None,
        }
    }
}

/// Limits of `POST /oauth/device_authorization` (see docs/configuration.md,
/// `[device_authorization]`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DeviceAuthorizationConfig {
    /// Pending, unexpired device codes one application may hold.
    pub max_pending_per_client: u32,
    /// Requests per client address per minute, counted per server process; 0 turns it off.
    pub per_ip_per_minute: u32,
    /// Device codes one client address (IPv6 per /64) may hold for one application within the
    /// codes' lifetime, counted per server process; 0 turns it off.
    pub max_pending_per_address: u32,
}

impl Default for DeviceAuthorizationConfig {
    fn default() -> Self {
        Self {
            max_pending_per_client: 100,
            per_ip_per_minute: 20,
            max_pending_per_address: 10,
        }
    }
}

/// The operations endpoints (see docs/operations.md).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct OperationsConfig {
    /// A separate address for `/metrics` (and `/healthz`, `/readyz`); `/metrics` is then no
    /// longer served on `listen`. Unset: everything on `listen`.
    pub listen: Option<SocketAddr>,
    /// Milliseconds since the invalidation feed was last read past which `/readyz` fails;
    /// unset: four poll intervals, at least 10 seconds.
    pub invalidation_feed_max_age_ms: Option<u64>,
}

impl OperationsConfig {
    /// The feed's age past which the server is not ready, for polls every `cache`'s interval.
    pub fn invalidation_feed_max_age(&self, cache: &CacheConfig) -> time::Duration {
        let millis = self
            .invalidation_feed_max_age_ms
            .unwrap_or_else(|| cache.invalidation_poll_ms.saturating_mul(4).max(10_000));
        time::Duration::milliseconds(i64::try_from(millis).unwrap_or(i64::MAX))
    }

    fn validate(&self, cache: &CacheConfig) -> Result<(), ConfigError> {
        match self.invalidation_feed_max_age_ms {
            Some(max_age) if max_age <= cache.invalidation_poll_ms => {
                Err(ConfigError::Invalid(format!(
                    "operations.invalidation_feed_max_age_ms ({max_age}) must be more than \
                     cache.invalidation_poll_ms ({})",
                    cache.invalidation_poll_ms
                )))
            }
            _ => Ok(()),
        }
    }
}

/// Stopping on `SIGTERM` or Ctrl-C (see docs/configuration.md, `[shutdown]`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ShutdownConfig {
    /// Seconds the connections open at the stop have to finish their requests; those still open
    /// then are closed, and the server exits.
    pub drain_timeout: u64,
}

impl Default for ShutdownConfig {
    fn default() -> Self {
        Self { drain_timeout: 30 }
    }
}

impl ShutdownConfig {
    fn validate(&self) -> Result<(), ConfigError> {
        if self.drain_timeout == 0 {
            return Err(ConfigError::Invalid(
                "shutdown.drain_timeout must be more than 0 seconds".into(),
            ));
        }
        Ok(())
    }
}

/// Values given on the command line; `None` leaves the layers below in force. `Debug` shows
/// `database_url` without its password.
#[derive(Clone, Default, Serialize)]
pub struct ConfigOverrides {
    /// `--listen`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub listen: Option<SocketAddr>,
    /// `--database-url`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub database_url: Option<String>,
    /// `--issuer`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub issuer: Option<String>,
}

/// A database URL as `Debug` shows it: without its password.
struct ShownUrl<'a>(&'a str);

impl fmt::Debug for ShownUrl<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&redact_database_url(self.0), f)
    }
}

impl fmt::Debug for Config {
    /// Every setting but the database password. A new setting must be added here to be shown:
    /// until then it is left out rather than printed unchecked.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Config")
            .field("listen", &self.listen)
            .field("database_url", &ShownUrl(&self.database_url))
            .field("issuer", &self.issuer)
            .field("access_token_ttl", &self.access_token_ttl)
            .field("jwt_access_token_ttl", &self.jwt_access_token_ttl)
            .field("jwt_access_token_alg", &self.jwt_access_token_alg)
            .field("id_token_ttl", &self.id_token_ttl)
            .field("refresh_token_ttl", &self.refresh_token_ttl)
            .field("authorization_code_ttl", &self.authorization_code_ttl)
            .field("device_code_ttl", &self.device_code_ttl)
            .field("http", &self.http)
            .field("rate_limit", &self.rate_limit)
            .field("login", &self.login)
            .field("password_hashing", &self.password_hashing)
            .field("cache", &self.cache)
            .field("retention", &self.retention)
            .field("device_authorization", &self.device_authorization)
            .field("session", &self.session)
            .field("operations", &self.operations)
            .field("operator_account", &self.operator_account)
            .field("shutdown", &self.shutdown)
            .field("signing", &self.signing)
            .field("gateway", &self.gateway)
            .field("leak_reports", &self.leak_reports)
            .finish_non_exhaustive()
    }
}

impl fmt::Debug for ConfigOverrides {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ConfigOverrides")
            .field("listen", &self.listen)
            .field("database_url", &self.database_url.as_deref().map(ShownUrl))
            .field("issuer", &self.issuer)
            .finish()
    }
}

/// Why the configuration could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// A layer had an unknown key, a wrong type, or a bad value; figment's message names the
    /// key and the file or variable it came from.
    #[error("configuration: {0}")]
    Invalid(String),
    /// The configuration file given does not exist.
    #[error("configuration file {0} not found")]
    MissingFile(String),
}

impl Config {
    /// What the retention purge deletes: the `[retention]` settings, and sessions idle for
    /// longer than `session.idle_timeout`.
    pub fn retention_policy(&self) -> gatekey_core::retention::RetentionPolicy {
        gatekey_core::retention::RetentionPolicy {
            session_idle: Some(self.session.idle_timeout()),
            ..self.retention.policy()
        }
    }

    /// Loads the layers: defaults, `file` (if given), `GATEKEY_*` variables, then `overrides`.
    /// Variables that are not keys are ignored; [`Config::load_reporting`] also names them.
    pub fn load(file: Option<&Path>, overrides: &ConfigOverrides) -> Result<Self, ConfigError> {
        Self::load_reporting(file, overrides).map(|(config, _)| config)
    }

    /// As [`Config::load`], and also returns the `GATEKEY_*` variables that were ignored because
    /// they are not keys, for the caller to warn about.
    pub fn load_reporting(
        file: Option<&Path>,
        overrides: &ConfigOverrides,
    ) -> Result<(Self, IgnoredEnvVariables), ConfigError> {
        let mut figment = Figment::from(Serialized::defaults(Config::default()));
        if let Some(file) = file {
            if !file.exists() {
                return Err(ConfigError::MissingFile(file.display().to_string()));
            }
            figment = figment.merge(Toml::file_exact(file));
        }
        let known = KnownKeys::of_config();
        figment = figment
            .merge(known.env_provider())
            .merge(Serialized::defaults(overrides));
        let config: Config = figment
            .extract()
            .map_err(|e| ConfigError::Invalid(render_figment_error(e)))?;
        config.validate()?;
        Ok((config, IgnoredEnvVariables::in_process_env(&known)))
    }

    /// The issuer: the configured public URL, or `http://` + the listen address.
    pub fn issuer(&self) -> String {
        self.issuer
            .clone()
            .unwrap_or_else(|| format!("http://{}", self.listen))
            .trim_end_matches('/')
            .to_owned()
    }

    fn validate(&self) -> Result<(), ConfigError> {
        if self
            .jwt_access_token_alg
            .parse::<SigningAlgorithm>()
            .is_err()
        {
            return Err(ConfigError::Invalid(format!(
                "jwt_access_token_alg must be EdDSA, ES256 or RS256, got {:?}",
                self.jwt_access_token_alg
            )));
        }
        if let Some(issuer) = &self.issuer {
            if !(issuer.starts_with("https://") || issuer.starts_with("http://")) {
                return Err(ConfigError::Invalid(format!(
                    "issuer must be an http(s) URL, got {issuer:?}"
                )));
            }
        }
        if gatekey_core::account::validate_slug(&self.operator_account).is_err() {
            return Err(ConfigError::Invalid(format!(
                "operator_account must be an account slug, got {:?}",
                self.operator_account
            )));
        }
        if self.http.body_limit == 0 {
            return Err(ConfigError::Invalid(
                "http.body_limit must be more than 0".into(),
            ));
        }
        if self.http.header_read_timeout == 0
            || self.http.idle_timeout == 0
            || self.http.body_read_timeout == 0
        {
            return Err(ConfigError::Invalid(
                "http.header_read_timeout, http.idle_timeout and http.body_read_timeout must be \
                 more than 0"
                    .into(),
            ));
        }
        if self.http.forwarded_for_hops == 0 {
            return Err(ConfigError::Invalid(
                "http.forwarded_for_hops must be at least 1".into(),
            ));
        }
        if self.retention.interval == 0 {
            return Err(ConfigError::Invalid(
                "retention.interval must be more than 0".into(),
            ));
        }
        // A session's last use is written once a minute, so a timeout of less than two minutes
        // would sign out a user in use; longer than the 12-hour lifetime would never apply.
        let shortest = MIN_IDLE_TIMEOUT.whole_seconds().unsigned_abs();
        let longest = SESSION_TTL.whole_seconds().unsigned_abs();
        if !(shortest..=longest).contains(&self.session.idle_timeout) {
            return Err(ConfigError::Invalid(format!(
                "session.idle_timeout must be {shortest} to {longest} seconds, got {}",
                self.session.idle_timeout
            )));
        }
        if self.cache.invalidation_poll_ms == 0 || self.cache.last_used_flush == 0 {
            return Err(ConfigError::Invalid(
                "cache intervals must be more than 0".into(),
            ));
        }
        if self.cache.max_staleness_ms <= self.cache.invalidation_poll_ms {
            return Err(ConfigError::Invalid(format!(
                "cache.max_staleness_ms ({}) must be more than cache.invalidation_poll_ms ({})",
                self.cache.max_staleness_ms, self.cache.invalidation_poll_ms
            )));
        }
        self.operations.validate(&self.cache)?;
        self.shutdown.validate()?;
        self.signing.validate()?;
        self.gateway.validate()?;
        self.rate_limit.validate()?;
        self.leak_reports.validate()?;
        Ok(())
    }
}

fn render_figment_error(error: figment::Error) -> String {
    error
        .into_iter()
        .map(|e| unknown_keys::describe(&e))
        .collect::<Vec<_>>()
        .join("; ")
}

#[cfg(test)]
// figment's `Jail` closures return its own (large) error type; that is its API, not ours.
#[allow(clippy::result_large_err)]
mod tests {
    use figment::Jail;

    use super::*;

    fn load_in(
        jail: &Jail,
        file: Option<&str>,
        overrides: &ConfigOverrides,
    ) -> Result<Config, ConfigError> {
        let path = file.map(|name| jail.directory().join(name));
        Config::load(path.as_deref(), overrides)
    }

    #[test]
    fn defaults_match_the_contract() {
        Jail::expect_with(|jail| {
            jail.clear_env();
            let config = load_in(jail, None, &ConfigOverrides::default()).expect("defaults load");
            assert_eq!(config.listen.to_string(), "127.0.0.1:8080");
            assert_eq!(config.database_url, "sqlite://gatekey-data/gatekey.db");
            assert_eq!(
                (config.access_token_ttl, config.refresh_token_ttl),
                (3600, 30 * 24 * 3600)
            );
            assert_eq!(
                (config.authorization_code_ttl, config.device_code_ttl),
                (60, 600)
            );
            assert_eq!(
                (config.rate_limit.per_minute, config.rate_limit.per_second),
                (300, 20)
            );
            assert_eq!(config.http.body_limit, 65536);
            assert_eq!(
                (
                    config.retention.interval,
                    config.retention.grace,
                    config.retention.audit_days
                ),
                (900, 604_800, 0)
            );
            assert_eq!(config.retention.policy().audit_retention, None);
            assert_eq!(config.issuer(), "http://127.0.0.1:8080");
            Ok(())
        });
    }

    #[test]
    fn layers_apply_in_order_file_env_flags() {
        Jail::expect_with(|jail| {
            jail.create_file("gatekey.toml", "listen = \"127.0.0.1:9000\"\naccess_token_ttl = 600\n[rate_limit]\nper_minute = 10\n")?;
            jail.set_env("GATEKEY_ACCESS_TOKEN_TTL", "900");
            jail.set_env("GATEKEY_RATE_LIMIT__PER_SECOND", "5");
            jail.set_env("GATEKEY_BOOTSTRAP_EMAIL", "not-a-config-key@example.com");
            jail.set_env("GATEKEY_TEST_BROWSER", "1");
            let overrides = ConfigOverrides {
                listen: Some("127.0.0.1:9999".parse().expect("addr")),
                ..Default::default()
            };
            let config = load_in(jail, Some("gatekey.toml"), &overrides).expect("loads");
            assert_eq!(config.listen.to_string(), "127.0.0.1:9999", "flags win");
            assert_eq!(config.access_token_ttl, 900, "environment beats the file");
            assert_eq!(
                (config.rate_limit.per_minute, config.rate_limit.per_second),
                (10, 5)
            );
            Ok(())
        });
    }

    #[test]
    fn unknown_file_keys_are_errors_naming_the_key() {
        Jail::expect_with(|jail| {
            jail.create_file(
                "gatekey.toml",
                "listen = \"127.0.0.1:9000\"\nacess_token_ttl = 5\n",
            )?;
            let error = load_in(jail, Some("gatekey.toml"), &ConfigOverrides::default())
                .expect_err("unknown key");
            assert!(error.to_string().contains("acess_token_ttl"), "{error}");

            jail.create_file("nested.toml", "[rate_limit]\nper_hour = 5\n")?;
            let error = load_in(jail, Some("nested.toml"), &ConfigOverrides::default())
                .expect_err("unknown nested key");
            assert!(error.to_string().contains("per_hour"), "{error}");
            Ok(())
        });
    }

    #[test]
    fn connection_and_proxy_settings_load_and_are_checked() {
        Jail::expect_with(|jail| {
            jail.create_file(
                "gatekey.toml",
                "[http]\ntrust_forwarded_for = true\nforwarded_for_hops = 2\nheader_read_timeout = 5\nidle_timeout = 30\nbody_read_timeout = 7\n[password_hashing]\nmax_concurrent = 3\n",
            )?;
            let config =
                load_in(jail, Some("gatekey.toml"), &ConfigOverrides::default()).expect("loads");
            assert_eq!(config.http.forwarded_for_hops, 2);
            assert_eq!(
                (config.http.header_read_timeout, config.http.idle_timeout),
                (5, 30)
            );
            assert_eq!(config.http.body_read_timeout, 7);
            assert_eq!(config.password_hashing.max_concurrent, 3);
            for bad in [
                "GATEKEY_HTTP__FORWARDED_FOR_HOPS",
                "GATEKEY_HTTP__HEADER_READ_TIMEOUT",
                "GATEKEY_HTTP__IDLE_TIMEOUT",
                "GATEKEY_HTTP__BODY_READ_TIMEOUT",
            ] {
                jail.set_env(bad, "0");
                let error = load_in(jail, None, &ConfigOverrides::default()).expect_err(bad);
                assert!(matches!(error, ConfigError::Invalid(_)), "{error}");
                jail.set_env(bad, "1");
            }
            Ok(())
        });
    }

    #[test]
    fn bad_values_and_missing_files_are_errors() {
        Jail::expect_with(|jail| {
            jail.set_env("GATEKEY_HTTP__BODY_LIMIT", "lots");
            let error = load_in(jail, None, &ConfigOverrides::default()).expect_err("bad value");
            assert!(
                error.to_string().to_lowercase().contains("body_limit"),
                "{error}"
            );
            let missing = load_in(jail, Some("nope.toml"), &ConfigOverrides::default())
                .expect_err("missing file");
            assert!(matches!(missing, ConfigError::MissingFile(_)));
            Ok(())
        });
    }

    #[test]
    fn session_idle_timeout_is_bounded() {
        Jail::expect_with(|jail| {
            let config = load_in(jail, None, &ConfigOverrides::default()).expect("defaults");
            assert_eq!(config.session.idle_timeout, 1800, "30 minutes by default");
            jail.set_env("GATEKEY_SESSION__IDLE_TIMEOUT", "7200");
            let config = load_in(jail, None, &ConfigOverrides::default()).expect("2 hours");
            assert_eq!(config.session.idle_timeout(), time::Duration::hours(2));
            jail.set_env("GATEKEY_SESSION__IDLE_TIMEOUT", "120");
            let config = load_in(jail, None, &ConfigOverrides::default()).expect("2 minutes");
            assert_eq!(config.session.idle_timeout(), time::Duration::minutes(2));
            for refused in ["30", "60", "119", "50000"] {
                jail.set_env("GATEKEY_SESSION__IDLE_TIMEOUT", refused);
                let error = load_in(jail, None, &ConfigOverrides::default()).expect_err(refused);
                assert!(
                    error.to_string().contains("session.idle_timeout"),
                    "{error}"
                );
            }
            Ok(())
        });
    }

    /// Asserts that each of `values` of the variable `variable` stops the load with an error
    /// naming `key`.
    fn assert_refused(jail: &mut Jail, variable: &str, values: &[&str], key: &str) {
        for value in values {
            jail.set_env(variable, value);
            let error = load_in(jail, None, &ConfigOverrides::default()).expect_err(value);
            let message = error.to_string().to_lowercase();
            assert!(message.contains(key), "{variable}={value}: {error}");
        }
    }

    #[test]
    fn the_drain_timeout_must_be_positive() {
        Jail::expect_with(|jail| {
            let config = load_in(jail, None, &ConfigOverrides::default()).expect("defaults");
            assert_eq!(config.shutdown.drain_timeout, 30);
            let variable = "GATEKEY_SHUTDOWN__DRAIN_TIMEOUT";
            assert_refused(jail, variable, &["0", "-1"], "shutdown.drain_timeout");
            Ok(())
        });
    }

    #[test]
    fn the_cache_staleness_bound_must_outlast_a_poll() {
        Jail::expect_with(|jail| {
            let config = load_in(jail, None, &ConfigOverrides::default()).expect("defaults");
            assert_eq!(config.cache.max_staleness_ms, 5000);
            let variable = "GATEKEY_CACHE__MAX_STALENESS_MS";
            assert_refused(
                jail,
                variable,
                &["0", "-1", "250"],
                "cache.max_staleness_ms",
            );
            jail.set_env("GATEKEY_CACHE__MAX_STALENESS_MS", "251");
            let config = load_in(jail, None, &ConfigOverrides::default()).expect("251");
            assert_eq!(config.cache.max_staleness_ms, 251);
            Ok(())
        });
    }
}
