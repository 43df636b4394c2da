//! The token lifecycle of one connection: which access token to send, and how to get the
//! next one.
//!
//! Reading the current token takes a short read lock. Replacing it takes the renewal lock,
//! and whoever holds it looks again before asking the server, so when many tasks find the
//! token due at once exactly one of them renews it and the others use the result. New tokens
//! go to the `TokenCache` and the `on_tokens` callback before anything uses them: the server
//! has spent the old refresh token, and the new one must not exist only in memory.

use std::sync::{Arc, RwLock};
use std::time::SystemTime;

use secrecy::SecretString;
use tokio::sync::{Mutex, OnceCell};

use crate::interaction::Interaction;
use crate::metadata::discover;
use crate::oauth::{browser_login, device_login, OAuthClient};
use crate::token_cache::TokenCache;
use crate::tokens::TokenSet;
use crate::{AuthenticationMethod, ClientError, ConnectionOptions};

/// Called with every new set of tokens, before they are used.
pub type TokenCallback = Arc<dyn Fn(&TokenSet) + Send + Sync>;

/// The token being sent, and whether the server has refused it.
#[derive(Default)]
struct Current {
    tokens: Option<TokenSet>,
    refused: bool,
}

/// What only the renewing task touches.
#[derive(Default)]
struct Renewal {
    /// The newest refresh token known: from the cache, the options, or the last rotation.
    refresh_token: Option<SecretString>,
    /// Whether the configured `OAuthCode` has been exchanged; a code works once.
    code_used: bool,
}

pub(crate) struct Session {
    options: ConnectionOptions,
    http: reqwest::Client,
    oauth: OnceCell<OAuthClient>,
    started: OnceCell<()>,
    current: RwLock<Current>,
    renewal: Mutex<Renewal>,
    cache: Option<TokenCache>,
    on_tokens: Option<TokenCallback>,
    interaction: Arc<dyn Interaction>,
}

impl Session {
    pub(crate) fn new(
        options: ConnectionOptions,
        http: reqwest::Client,
        on_tokens: Option<TokenCallback>,
        interaction: Arc<dyn Interaction>,
    ) -> Self {
        let cache = options.token_cache().map(|path| {
            let seed = options.refresh_token().or(options.oauth_code());
            TokenCache::new(
                path,
                options.server(),
                options.client_id().unwrap_or(""),
                seed,
            )
        });
        Self {
            options,
            http,
            oauth: OnceCell::new(),
            started: OnceCell::new(),
            current: RwLock::new(Current::default()),
            renewal: Mutex::new(Renewal::default()),
            cache,
            on_tokens,
            interaction,
        }
    }

    pub(crate) fn options(&self) -> &ConnectionOptions {
        &self.options
    }

    /// An access token to send now: the current one while it is fresh, else a new one.
    pub(crate) async fn access_token(&self) -> Result<SecretString, ClientError> {
        self.start().await?;
        if let Some(token) = self.fresh_token() {
            return Ok(token);
        }
        let mut renewal = self.renewal.lock().await;
        if let Some(token) = self.fresh_token() {
            return Ok(token);
        }
        let tokens = self.obtain(&mut renewal).await?;
        self.install(&mut renewal, tokens).await
    }

    /// The server refused `used` (401 `invalid_token`): the next call renews, unless another
    /// task already replaced it. An API key is never renewed.
    pub(crate) fn refuse(&self, used: &SecretString) {
        if self.options.method() == AuthenticationMethod::ApiKey {
            return;
        }
        if let Ok(mut current) = self.current.write() {
            if current.tokens.as_ref().is_some_and(|t| t.holds(used)) {
                current.refused = true;
            }
        }
    }

    /// Whether a refused token can lead to another: everything but an API key (an
    /// `AccessToken` without a way to renew ends in [`ClientError::AccessTokenExpired`]).
    pub(crate) fn renews(&self) -> bool {
        self.options.method() != AuthenticationMethod::ApiKey
    }

    /// Replaces the access token; requests already sent keep the one they had.
    pub(crate) fn set_access_token(&self, token: SecretString) {
        if let Ok(mut current) = self.current.write() {
            current.tokens = Some(TokenSet::unknown_expiry(token));
            current.refused = false;
        }
    }

    /// The tokens held now.
    pub(crate) fn tokens(&self) -> Option<TokenSet> {
        self.current.read().ok().and_then(|c| c.tokens.clone())
    }

    /// Obtains new tokens now. For PKCE and DeviceCode the browser or device flow runs even
    /// when a refresh token is cached; the other methods renew as they would at expiry.
    pub(crate) async fn login(&self) -> Result<TokenSet, ClientError> {
        self.start().await?;
        let mut renewal = self.renewal.lock().await;
        if matches!(
            self.options.method(),
            AuthenticationMethod::Pkce | AuthenticationMethod::DeviceCode
        ) {
            renewal.refresh_token = None;
        }
        let tokens = self.obtain(&mut renewal).await?;
        self.install(&mut renewal, tokens.clone()).await?;
        Ok(tokens)
    }

    /// Revokes the refresh token (which ends its access tokens too) or else the access
    /// token at the server, then forgets both and deletes the cache.
    pub(crate) async fn logout(&self) -> Result<(), ClientError> {
        self.start().await?;
        let mut renewal = self.renewal.lock().await;
        let held = self.tokens();
        if self.options.method() != AuthenticationMethod::ApiKey {
            let oauth = self.oauth().await?;
            match (&renewal.refresh_token, &held) {
                (Some(refresh), _) => oauth.revoke_refresh_token(refresh).await?,
                (None, Some(tokens)) => oauth.revoke_access_token(&tokens.access_token).await?,
                (None, None) => {}
            }
        }
        renewal.refresh_token = None;
        if let Ok(mut current) = self.current.write() {
            *current = Current::default();
        }
        if let Some(cache) = &self.cache {
            cache.remove().await?;
        }
        Ok(())
    }

    /// Loads the cache or the configured token, once.
    async fn start(&self) -> Result<(), ClientError> {
        self.started
            .get_or_try_init(|| async {
                let cached = match &self.cache {
                    Some(cache) => cache.load().await?,
                    None => None,
                };
                let mut renewal = self.renewal.lock().await;
                renewal.refresh_token = cached
                    .as_ref()
                    .and_then(|t| t.refresh_token.clone())
                    .or_else(|| self.options.refresh_token().cloned());
                // A cached chain of tokens means the configured code was exchanged already.
                renewal.code_used = cached.is_some();
                let initial = cached.or_else(|| {
                    self.options
                        .api_key()
                        .or(self.options.access_token())
                        .cloned()
                        .map(TokenSet::unknown_expiry)
                });
                if let Ok(mut current) = self.current.write() {
                    current.tokens = initial;
                }
                Ok::<(), ClientError>(())
            })
            .await
            .map(|_| ())
    }

    fn fresh_token(&self) -> Option<SecretString> {
        let current = self.current.read().ok()?;
        let tokens = current.tokens.as_ref()?;
        (!current.refused && tokens.is_fresh(SystemTime::now()))
            .then(|| tokens.access_token.clone())
    }

    async fn oauth(&self) -> Result<&OAuthClient, ClientError> {
        self.oauth
            .get_or_try_init(|| async {
                let metadata = discover(&self.http, self.options.server()).await?;
                OAuthClient::new(
                    self.http.clone(),
                    metadata,
                    self.options.client_id().unwrap_or(""),
                    self.options.client_secret(),
                    self.options.scope(),
                    self.options.refresh_skew(),
                )
            })
            .await
    }

    /// New tokens by the connection's method: a refresh when there is a refresh token, else
    /// the method's own way; the interactive methods start over when the refresh token is
    /// refused.
    async fn obtain(&self, renewal: &mut Renewal) -> Result<TokenSet, ClientError> {
        let method = self.options.method();
        match method {
            AuthenticationMethod::ApiKey => {
                let key = self
                    .options
                    .api_key()
                    .cloned()
                    .ok_or(ClientError::AccessTokenExpired)?;
                return Ok(TokenSet::unknown_expiry(key));
            }
            AuthenticationMethod::AccessToken if renewal.refresh_token.is_none() => {
                let Some(command) = self.options.access_token_command() else {
                    return Err(ClientError::AccessTokenExpired);
                };
                let requested_at = SystemTime::now();
                let token = command.run().await?;
                return Ok(TokenSet::unknown_expiry(token.access_token).expiring(
                    requested_at,
                    token.expires_in,
                    self.options.refresh_skew(),
                ));
            }
            AuthenticationMethod::ClientCredentials => {
                return self.oauth().await?.client_credentials().await;
            }
            _ => {}
        }
        let oauth = self.oauth().await?;
        if let Some(refresh_token) = renewal.refresh_token.clone() {
            let previous = self.tokens();
            match oauth.refresh(&refresh_token, previous.as_ref()).await {
                Ok(tokens) => return Ok(tokens),
                Err(error @ ClientError::OAuth { .. })
                    if matches!(
                        method,
                        AuthenticationMethod::Pkce | AuthenticationMethod::DeviceCode
                    ) && error.code() == Some("invalid_grant") =>
                {
                    renewal.refresh_token = None;
                }
                Err(error) => return Err(error),
            }
        }
        match method {
            AuthenticationMethod::AuthorizationCode if !renewal.code_used => {
                renewal.code_used = true;
                let code = self
                    .options
                    .oauth_code()
                    .ok_or(ClientError::AccessTokenExpired)?;
                oauth
                    .exchange_code(
                        code,
                        self.options.redirect_uri().unwrap_or_default(),
                        self.options.code_verifier(),
                        None,
                    )
                    .await
            }
            AuthenticationMethod::Pkce => {
                browser_login(
                    oauth,
                    self.options.redirect_uri(),
                    self.options.open_browser(),
                    self.interaction.as_ref(),
                )
                .await
            }
            AuthenticationMethod::DeviceCode => {
                device_login(oauth, self.interaction.as_ref()).await
            }
            _ => Err(ClientError::OAuth {
                error: "invalid_grant".into(),
                description: Some("the server issued no refresh token to renew with".into()),
                hint: Some("supply a new OAuthCode or a RefreshToken"),
            }),
        }
    }

    /// Makes `tokens` current: saved to the cache and handed to the callback first. If the
    /// cache cannot be written the tokens are still used (the server has already spent the
    /// old refresh token, so dropping them would end the session), and the error is returned
    /// once so the program learns that a restart would not resume.
    async fn install(
        &self,
        renewal: &mut Renewal,
        tokens: TokenSet,
    ) -> Result<SecretString, ClientError> {
        let saved = match &self.cache {
            Some(cache) => cache.save(&tokens).await,
            None => Ok(()),
        };
        if let Some(callback) = &self.on_tokens {
            callback(&tokens);
        }
        if tokens.refresh_token.is_some() {
            renewal.refresh_token = tokens.refresh_token.clone();
        }
        let access_token = tokens.access_token.clone();
        if let Ok(mut current) = self.current.write() {
            current.tokens = Some(tokens);
            current.refused = false;
        }
        saved.map(|()| access_token)
    }
}
