//! Connection options: where the server is and how to authenticate to it.
//!
//! They come from a connection string in the manner of ODBC,
//!
//! ```text
//! Server=https://auth.example.com;AuthenticationMethod=ClientCredentials;ClientId=abc;ClientSecret={gk_cs_x;y}
//! ```
//!
//! or from [`ConnectionOptions::builder`]. Both run the same checks, so a [`ConnectionOptions`]
//! is always complete for its [`AuthenticationMethod`]. Secrets are held as
//! [`secrecy::SecretString`] and never appear in `Debug`, `Display` or an error.
//!
//! ```
//! use gatekey_client::{AuthenticationMethod, ConnectionOptions};
//!
//! let options: ConnectionOptions =
//!     "Server=https://auth.example.com/;ClientId=abc;ClientSecret={gk_cs_x;y}".parse()?;
//! assert_eq!(options.method(), AuthenticationMethod::ClientCredentials);
//! assert_eq!(options.server(), "https://auth.example.com");
//! assert_eq!(
//!     options.to_string(),
//!     "Server=https://auth.example.com;AuthenticationMethod=ClientCredentials;ClientId=abc;ClientSecret=***"
//! );
//! # Ok::<(), gatekey_client::ConnectionError>(())
//! ```

mod builder;
mod error;
mod parse;

use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Duration;

use secrecy::SecretString;

use crate::TokenCommand;

pub use builder::ConnectionOptionsBuilder;
pub use error::ConnectionError;

/// `RefreshSkew` when not given.
pub const DEFAULT_REFRESH_SKEW: Duration = Duration::from_secs(60);

/// How the client obtains the access token it sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AuthenticationMethod {
    /// A gatekey API key, sent as a bearer token; it does not expire.
    ApiKey,
    /// An access token obtained elsewhere (`AccessToken`), or printed by `AccessTokenCommand`
    /// whenever one is needed (RFC 6750 bearer token).
    AccessToken,
    /// Exchange an authorization code that the application obtained (RFC 6749 §4.1.3).
    AuthorizationCode,
    /// The authorization code flow with PKCE in the user's browser and a loopback redirect
    /// (RFC 7636, RFC 8252 §7.3).
    Pkce,
    /// The client credentials grant (RFC 6749 §4.4).
    ClientCredentials,
    /// Obtain access tokens with a refresh token (RFC 6749 §6).
    RefreshToken,
    /// The device authorization grant (RFC 8628).
    DeviceCode,
}

impl AuthenticationMethod {
    /// Every method, in the order the documentation lists them.
    pub const ALL: [Self; 7] = [
        Self::ApiKey,
        Self::AccessToken,
        Self::AuthorizationCode,
        Self::Pkce,
        Self::ClientCredentials,
        Self::RefreshToken,
        Self::DeviceCode,
    ];

    pub(crate) const NAMES: [&'static str; 7] = [
        "ApiKey",
        "AccessToken",
        "AuthorizationCode",
        "PKCE",
        "ClientCredentials",
        "RefreshToken",
        "DeviceCode",
    ];

    /// The canonical value of `AuthenticationMethod` (`PKCE` for [`AuthenticationMethod::Pkce`]).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::ApiKey => "ApiKey",
            Self::AccessToken => "AccessToken",
            Self::AuthorizationCode => "AuthorizationCode",
            Self::Pkce => "PKCE",
            Self::ClientCredentials => "ClientCredentials",
            Self::RefreshToken => "RefreshToken",
            Self::DeviceCode => "DeviceCode",
        }
    }

    /// Whether the method has any use for `keyword`. `Server` and `AuthenticationMethod` are
    /// always allowed; `AccessTokenCommandShell` and `AccessTokenCommandTimeout` go with
    /// `AccessTokenCommand`.
    fn allows(self, keyword: Keyword) -> bool {
        use Keyword as K;
        // What every OAuth method may use: a confidential client's secret, the scope to ask
        // for, and the token lifecycle.
        let oauth_common = matches!(
            keyword,
            K::ClientId | K::ClientSecret | K::Scope | K::TokenCache | K::RefreshSkew
        );
        match keyword {
            K::Server | K::AuthenticationMethod => true,
            _ => match self {
                Self::ApiKey => keyword == K::ApiKey,
                Self::AccessToken => {
                    oauth_common
                        || matches!(
                            keyword,
                            K::AccessToken
                                | K::AccessTokenCommand
                                | K::AccessTokenCommandShell
                                | K::AccessTokenCommandTimeout
                                | K::RefreshToken
                        )
                }
                Self::AuthorizationCode => {
                    oauth_common
                        || matches!(keyword, K::OAuthCode | K::RedirectUri | K::CodeVerifier)
                }
                Self::Pkce => oauth_common || matches!(keyword, K::RedirectUri | K::OpenBrowser),
                Self::ClientCredentials | Self::DeviceCode => oauth_common,
                Self::RefreshToken => {
                    oauth_common || matches!(keyword, K::RefreshToken | K::AccessToken)
                }
            },
        }
    }

    /// The method that the given options imply, when `AuthenticationMethod` is absent.
    fn infer(given: &[Keyword]) -> Result<Self, ConnectionError> {
        let has = |keyword| given.contains(&keyword);
        if has(Keyword::ApiKey) {
            Ok(Self::ApiKey)
        } else if has(Keyword::OAuthCode) {
            Ok(Self::AuthorizationCode)
        } else if has(Keyword::RefreshToken) {
            Ok(Self::RefreshToken)
        } else if has(Keyword::AccessToken) || has(Keyword::AccessTokenCommand) {
            Ok(Self::AccessToken)
        } else if has(Keyword::ClientId) && has(Keyword::ClientSecret) {
            Ok(Self::ClientCredentials)
        } else {
            Err(ConnectionError::CannotInferMethod)
        }
    }
}

impl fmt::Display for AuthenticationMethod {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for AuthenticationMethod {
    type Err = ConnectionError;

    /// Case-insensitive; `AccessTokenCommand` is accepted as [`AuthenticationMethod::AccessToken`].
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.trim();
        if s.eq_ignore_ascii_case("AccessTokenCommand") {
            return Ok(Self::AccessToken);
        }
        Self::ALL
            .into_iter()
            .find(|method| method.as_str().eq_ignore_ascii_case(s))
            .ok_or_else(|| {
                ConnectionError::invalid(
                    Keyword::AuthenticationMethod,
                    s,
                    format!("expected one of {}", Self::NAMES.join(", ")),
                )
            })
    }
}

/// A connection-string keyword, by its canonical name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Keyword {
    Server,
    AuthenticationMethod,
    ApiKey,
    AccessToken,
    AccessTokenCommand,
    AccessTokenCommandShell,
    AccessTokenCommandTimeout,
    RefreshToken,
    ClientId,
    ClientSecret,
    Scope,
    OAuthCode,
    RedirectUri,
    CodeVerifier,
    TokenCache,
    RefreshSkew,
    OpenBrowser,
}

impl Keyword {
    /// In the order `Display` writes them.
    const ALL: [Self; 17] = [
        Self::Server,
        Self::AuthenticationMethod,
        Self::ApiKey,
        Self::AccessToken,
        Self::AccessTokenCommand,
        Self::AccessTokenCommandShell,
        Self::AccessTokenCommandTimeout,
        Self::RefreshToken,
        Self::ClientId,
        Self::ClientSecret,
        Self::Scope,
        Self::OAuthCode,
        Self::RedirectUri,
        Self::CodeVerifier,
        Self::TokenCache,
        Self::RefreshSkew,
        Self::OpenBrowser,
    ];

    pub(crate) fn name(self) -> &'static str {
        match self {
            Self::Server => "Server",
            Self::AuthenticationMethod => "AuthenticationMethod",
            Self::ApiKey => "ApiKey",
            Self::AccessToken => "AccessToken",
            Self::AccessTokenCommand => "AccessTokenCommand",
            Self::AccessTokenCommandShell => "AccessTokenCommandShell",
            Self::AccessTokenCommandTimeout => "AccessTokenCommandTimeout",
            Self::RefreshToken => "RefreshToken",
            Self::ClientId => "ClientId",
            Self::ClientSecret => "ClientSecret",
            Self::Scope => "Scope",
            Self::OAuthCode => "OAuthCode",
            Self::RedirectUri => "RedirectURI",
            Self::CodeVerifier => "CodeVerifier",
            Self::TokenCache => "TokenCache",
            Self::RefreshSkew => "RefreshSkew",
            Self::OpenBrowser => "OpenBrowser",
        }
    }

    fn aliases(self) -> &'static [&'static str] {
        match self {
            Self::ApiKey => &["SecurityToken"],
            Self::OAuthCode => &["AuthorizationCode"],
            _ => &[],
        }
    }

    /// Whether values of this keyword are secrets, kept out of every message.
    pub(crate) fn is_secret(self) -> bool {
        matches!(
            self,
            Self::ApiKey
                | Self::AccessToken
                | Self::RefreshToken
                | Self::ClientSecret
                | Self::OAuthCode
                | Self::CodeVerifier
        )
    }

    /// The keyword named `name` or one of its aliases, ignoring ASCII case.
    pub(crate) fn lookup(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|keyword| {
            keyword.name().eq_ignore_ascii_case(name)
                || keyword
                    .aliases()
                    .iter()
                    .any(|alias| alias.eq_ignore_ascii_case(name))
        })
    }
}

/// Checked connection options: a server and everything its [`AuthenticationMethod`] needs.
///
/// Made by [`ConnectionOptions::parse`] (or `str::parse`) from a connection string, or by
/// [`ConnectionOptions::builder`]. `Display` writes a connection string that parses back to the
/// same non-secret options, with every secret written as `***`; `Debug` shows no secret either.
#[derive(Clone)]
pub struct ConnectionOptions {
    server: String,
    method: AuthenticationMethod,
    api_key: Option<SecretString>,
    access_token: Option<SecretString>,
    access_token_command: Option<TokenCommand>,
    refresh_token: Option<SecretString>,
    client_id: Option<String>,
    client_secret: Option<SecretString>,
    scope: Option<String>,
    oauth_code: Option<SecretString>,
    redirect_uri: Option<String>,
    code_verifier: Option<SecretString>,
    token_cache: Option<PathBuf>,
    refresh_skew: Duration,
    open_browser: bool,
}

impl ConnectionOptions {
    /// Starts options for the server at `server` (checked by
    /// [`build`](ConnectionOptionsBuilder::build)).
    pub fn builder(server: &str) -> ConnectionOptionsBuilder {
        ConnectionOptionsBuilder::new(server)
    }

    /// The server's base URL (`Server`): http or https, without a trailing slash, so that
    /// `format!("{}{path}", options.server())` with `path = "/api/v1/me"` is a URL.
    pub fn server(&self) -> &str {
        &self.server
    }

    /// How the client authenticates (`AuthenticationMethod`, given or inferred).
    pub fn method(&self) -> AuthenticationMethod {
        self.method
    }

    /// `ApiKey` (alias `SecurityToken`).
    pub fn api_key(&self) -> Option<&SecretString> {
        self.api_key.as_ref()
    }

    /// `AccessToken`: a token obtained elsewhere, used first.
    pub fn access_token(&self) -> Option<&SecretString> {
        self.access_token.as_ref()
    }

    /// `AccessTokenCommand` with its `AccessTokenCommandShell` and `AccessTokenCommandTimeout`.
    pub fn access_token_command(&self) -> Option<&TokenCommand> {
        self.access_token_command.as_ref()
    }

    /// `RefreshToken`.
    pub fn refresh_token(&self) -> Option<&SecretString> {
        self.refresh_token.as_ref()
    }

    /// `ClientId`.
    pub fn client_id(&self) -> Option<&str> {
        self.client_id.as_deref()
    }

    /// `ClientSecret`.
    pub fn client_secret(&self) -> Option<&SecretString> {
        self.client_secret.as_ref()
    }

    /// `Scope`: space-separated scopes, with runs of whitespace made single spaces.
    pub fn scope(&self) -> Option<&str> {
        self.scope.as_deref()
    }

    /// `OAuthCode` (alias `AuthorizationCode`): an authorization code to exchange.
    pub fn oauth_code(&self) -> Option<&SecretString> {
        self.oauth_code.as_ref()
    }

    /// `RedirectURI`, exactly as given (the token request must repeat it byte for byte,
    /// RFC 6749 §4.1.3).
    pub fn redirect_uri(&self) -> Option<&str> {
        self.redirect_uri.as_deref()
    }

    /// `CodeVerifier`: the PKCE verifier that goes with `OAuthCode` (RFC 7636 §4.5).
    pub fn code_verifier(&self) -> Option<&SecretString> {
        self.code_verifier.as_ref()
    }

    /// `TokenCache`: the file that keeps tokens between runs.
    pub fn token_cache(&self) -> Option<&Path> {
        self.token_cache.as_deref()
    }

    /// `RefreshSkew`: how long before expiry a token is replaced (60 s unless given).
    pub fn refresh_skew(&self) -> Duration {
        self.refresh_skew
    }

    /// `OpenBrowser`: whether the PKCE flow opens the system browser (true unless given) or only
    /// prints the URL.
    pub fn open_browser(&self) -> bool {
        self.open_browser
    }
}

/// Writes `;Keyword=value` (no `;` before `Server`, the first), bracing the value when it could not be read back otherwise.
fn write_pair(f: &mut fmt::Formatter<'_>, keyword: Keyword, value: &str) -> fmt::Result {
    let needs_braces = value.is_empty()
        || value.starts_with(char::is_whitespace)
        || value.ends_with(char::is_whitespace)
        || value.contains([';', '=', '{', '}', ' '])
        || value.contains(char::is_control);
    if keyword != Keyword::Server {
        f.write_str(";")?;
    }
    f.write_str(keyword.name())?;
    f.write_str("=")?;
    if needs_braces {
        write!(f, "{{{}}}", value.replace('}', "}}"))
    } else {
        f.write_str(value)
    }
}

impl fmt::Display for ConnectionOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_pair(f, Keyword::Server, &self.server)?;
        write_pair(f, Keyword::AuthenticationMethod, self.method.as_str())?;
        let secrets = [
            (Keyword::ApiKey, &self.api_key),
            (Keyword::AccessToken, &self.access_token),
        ];
        for (keyword, secret) in secrets {
            if secret.is_some() {
                write_pair(f, keyword, "***")?;
            }
        }
        if let Some(command) = &self.access_token_command {
            write_pair(f, Keyword::AccessTokenCommand, &command.command_line())?;
            if command.is_shell() {
                write_pair(f, Keyword::AccessTokenCommandShell, "true")?;
            }
            if command.timeout() != crate::command::DEFAULT_TIMEOUT {
                let secs = command.timeout().as_secs().to_string();
                write_pair(f, Keyword::AccessTokenCommandTimeout, &secs)?;
            }
        }
        if self.refresh_token.is_some() {
            write_pair(f, Keyword::RefreshToken, "***")?;
        }
        if let Some(client_id) = &self.client_id {
            write_pair(f, Keyword::ClientId, client_id)?;
        }
        if self.client_secret.is_some() {
            write_pair(f, Keyword::ClientSecret, "***")?;
        }
        if let Some(scope) = &self.scope {
            write_pair(f, Keyword::Scope, scope)?;
        }
        if self.oauth_code.is_some() {
            write_pair(f, Keyword::OAuthCode, "***")?;
        }
        if let Some(redirect_uri) = &self.redirect_uri {
            write_pair(f, Keyword::RedirectUri, redirect_uri)?;
        }
        if self.code_verifier.is_some() {
            write_pair(f, Keyword::CodeVerifier, "***")?;
        }
        if let Some(path) = &self.token_cache {
            write_pair(f, Keyword::TokenCache, &path.to_string_lossy())?;
        }
        if self.refresh_skew != DEFAULT_REFRESH_SKEW {
            let secs = self.refresh_skew.as_secs().to_string();
            write_pair(f, Keyword::RefreshSkew, &secs)?;
        }
        if !self.open_browser {
            write_pair(f, Keyword::OpenBrowser, "false")?;
        }
        Ok(())
    }
}

/// Stands in for a secret in `Debug` output.
struct Redacted;

impl fmt::Debug for Redacted {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

fn redacted(secret: &Option<SecretString>) -> Option<Redacted> {
    secret.as_ref().map(|_| Redacted)
}

impl fmt::Debug for ConnectionOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ConnectionOptions")
            .field("server", &self.server)
            .field("method", &self.method)
            .field("api_key", &redacted(&self.api_key))
            .field("access_token", &redacted(&self.access_token))
            .field("access_token_command", &self.access_token_command)
            .field("refresh_token", &redacted(&self.refresh_token))
            .field("client_id", &self.client_id)
            .field("client_secret", &redacted(&self.client_secret))
            .field("scope", &self.scope)
            .field("oauth_code", &redacted(&self.oauth_code))
            .field("redirect_uri", &self.redirect_uri)
            .field("code_verifier", &redacted(&self.code_verifier))
            .field("token_cache", &self.token_cache)
            .field("refresh_skew", &self.refresh_skew)
            .field("open_browser", &self.open_browser)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use secrecy::ExposeSecret;

    const VERIFIER: &str = "gk_cv_0123456789abcdefghijklmnopqrstuvwxyzABCD";

    /// Options of every method, each with every secret it allows, and the secrets used.
    fn options_with_secrets() -> Vec<ConnectionOptions> {
        let server = "https://auth.example.com";
        [
            format!("Server={server};ApiKey=gk_key_s1"),
            format!(
                "Server={server};AuthenticationMethod=AccessToken;AccessToken=gk_at_s2;RefreshToken=gk_rt_s3;ClientId=app;\
                 ClientSecret={{gk_cs_s4;x}};AccessTokenCommand=echo hi"
            ),
            format!(
                "Server={server};OAuthCode=gk_code_s5;CodeVerifier={VERIFIER};ClientId=app;\
                 ClientSecret=gk_cs_s6;RedirectURI=https://app.example.com/cb"
            ),
            format!(
                "Server={server};AuthenticationMethod=PKCE;ClientId=app;ClientSecret=gk_cs_s7"
            ),
            format!("Server={server};ClientId=app;ClientSecret=gk_cs_s8;Scope=read"),
            format!(
                "Server={server};RefreshToken=gk_rt_s9;AccessToken=gk_at_s10;ClientId=app;\
                 ClientSecret=gk_cs_s11"
            ),
            format!(
                "Server={server};AuthenticationMethod=DeviceCode;ClientId=app;\
                 ClientSecret=gk_cs_s12"
            ),
        ]
        .iter()
        .map(|s| s.parse().unwrap())
        .collect()
    }

    const SECRETS: [&str; 13] = [
        "gk_key_s1",
        "gk_at_s2",
        "gk_rt_s3",
        "gk_cs_s4",
        "gk_code_s5",
        "gk_cs_s6",
        "gk_cs_s7",
        "gk_cs_s8",
        "gk_rt_s9",
        "gk_at_s10",
        "gk_cs_s11",
        "gk_cs_s12",
        VERIFIER,
    ];

    #[test]
    fn debug_and_display_show_no_secret() {
        let all = options_with_secrets();
        assert_eq!(all.len(), AuthenticationMethod::ALL.len());
        for options in all {
            let shown = format!("{options:?}\n{options:#?}\n{options}");
            for secret in SECRETS {
                assert!(!shown.contains(secret), "{secret} in {shown}");
            }
            assert!(shown.contains("***"), "{shown}");
        }
    }

    #[test]
    fn builder_secrets_are_not_shown_either() {
        let builder = ConnectionOptions::builder("https://auth.example.com")
            .client_id("app")
            .client_secret("gk_cs_builder");
        assert!(!format!("{builder:?}").contains("gk_cs_builder"));
        let options = builder.build().unwrap();
        assert_eq!(
            options.client_secret().unwrap().expose_secret(),
            "gk_cs_builder"
        );
        assert!(!format!("{options:?}{options}").contains("gk_cs_builder"));
    }

    #[test]
    fn display_round_trips_the_non_secret_options() {
        let inputs = [
            "server = http://127.0.0.1:8080/ ; clientid={my app;v=2 {beta}}}; \
             scope=  read   write ; AuthenticationMethod=pkce; RedirectURI=http://127.0.0.1:53682/cb; \
             TokenCache={/home/me/my cache.json}; RefreshSkew=120; OpenBrowser=no",
            "Server=https://auth.example.com/gk;AccessTokenCommand={vault read -field=token \"secret/a b\"};\
             AccessTokenCommandTimeout=5",
            "Server=https://auth.example.com;AccessTokenCommand={printf '%s' \"$TOKEN\" | tr -d '}}'};\
             AccessTokenCommandShell=yes",
            "Server=https://auth.example.com;AuthenticationMethod=DeviceCode;ClientId=cli",
        ];
        for input in inputs {
            let options = ConnectionOptions::parse(input).unwrap();
            let written = options.to_string();
            let again = ConnectionOptions::parse(&written).unwrap();
            assert_eq!(again.to_string(), written);
            assert_eq!(again.server(), options.server());
            assert_eq!(again.method(), options.method());
            assert_eq!(again.client_id(), options.client_id());
            assert_eq!(again.scope(), options.scope());
            assert_eq!(again.redirect_uri(), options.redirect_uri());
            assert_eq!(again.access_token_command(), options.access_token_command());
            assert_eq!(again.token_cache(), options.token_cache());
            assert_eq!(again.refresh_skew(), options.refresh_skew());
            assert_eq!(again.open_browser(), options.open_browser());
        }
        let options = ConnectionOptions::parse(inputs[0]).unwrap();
        assert_eq!(
            options.to_string(),
            "Server=http://127.0.0.1:8080;AuthenticationMethod=PKCE;ClientId={my app;v=2 {beta}}};\
             Scope={read write};RedirectURI=http://127.0.0.1:53682/cb;\
             TokenCache={/home/me/my cache.json};RefreshSkew=120;OpenBrowser=false"
        );
        assert_eq!(options.client_id(), Some("my app;v=2 {beta}"));
        assert_eq!(options.scope(), Some("read write"));
    }

    #[test]
    fn method_names_parse_back() {
        for method in AuthenticationMethod::ALL {
            assert_eq!(
                method.to_string().parse::<AuthenticationMethod>(),
                Ok(method)
            );
            let lower = method.to_string().to_lowercase();
            assert_eq!(lower.parse::<AuthenticationMethod>(), Ok(method));
        }
        assert_eq!(AuthenticationMethod::Pkce.to_string(), "PKCE");
        assert_eq!(
            "accesstokencommand".parse::<AuthenticationMethod>(),
            Ok(AuthenticationMethod::AccessToken)
        );
        let err = "OAuth2".parse::<AuthenticationMethod>().unwrap_err();
        let message = err.to_string();
        assert!(message.contains("AuthenticationMethod"), "{message}");
        assert!(message.contains("\"OAuth2\""), "{message}");
        assert!(message.contains("ClientCredentials"), "{message}");
    }

    #[test]
    fn every_keyword_and_alias_is_found_in_any_case() {
        for keyword in Keyword::ALL {
            assert_eq!(Keyword::lookup(keyword.name()), Some(keyword));
            assert_eq!(
                Keyword::lookup(&keyword.name().to_uppercase()),
                Some(keyword)
            );
            for alias in keyword.aliases() {
                assert_eq!(Keyword::lookup(&alias.to_lowercase()), Some(keyword));
            }
        }
        assert_eq!(Keyword::lookup("Foo"), None);
    }
}
