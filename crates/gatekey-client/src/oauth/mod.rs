//! Talking to the authorization server's endpoints, through the `oauth2` crate: the token
//! endpoint for each grant, revocation, and the two interactive flows.

mod device;
mod http;
mod loopback;
mod token_response;

use std::time::{Duration, SystemTime};

use oauth2::basic::{
    BasicErrorResponse, BasicRevocationErrorResponse, BasicTokenIntrospectionResponse,
};
use oauth2::{
    AuthUrl, AuthorizationCode, ClientId, ClientSecret, DeviceAuthorizationUrl, EndpointMaybeSet,
    EndpointNotSet, EndpointSet, ErrorResponse, HttpClientError, PkceCodeVerifier, RedirectUrl,
    RefreshToken, RequestTokenError, Scope, StandardErrorResponse, StandardRevocableToken,
    TokenUrl,
};
use secrecy::{ExposeSecret, SecretString};

pub(crate) use device::device_login;
pub(crate) use loopback::browser_login;
pub(crate) use token_response::Grant;
use token_response::{has_openid, GatekeyTokenResponse};

use gatekey_proto::ErrorBody;

use crate::id_token::IdTokenVerifier;
use crate::metadata::ServerMetadata;
use crate::retry;
use crate::tokens::TokenSet;
use crate::ClientError;
use http::TokenHttp;

type Inner = oauth2::Client<
    BasicErrorResponse,
    GatekeyTokenResponse,
    BasicTokenIntrospectionResponse,
    StandardRevocableToken,
    BasicRevocationErrorResponse,
    EndpointMaybeSet,
    EndpointMaybeSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointSet,
>;

/// One client registration at one authorization server.
#[derive(Debug, Clone)]
pub(crate) struct OAuthClient {
    inner: Inner,
    http: TokenHttp,
    plain_http: reqwest::Client,
    client_id: String,
    client_secret: Option<SecretString>,
    metadata: ServerMetadata,
    scope: Option<String>,
    skew: Duration,
    id_tokens: IdTokenVerifier,
}

impl OAuthClient {
    /// A client of `metadata`'s server as `client_id` (with `client_secret` when confidential;
    /// the `oauth2` crate then sends `client_secret_basic`, form-encoding both parts as RFC
    /// 6749 §2.3.1 asks). Requests ask for `scope` when given.
    pub(crate) fn new(
        http: reqwest::Client,
        metadata: ServerMetadata,
        client_id: &str,
        client_secret: Option<&SecretString>,
        scope: Option<&str>,
        skew: Duration,
    ) -> Result<Self, ClientError> {
        let url_error = |what: &str| ClientError::Metadata(format!("{what} is not a valid URL"));
        let mut inner = oauth2::Client::new(ClientId::new(client_id.to_owned()))
            .set_token_uri(
                TokenUrl::new(metadata.token_endpoint.clone())
                    .map_err(|_| url_error("token_endpoint"))?,
            )
            .set_auth_uri_option(
                metadata
                    .authorization_endpoint
                    .clone()
                    .map(AuthUrl::new)
                    .transpose()
                    .map_err(|_| url_error("authorization_endpoint"))?,
            )
            .set_device_authorization_url_option(
                metadata
                    .device_authorization_endpoint
                    .clone()
                    .map(DeviceAuthorizationUrl::new)
                    .transpose()
                    .map_err(|_| url_error("device_authorization_endpoint"))?,
            );
        if let Some(secret) = client_secret {
            inner = inner.set_client_secret(ClientSecret::new(secret.expose_secret().to_owned()));
        }
        let id_tokens = IdTokenVerifier::new(
            http.clone(),
            metadata.jwks_uri.clone(),
            &metadata.issuer,
            client_id,
        );
        Ok(Self {
            inner,
            http: TokenHttp::new(http.clone()),
            plain_http: http,
            client_id: client_id.to_owned(),
            client_secret: client_secret.cloned(),
            metadata,
            scope: scope.map(str::to_owned),
            skew,
            id_tokens,
        })
    }

    fn scopes(&self) -> Vec<Scope> {
        self.scope
            .as_deref()
            .unwrap_or("")
            .split_whitespace()
            .map(|s| Scope::new(s.to_owned()))
            .collect()
    }

    /// Whether the connection asks for `openid`, making the requests OpenID Connect ones.
    pub(crate) fn wants_openid(&self) -> bool {
        has_openid(self.scope.as_deref())
    }

    /// The client credentials grant (RFC 6749 §4.4).
    pub(crate) async fn client_credentials(&self) -> Result<TokenSet, ClientError> {
        let requested_at = SystemTime::now();
        let response = self
            .inner
            .exchange_client_credentials()
            .add_scopes(self.scopes())
            .request_async(&self.http)
            .await
            .map_err(|e| token_error(e, None))?;
        self.finish(response, requested_at, Grant::ClientCredentials)
            .await
    }

    /// A refresh (RFC 6749 §6). The server rotates the refresh token; the old one is spent.
    /// `previous` are the tokens being replaced, whose identity a refresh without a new ID
    /// token keeps.
    pub(crate) async fn refresh(
        &self,
        refresh_token: &SecretString,
        previous: Option<&TokenSet>,
    ) -> Result<TokenSet, ClientError> {
        let requested_at = SystemTime::now();
        let token = RefreshToken::new(refresh_token.expose_secret().to_owned());
        let response = self
            .inner
            .exchange_refresh_token(&token)
            .add_scopes(self.scopes())
            .request_async(&self.http)
            .await
            .map_err(|e| {
                token_error(
                    e,
                    Some("the refresh token is spent, revoked or expired: log in again or supply a new RefreshToken"),
                )
            })?;
        self.finish(
            response,
            requested_at,
            Grant::Refresh {
                refresh_token,
                previous,
            },
        )
        .await
    }

    /// Exchanges an authorization code (RFC 6749 §4.1.3) with its PKCE verifier (RFC 7636
    /// §4.5). `nonce` is the one the authorization request sent, if any.
    pub(crate) async fn exchange_code(
        &self,
        code: &SecretString,
        redirect_uri: &str,
        verifier: Option<&SecretString>,
        nonce: Option<&str>,
    ) -> Result<TokenSet, ClientError> {
        let requested_at = SystemTime::now();
        let redirect = RedirectUrl::new(redirect_uri.to_owned()).map_err(|_| {
            ClientError::Login(format!("RedirectURI {redirect_uri:?} is not a URL"))
        })?;
        let mut request = self
            .inner
            .exchange_code(AuthorizationCode::new(code.expose_secret().to_owned()))
            .set_redirect_uri(std::borrow::Cow::Owned(redirect));
        if let Some(verifier) = verifier {
            request = request
                .set_pkce_verifier(PkceCodeVerifier::new(verifier.expose_secret().to_owned()));
        }
        let response = request.request_async(&self.http).await.map_err(|e| {
            token_error(
                e,
                Some("an authorization code works once and for about a minute: obtain a new one"),
            )
        })?;
        self.finish(response, requested_at, Grant::Code { nonce })
            .await
    }

    /// Revokes `refresh_token` (RFC 7009), which also ends the access tokens issued with it.
    pub(crate) async fn revoke_refresh_token(
        &self,
        refresh_token: &SecretString,
    ) -> Result<(), ClientError> {
        self.revoke(refresh_token, "refresh_token").await
    }

    /// Revokes `access_token` (RFC 7009).
    pub(crate) async fn revoke_access_token(
        &self,
        access_token: &SecretString,
    ) -> Result<(), ClientError> {
        self.revoke(access_token, "access_token").await
    }

    /// RFC 7009 §2.1, sent directly rather than through the `oauth2` crate, which refuses a
    /// revocation endpoint that is not https: a server the user reaches over http (a local
    /// one) must still be able to end the tokens it issued. The client authenticates as at
    /// the token endpoint.
    async fn revoke(&self, token: &SecretString, hint: &str) -> Result<(), ClientError> {
        let url = self
            .metadata
            .revocation_endpoint
            .as_deref()
            .ok_or_else(|| ClientError::Metadata("the server has no revocation_endpoint".into()))?;
        let mut form = vec![("token", token.expose_secret()), ("token_type_hint", hint)];
        let mut retries = 0;
        loop {
            let mut request = self.plain_http.post(url);
            match &self.client_secret {
                Some(secret) => {
                    // RFC 6749 §2.3.1: both parts form-encoded before Basic encoding.
                    let encode = |s: &str| {
                        url::form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>()
                    };
                    request = request.basic_auth(
                        encode(&self.client_id),
                        Some(encode(secret.expose_secret())),
                    );
                }
                None if !form.iter().any(|(k, _)| *k == "client_id") => {
                    form.push(("client_id", &self.client_id));
                }
                None => {}
            }
            let response = request.form(&form).send().await?;
            let status = response.status();
            if status.is_success() {
                return Ok(());
            }
            if retries < retry::MAX_RETRIES && retry::is_retryable(status) {
                if let Some(wait) = retry::delay(response.headers(), retries) {
                    tokio::time::sleep(wait).await;
                    retries += 1;
                    continue;
                }
            }
            let body: ErrorBody = response.json().await.unwrap_or_else(|_| ErrorBody {
                error: format!("http_{}", status.as_u16()),
                error_description: None,
            });
            return Err(ClientError::OAuth {
                error: body.error,
                description: body.error_description,
                hint: None,
            });
        }
    }
}

/// Maps a failed token request to the client's error. The response body is never shown: on
/// a parse failure it may hold tokens.
fn token_error<T>(
    error: RequestTokenError<HttpClientError<reqwest::Error>, StandardErrorResponse<T>>,
    hint_on_invalid_grant: Option<&'static str>,
) -> ClientError
where
    T: oauth2::ErrorResponseType + AsRef<str> + 'static,
    StandardErrorResponse<T>: ErrorResponse,
{
    match error {
        RequestTokenError::ServerResponse(response) => {
            let code = response.error().as_ref().to_owned();
            let hint = (code == "invalid_grant")
                .then_some(hint_on_invalid_grant)
                .flatten();
            ClientError::OAuth {
                error: code,
                description: response.error_description().cloned(),
                hint,
            }
        }
        RequestTokenError::Request(HttpClientError::Reqwest(error)) => {
            ClientError::Transport(*error)
        }
        RequestTokenError::Request(other) => ClientError::UnexpectedResponse(other.to_string()),
        RequestTokenError::Parse(error, _body) => ClientError::UnexpectedResponse(format!(
            "the token endpoint's answer could not be read (at {})",
            error.path()
        )),
        RequestTokenError::Other(reason) => ClientError::UnexpectedResponse(reason),
    }
}
