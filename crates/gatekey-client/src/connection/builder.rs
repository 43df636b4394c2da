//! Connection options built in code, and the checks that every [`ConnectionOptions`] passes.

use std::net::{Ipv4Addr, Ipv6Addr};
use std::path::PathBuf;
use std::time::Duration;

use gatekey_proto::pkce::is_well_formed_verifier;
use secrecy::{ExposeSecret, SecretString};
use url::{Host, Url};

use super::{AuthenticationMethod, ConnectionError, ConnectionOptions, Keyword};
use crate::TokenCommand;

/// The largest `RefreshSkew`: a day.
const MAX_REFRESH_SKEW: Duration = Duration::from_secs(86_400);
/// The bounds of `AccessTokenCommandTimeout`: a second to an hour.
const MIN_COMMAND_TIMEOUT: Duration = Duration::from_secs(1);
const MAX_COMMAND_TIMEOUT: Duration = Duration::from_secs(3600);

/// Builds [`ConnectionOptions`] in code, one setter per connection-string keyword.
///
/// [`build`](Self::build) runs the same checks as the connection-string parser. Secrets are held
/// as [`SecretString`] from the moment they are set, so `Debug` shows none.
///
/// ```
/// use gatekey_client::{AuthenticationMethod, ConnectionOptions};
///
/// let options = ConnectionOptions::builder("https://auth.example.com")
///     .method(AuthenticationMethod::Pkce)
///     .client_id("cli")
///     .scope("read write")
///     .build()?;
/// assert!(options.open_browser());
/// # Ok::<(), gatekey_client::ConnectionError>(())
/// ```
#[derive(Debug, Clone, Default)]
#[must_use]
pub struct ConnectionOptionsBuilder {
    pub(super) server: Option<String>,
    pub(super) method: Option<AuthenticationMethod>,
    pub(super) api_key: Option<SecretString>,
    pub(super) access_token: Option<SecretString>,
    pub(super) access_token_command: Option<TokenCommand>,
    pub(super) refresh_token: Option<SecretString>,
    pub(super) client_id: Option<String>,
    pub(super) client_secret: Option<SecretString>,
    pub(super) scope: Option<String>,
    pub(super) oauth_code: Option<SecretString>,
    pub(super) redirect_uri: Option<String>,
    pub(super) code_verifier: Option<SecretString>,
    pub(super) token_cache: Option<PathBuf>,
    pub(super) refresh_skew: Option<Duration>,
    pub(super) open_browser: Option<bool>,
}

impl ConnectionOptionsBuilder {
    /// Options for the server whose base URL is `server` (`Server`).
    pub fn new(server: &str) -> Self {
        Self {
            server: Some(server.to_owned()),
            ..Self::default()
        }
    }

    /// `AuthenticationMethod`; inferred from the other options when not set.
    pub fn method(mut self, method: AuthenticationMethod) -> Self {
        self.method = Some(method);
        self
    }

    /// `ApiKey`.
    pub fn api_key(mut self, api_key: impl Into<String>) -> Self {
        self.api_key = Some(SecretString::from(api_key.into()));
        self
    }

    /// `AccessToken`.
    pub fn access_token(mut self, access_token: impl Into<String>) -> Self {
        self.access_token = Some(SecretString::from(access_token.into()));
        self
    }

    /// `AccessTokenCommand` (with its shell flag and timeout inside the [`TokenCommand`]).
    pub fn access_token_command(mut self, command: TokenCommand) -> Self {
        self.access_token_command = Some(command);
        self
    }

    /// `RefreshToken`.
    pub fn refresh_token(mut self, refresh_token: impl Into<String>) -> Self {
        self.refresh_token = Some(SecretString::from(refresh_token.into()));
        self
    }

    /// `ClientId`.
    pub fn client_id(mut self, client_id: impl Into<String>) -> Self {
        self.client_id = Some(client_id.into());
        self
    }

    /// `ClientSecret`.
    pub fn client_secret(mut self, client_secret: impl Into<String>) -> Self {
        self.client_secret = Some(SecretString::from(client_secret.into()));
        self
    }

    /// `Scope`: space-separated scopes.
    pub fn scope(mut self, scope: impl Into<String>) -> Self {
        self.scope = Some(scope.into());
        self
    }

    /// `OAuthCode`: an authorization code obtained by the application.
    pub fn oauth_code(mut self, code: impl Into<String>) -> Self {
        self.oauth_code = Some(SecretString::from(code.into()));
        self
    }

    /// `RedirectURI`.
    pub fn redirect_uri(mut self, redirect_uri: impl Into<String>) -> Self {
        self.redirect_uri = Some(redirect_uri.into());
        self
    }

    /// `CodeVerifier`: the PKCE verifier that goes with `OAuthCode`.
    pub fn code_verifier(mut self, code_verifier: impl Into<String>) -> Self {
        self.code_verifier = Some(SecretString::from(code_verifier.into()));
        self
    }

    /// `TokenCache`: the file that keeps tokens between runs.
    pub fn token_cache(mut self, path: impl Into<PathBuf>) -> Self {
        self.token_cache = Some(path.into());
        self
    }

    /// `RefreshSkew`: at most a day.
    pub fn refresh_skew(mut self, skew: Duration) -> Self {
        self.refresh_skew = Some(skew);
        self
    }

    /// `OpenBrowser` (PKCE only).
    pub fn open_browser(mut self, open: bool) -> Self {
        self.open_browser = Some(open);
        self
    }

    /// The keywords that were set, in [`Keyword::ALL`] order.
    fn given(&self) -> Vec<Keyword> {
        let set = [
            (Keyword::ApiKey, self.api_key.is_some()),
            (Keyword::AccessToken, self.access_token.is_some()),
            (
                Keyword::AccessTokenCommand,
                self.access_token_command.is_some(),
            ),
            (Keyword::RefreshToken, self.refresh_token.is_some()),
            (Keyword::ClientId, self.client_id.is_some()),
            (Keyword::ClientSecret, self.client_secret.is_some()),
            (Keyword::Scope, self.scope.is_some()),
            (Keyword::OAuthCode, self.oauth_code.is_some()),
            (Keyword::RedirectUri, self.redirect_uri.is_some()),
            (Keyword::CodeVerifier, self.code_verifier.is_some()),
            (Keyword::TokenCache, self.token_cache.is_some()),
            (Keyword::RefreshSkew, self.refresh_skew.is_some()),
            (Keyword::OpenBrowser, self.open_browser.is_some()),
        ];
        set.into_iter()
            .filter_map(|(keyword, is_set)| is_set.then_some(keyword))
            .collect()
    }

    /// Checks the options and makes [`ConnectionOptions`].
    ///
    /// Fails, naming the keyword, when `Server` is missing or not an http(s) base URL, when the
    /// method cannot be inferred, when the method lacks an option it needs or was given one it
    /// cannot use, or when a value is malformed.
    pub fn build(self) -> Result<ConnectionOptions, ConnectionError> {
        let server = match self.server.as_deref().map(str::trim) {
            None | Some("") => return Err(ConnectionError::MissingServer),
            Some(server) => base_url(server)?,
        };
        let given = self.given();
        let method = match self.method {
            Some(method) => method,
            None => AuthenticationMethod::infer(&given)?,
        };
        if let Some(&keyword) = given.iter().find(|&&keyword| !method.allows(keyword)) {
            return Err(ConnectionError::NotApplicable {
                keyword: keyword.name(),
                method,
            });
        }
        self.check_required(method)?;

        for (keyword, secret) in [
            (Keyword::ApiKey, &self.api_key),
            (Keyword::AccessToken, &self.access_token),
        ] {
            check_bearer(keyword, secret.as_ref())?;
        }
        for (keyword, secret) in [
            (Keyword::RefreshToken, &self.refresh_token),
            (Keyword::ClientSecret, &self.client_secret),
            (Keyword::OAuthCode, &self.oauth_code),
        ] {
            check_not_empty(keyword, secret.as_ref())?;
        }
        if let Some(verifier) = &self.code_verifier {
            check_code_verifier(verifier)?;
        }
        if let Some(client_id) = &self.client_id {
            check_client_id(client_id)?;
        }
        let scope = self.scope.as_deref().map(normalize_scope).transpose()?;
        if let Some(redirect_uri) = &self.redirect_uri {
            check_redirect_uri(redirect_uri.trim(), method)?;
        }
        if let Some(path) = &self.token_cache {
            if path.as_os_str().is_empty() {
                return Err(ConnectionError::invalid(
                    Keyword::TokenCache,
                    "",
                    "expected a file path",
                ));
            }
        }
        let refresh_skew = self.refresh_skew.unwrap_or(super::DEFAULT_REFRESH_SKEW);
        if refresh_skew > MAX_REFRESH_SKEW {
            return Err(ConnectionError::invalid(
                Keyword::RefreshSkew,
                &refresh_skew.as_secs().to_string(),
                "expected a whole number of seconds from 0 to 86400",
            ));
        }
        if let Some(command) = &self.access_token_command {
            let timeout = command.timeout();
            if !(MIN_COMMAND_TIMEOUT..=MAX_COMMAND_TIMEOUT).contains(&timeout) {
                return Err(ConnectionError::invalid(
                    Keyword::AccessTokenCommandTimeout,
                    &format!("{}", timeout.as_secs_f64()),
                    "expected a whole number of seconds from 1 to 3600",
                ));
            }
        }

        Ok(ConnectionOptions {
            server,
            method,
            api_key: self.api_key,
            access_token: self.access_token,
            access_token_command: self.access_token_command,
            refresh_token: self.refresh_token,
            client_id: self.client_id,
            client_secret: self.client_secret,
            scope,
            oauth_code: self.oauth_code,
            redirect_uri: self.redirect_uri.map(|uri| uri.trim().to_owned()),
            code_verifier: self.code_verifier,
            token_cache: self.token_cache,
            refresh_skew,
            open_browser: self.open_browser.unwrap_or(true),
        })
    }

    /// Fails on the first option that `method` needs and is absent.
    fn check_required(&self, method: AuthenticationMethod) -> Result<(), ConnectionError> {
        let needs = |keyword: &'static str, present: bool| {
            if present {
                Ok(())
            } else {
                Err(ConnectionError::Missing {
                    keyword,
                    needed_by: format!("AuthenticationMethod={method}"),
                })
            }
        };
        let client_id = self.client_id.is_some();
        match method {
            AuthenticationMethod::ApiKey => needs("ApiKey", self.api_key.is_some()),
            AuthenticationMethod::AccessToken => {
                needs(
                    "AccessToken or AccessTokenCommand",
                    self.access_token.is_some() || self.access_token_command.is_some(),
                )?;
                // A refresh token is redeemed by its client (RFC 6749 §6).
                if self.refresh_token.is_some() && !client_id {
                    return Err(ConnectionError::Missing {
                        keyword: "ClientId",
                        needed_by: "RefreshToken".to_owned(),
                    });
                }
                Ok(())
            }
            AuthenticationMethod::AuthorizationCode => {
                needs("OAuthCode", self.oauth_code.is_some())?;
                needs("RedirectURI", self.redirect_uri.is_some())?;
                needs("ClientId", client_id)
            }
            AuthenticationMethod::ClientCredentials => {
                needs("ClientId", client_id)?;
                needs("ClientSecret", self.client_secret.is_some())
            }
            AuthenticationMethod::RefreshToken => {
                needs("RefreshToken", self.refresh_token.is_some())?;
                needs("ClientId", client_id)
            }
            AuthenticationMethod::Pkce | AuthenticationMethod::DeviceCode => {
                needs("ClientId", client_id)
            }
        }
    }
}

/// `Server` as a base URL without a trailing slash.
fn base_url(server: &str) -> Result<String, ConnectionError> {
    let invalid = |reason: &str| ConnectionError::invalid(Keyword::Server, server, reason);
    let url = Url::parse(server).map_err(|e| invalid(&format!("not a URL ({e})")))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(invalid("expected an http:// or https:// URL"));
    }
    if !url.username().is_empty() || url.password().is_some() {
        // The value is not repeated: what sits before the "@" may be a password.
        return Err(ConnectionError::InvalidValue {
            keyword: Keyword::Server.name(),
            value: None,
            reason: "must not contain a user name or password".to_owned(),
        });
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(invalid(
            "expected a base URL without a query (?…) or fragment (#…)",
        ));
    }
    Ok(url.as_str().trim_end_matches('/').to_owned())
}

/// API keys and access tokens go into an `Authorization` header (RFC 6750 §2.1).
fn check_bearer(keyword: Keyword, secret: Option<&SecretString>) -> Result<(), ConnectionError> {
    check_not_empty(keyword, secret)?;
    match secret {
        Some(secret) if !secret.expose_secret().bytes().all(|b| b.is_ascii_graphic()) => {
            Err(ConnectionError::invalid(
                keyword,
                "",
                "expected visible ASCII characters only (no spaces or line breaks)",
            ))
        }
        _ => Ok(()),
    }
}

fn check_not_empty(keyword: Keyword, secret: Option<&SecretString>) -> Result<(), ConnectionError> {
    match secret {
        Some(secret) if secret.expose_secret().trim().is_empty() => {
            Err(ConnectionError::invalid(keyword, "", "must not be empty"))
        }
        _ => Ok(()),
    }
}

/// RFC 7636 §4.1: 43 to 128 characters of `[A-Z] / [a-z] / [0-9] / "-" / "." / "_" / "~"`.
fn check_code_verifier(verifier: &SecretString) -> Result<(), ConnectionError> {
    let verifier = verifier.expose_secret();
    if is_well_formed_verifier(verifier) {
        Ok(())
    } else {
        Err(ConnectionError::invalid(
            Keyword::CodeVerifier,
            verifier,
            "expected 43 to 128 characters of A-Z a-z 0-9 - . _ ~ (RFC 7636 §4.1)",
        ))
    }
}

/// RFC 6749 Appendix A.1: `client-id = *VSCHAR`, printable ASCII including space.
fn check_client_id(client_id: &str) -> Result<(), ConnectionError> {
    if client_id.trim().is_empty() {
        return Err(ConnectionError::invalid(
            Keyword::ClientId,
            client_id,
            "must not be empty",
        ));
    }
    if !client_id.bytes().all(|b| (0x20..=0x7e).contains(&b)) {
        return Err(ConnectionError::invalid(
            Keyword::ClientId,
            client_id,
            "expected printable ASCII characters (RFC 6749 Appendix A.1)",
        ));
    }
    Ok(())
}

/// RFC 6749 §3.3: scope tokens of `%x21 / %x23-5B / %x5D-7E`, separated by single spaces.
fn normalize_scope(scope: &str) -> Result<String, ConnectionError> {
    let tokens: Vec<&str> = scope.split_whitespace().collect();
    if tokens.is_empty() {
        return Err(ConnectionError::invalid(
            Keyword::Scope,
            scope,
            "expected at least one scope",
        ));
    }
    let is_scope_char =
        |b: u8| b == 0x21 || (0x23..=0x5b).contains(&b) || (0x5d..=0x7e).contains(&b);
    if !tokens.iter().all(|token| token.bytes().all(is_scope_char)) {
        return Err(ConnectionError::invalid(
            Keyword::Scope,
            scope,
            "expected space-separated scopes of printable ASCII without \" or \\ (RFC 6749 §3.3)",
        ));
    }
    Ok(tokens.join(" "))
}

/// An absolute URL without a fragment (RFC 6749 §3.1.2); for PKCE, a loopback one on an
/// explicit port that the client can listen on (RFC 8252 §7.3).
fn check_redirect_uri(uri: &str, method: AuthenticationMethod) -> Result<(), ConnectionError> {
    let invalid = |reason: &str| ConnectionError::invalid(Keyword::RedirectUri, uri, reason);
    let url = Url::parse(uri).map_err(|e| invalid(&format!("not an absolute URL ({e})")))?;
    if url.fragment().is_some() {
        return Err(invalid("must not contain a fragment (#…)"));
    }
    if method == AuthenticationMethod::Pkce {
        let loopback = matches!(
            url.host(),
            Some(Host::Ipv4(ip)) if ip == Ipv4Addr::LOCALHOST
        ) || matches!(url.host(), Some(Host::Ipv6(ip)) if ip == Ipv6Addr::LOCALHOST);
        if url.scheme() != "http" || !loopback || url.port().is_none() {
            return Err(invalid(
                "PKCE listens on a loopback address: expected http://127.0.0.1:PORT/… or \
                 http://[::1]:PORT/…, or no RedirectURI for a random port",
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const SERVER: &str = "https://auth.example.com";

    fn error_of(connection_string: &str) -> String {
        let full = format!("Server={SERVER};{connection_string}");
        match ConnectionOptions::parse(&full) {
            Ok(options) => panic!("{connection_string:?} was accepted: {options:?}"),
            Err(err) => err.to_string(),
        }
    }

    #[test]
    fn each_method_names_the_option_it_lacks() {
        let cases = [
            ("AuthenticationMethod=ApiKey", "AuthenticationMethod=ApiKey needs ApiKey"),
            (
                "AuthenticationMethod=AccessToken",
                "AuthenticationMethod=AccessToken needs AccessToken or AccessTokenCommand",
            ),
            (
                "AuthenticationMethod=AuthorizationCode;RedirectURI=https://a.example/cb;ClientId=x",
                "AuthenticationMethod=AuthorizationCode needs OAuthCode",
            ),
            (
                "OAuthCode=c;ClientId=x",
                "AuthenticationMethod=AuthorizationCode needs RedirectURI",
            ),
            (
                "OAuthCode=c;RedirectURI=https://a.example/cb",
                "AuthenticationMethod=AuthorizationCode needs ClientId",
            ),
            ("AuthenticationMethod=PKCE", "AuthenticationMethod=PKCE needs ClientId"),
            (
                "AuthenticationMethod=ClientCredentials;ClientSecret=s",
                "AuthenticationMethod=ClientCredentials needs ClientId",
            ),
            (
                "AuthenticationMethod=ClientCredentials;ClientId=x",
                "AuthenticationMethod=ClientCredentials needs ClientSecret",
            ),
            (
                "AuthenticationMethod=RefreshToken;ClientId=x",
                "AuthenticationMethod=RefreshToken needs RefreshToken",
            ),
            ("RefreshToken=r", "AuthenticationMethod=RefreshToken needs ClientId"),
            (
                "AuthenticationMethod=AccessToken;AccessToken=a;RefreshToken=r",
                "RefreshToken needs ClientId",
            ),
            ("AuthenticationMethod=DeviceCode", "AuthenticationMethod=DeviceCode needs ClientId"),
        ];
        for (input, expected) in cases {
            assert_eq!(error_of(input), expected, "for {input:?}");
        }
        let err = ConnectionOptions::parse("ApiKey=k").unwrap_err();
        assert_eq!(err, ConnectionError::MissingServer);
        assert!(err.to_string().contains("Server"));
    }

    #[test]
    fn an_option_the_method_cannot_use_is_named() {
        let cases = [
            (
                "ApiKey=k;ClientId=x;ClientSecret=s",
                "ClientId cannot be used with AuthenticationMethod=ApiKey",
            ),
            (
                "AuthenticationMethod=ClientCredentials;ApiKey=k;ClientId=x;ClientSecret=s",
                "ApiKey cannot be used with AuthenticationMethod=ClientCredentials",
            ),
            (
                "ApiKey=k;RefreshSkew=10",
                "RefreshSkew cannot be used with AuthenticationMethod=ApiKey",
            ),
            (
                "ApiKey=k;TokenCache=/tmp/t",
                "TokenCache cannot be used with AuthenticationMethod=ApiKey",
            ),
            (
                "ClientId=x;ClientSecret=s;OpenBrowser=false",
                "OpenBrowser cannot be used with AuthenticationMethod=ClientCredentials",
            ),
            (
                "ClientId=x;ClientSecret=s;RedirectURI=https://a.example/cb",
                "RedirectURI cannot be used with AuthenticationMethod=ClientCredentials",
            ),
            (
                "AuthenticationMethod=DeviceCode;ClientId=x;AccessToken=a",
                "AccessToken cannot be used with AuthenticationMethod=DeviceCode",
            ),
            (
                "RefreshToken=r;ClientId=x;AccessTokenCommand=echo a",
                "AccessTokenCommand cannot be used with AuthenticationMethod=RefreshToken",
            ),
            (
                "AuthenticationMethod=PKCE;ClientId=x;CodeVerifier=v",
                "CodeVerifier cannot be used with AuthenticationMethod=PKCE",
            ),
            (
                "OAuthCode=c;ClientId=x;RedirectURI=https://a.example/cb;OpenBrowser=true",
                "OpenBrowser cannot be used with AuthenticationMethod=AuthorizationCode",
            ),
        ];
        for (input, expected) in cases {
            assert_eq!(error_of(input), expected, "for {input:?}");
        }
    }

    #[test]
    fn oauth_methods_accept_their_optional_options() {
        let accepted = [
            "AccessToken=a;RefreshToken=r;ClientId=x;ClientSecret=s;Scope=read;TokenCache=t;RefreshSkew=0",
            "AccessToken=a;AccessTokenCommand=echo b",
            "RefreshToken=r;AccessToken=a;ClientId=x;Scope=read;TokenCache=t",
            "OAuthCode=c;ClientId=x;ClientSecret=s;RedirectURI=https://a.example/cb;\
             CodeVerifier=0123456789012345678901234567890123456789abc;TokenCache=t",
            "AuthenticationMethod=PKCE;ClientId=x;RedirectURI=http://[::1]:8400/;OpenBrowser=0",
            "AuthenticationMethod=PKCE;ClientId=x;ClientSecret=s;Scope=a b;RefreshSkew=86400",
            "AuthenticationMethod=DeviceCode;ClientId=x;ClientSecret=s;Scope=a;TokenCache=t",
        ];
        for input in accepted {
            let full = format!("Server={SERVER};{input}");
            if let Err(err) = ConnectionOptions::parse(&full) {
                panic!("{input:?} was refused: {err}");
            }
        }
    }

    #[test]
    fn malformed_values_are_named_and_shown_unless_secret() {
        let cases = [
            ("Server=ftp://auth.example.com;ApiKey=k", "Server", Some("ftp://auth.example.com")),
            ("Server=auth.example.com;ApiKey=k", "Server", Some("auth.example.com")),
            ("Server=https://a.example/?x=1;ApiKey=k", "Server", Some("https://a.example/?x=1")),
            ("Server=https://a.example/#top;ApiKey=k", "Server", Some("https://a.example/#top")),
            (
                "Server=https://me:gk_pw_hidden@a.example/;ApiKey=k",
                "Server",
                None,
            ),
            ("Server=https://a.example;ClientId={};AuthenticationMethod=PKCE", "ClientId", Some("")),
            ("Server=https://a.example;ClientId=x;ClientSecret=s;Scope={ }", "Scope", Some(" ")),
            (
                "Server=https://a.example;ClientId=x;ClientSecret=s;Scope=a\"b",
                "Scope",
                Some("a\"b"),
            ),
            (
                "Server=https://a.example;OAuthCode=c;ClientId=x;RedirectURI=/cb",
                "RedirectURI",
                Some("/cb"),
            ),
            (
                "Server=https://a.example;OAuthCode=c;ClientId=x;RedirectURI=https://a.example/cb#f",
                "RedirectURI",
                Some("https://a.example/cb#f"),
            ),
            (
                "Server=https://a.example;AuthenticationMethod=PKCE;ClientId=x;\
                 RedirectURI=http://localhost:8400/",
                "RedirectURI",
                Some("http://localhost:8400/"),
            ),
            (
                "Server=https://a.example;AuthenticationMethod=PKCE;ClientId=x;\
                 RedirectURI=http://127.0.0.1/cb",
                "RedirectURI",
                Some("http://127.0.0.1/cb"),
            ),
            (
                "Server=https://a.example;AuthenticationMethod=PKCE;ClientId=x;\
                 RedirectURI=https://127.0.0.1:8400/cb",
                "RedirectURI",
                Some("https://127.0.0.1:8400/cb"),
            ),
            ("Server=https://a.example;ApiKey={gk_key with space}", "ApiKey", None),
            ("Server=https://a.example;ApiKey={}", "ApiKey", None),
            ("Server=https://a.example;AccessToken={gk_at_\tx}", "AccessToken", None),
            ("Server=https://a.example;RefreshToken={  };ClientId=x", "RefreshToken", None),
            ("Server=https://a.example;ClientId=x;ClientSecret={}", "ClientSecret", None),
            (
                "Server=https://a.example;OAuthCode={};ClientId=x;RedirectURI=https://a.example/cb",
                "OAuthCode",
                None,
            ),
            (
                "Server=https://a.example;OAuthCode=c;ClientId=x;RedirectURI=https://a.example/cb;\
                 CodeVerifier=gk_cv_too_short",
                "CodeVerifier",
                None,
            ),
            ("Server=https://a.example;ClientId=x;ClientSecret=s;TokenCache={}", "TokenCache", Some("")),
        ];
        for (input, keyword, shown) in cases {
            let err = ConnectionOptions::parse(input).unwrap_err();
            let ConnectionError::InvalidValue {
                keyword: named,
                value,
                ..
            } = &err
            else {
                panic!("{input:?}: expected InvalidValue, got {err:?}");
            };
            assert_eq!(*named, keyword, "{input:?}");
            assert_eq!(value.as_deref(), shown, "{input:?}");
            let message = err.to_string();
            assert!(message.contains(keyword), "{message}");
            for secret in ["gk_pw_hidden", "gk_key", "gk_at_", "gk_cv_"] {
                assert!(!message.contains(secret), "{message}");
                assert!(!format!("{err:?}").contains(secret), "{err:?}");
            }
        }
    }

    #[test]
    fn builder_checks_like_the_parser() {
        let err = ConnectionOptions::builder("https://a.example")
            .client_id("x")
            .build()
            .unwrap_err();
        assert_eq!(err, ConnectionError::CannotInferMethod);

        let err = ConnectionOptions::builder("  ")
            .api_key("k")
            .build()
            .unwrap_err();
        assert_eq!(err, ConnectionError::MissingServer);

        let err = ConnectionOptions::builder("https://a.example")
            .api_key("k")
            .refresh_skew(Duration::from_secs(86_401))
            .build()
            .unwrap_err();
        assert!(matches!(
            err,
            ConnectionError::NotApplicable {
                keyword: "RefreshSkew",
                ..
            }
        ));

        let err = ConnectionOptions::builder("https://a.example")
            .client_id("x")
            .client_secret("s")
            .refresh_skew(Duration::from_secs(86_401))
            .build()
            .unwrap_err();
        assert!(err.to_string().contains("RefreshSkew"), "{err}");

        let command = TokenCommand::new("echo", ["a"]).with_timeout(Duration::from_millis(10));
        let err = ConnectionOptions::builder("https://a.example")
            .access_token_command(command)
            .build()
            .unwrap_err();
        assert!(
            err.to_string().contains("AccessTokenCommandTimeout"),
            "{err}"
        );

        let options = ConnectionOptions::builder("HTTPS://Auth.Example.COM:443/base/")
            .method(AuthenticationMethod::Pkce)
            .client_id("cli")
            .scope(" read  write ")
            .redirect_uri("http://127.0.0.1:8400/callback")
            .open_browser(false)
            .token_cache("/tmp/gatekey tokens.json")
            .refresh_skew(Duration::from_secs(5))
            .build()
            .unwrap();
        assert_eq!(options.server(), "https://auth.example.com/base");
        assert_eq!(options.scope(), Some("read write"));
        assert_eq!(
            options.redirect_uri(),
            Some("http://127.0.0.1:8400/callback")
        );
        assert!(!options.open_browser());
        assert_eq!(options.refresh_skew(), Duration::from_secs(5));
        assert_eq!(
            options.token_cache(),
            Some(std::path::Path::new("/tmp/gatekey tokens.json"))
        );
    }
}
