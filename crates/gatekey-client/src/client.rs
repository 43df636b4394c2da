//! The authenticated API client.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use gatekey_proto::ErrorBody;
use reqwest::header::{CONTENT_TYPE, WWW_AUTHENTICATE};
use reqwest::{Method, Response, StatusCode};
use secrecy::{ExposeSecret, SecretString};
use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::Value;

use crate::interaction::{Interaction, TerminalInteraction};
use crate::retry;
use crate::session::{Session, TokenCallback};
use crate::tokens::TokenSet;
use crate::{ClientError, ConnectionOptions, Identity};

/// Items asked for per page when following a paginated list.
const PER_PAGE: u32 = 200;

/// A client of one gatekey server with one connection. Cheap to clone; clones share the
/// tokens, so many tasks can use one connection and renew its token once.
///
/// ```no_run
/// # async fn example() -> Result<(), gatekey_client::ClientError> {
/// use gatekey_client::{ApiClient, ConnectionOptions};
///
/// let options: ConnectionOptions =
///     "Server=http://127.0.0.1:8080;ClientId=app_1;ClientSecret=gk_cs_2".parse()?;
/// let client = ApiClient::new(options)?;
/// let me: serde_json::Value = client.get("/api/v1/me").await?;
/// println!("{}", me["user"]["email"]);
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct ApiClient {
    http: reqwest::Client,
    session: Arc<Session>,
}

impl fmt::Debug for ApiClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ApiClient")
            .field("connection", self.session.options())
            .finish_non_exhaustive()
    }
}

/// Options of an [`ApiClient`] beyond the connection itself.
pub struct ApiClientBuilder {
    options: ConnectionOptions,
    on_tokens: Option<TokenCallback>,
    interaction: Arc<dyn Interaction>,
    timeout: Duration,
}

impl fmt::Debug for ApiClientBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ApiClientBuilder")
            .field("options", &self.options)
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

impl ApiClientBuilder {
    /// Calls `callback` with every new set of tokens before they are used, so the program
    /// can store each rotated refresh token (the server accepts only the newest).
    pub fn on_tokens(mut self, callback: impl Fn(&TokenSet) + Send + Sync + 'static) -> Self {
        self.on_tokens = Some(Arc::new(callback));
        self
    }

    /// Shows interactive prompts (PKCE, DeviceCode) through `interaction` instead of the
    /// terminal.
    pub fn interaction(mut self, interaction: impl Interaction + 'static) -> Self {
        self.interaction = Arc::new(interaction);
        self
    }

    /// Gives up on one HTTP request after `timeout` (default 30 s).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// The client. Nothing is sent until the first call.
    pub fn build(self) -> Result<ApiClient, ClientError> {
        // Redirects are not followed: a bearer token or client secret must reach only the
        // server the connection names.
        let http = reqwest::Client::builder()
            .user_agent(concat!("gatekey-client/", env!("CARGO_PKG_VERSION")))
            .redirect(reqwest::redirect::Policy::none())
            .timeout(self.timeout)
            .build()?;
        let session = Session::new(self.options, http.clone(), self.on_tokens, self.interaction);
        Ok(ApiClient {
            http,
            session: Arc::new(session),
        })
    }
}

impl ApiClient {
    /// A client for `options`, prompting on the terminal if the method is interactive.
    pub fn new(options: ConnectionOptions) -> Result<Self, ClientError> {
        Self::builder(options).build()
    }

    /// A client for `options` with callbacks or prompts of the program's own.
    pub fn builder(options: ConnectionOptions) -> ApiClientBuilder {
        ApiClientBuilder {
            options,
            on_tokens: None,
            interaction: Arc::new(TerminalInteraction),
            timeout: Duration::from_secs(30),
        }
    }

    /// A client that authenticates with an API key (`Authorization: Bearer`).
    pub fn with_api_key(server: &str, api_key: &str) -> Result<Self, ClientError> {
        if !(server.starts_with("http://") || server.starts_with("https://")) {
            return Err(ClientError::BadServerUrl(server.to_owned()));
        }
        Self::new(
            ConnectionOptions::builder(server)
                .api_key(api_key)
                .build()?,
        )
    }

    /// The connection this client uses.
    pub fn options(&self) -> &ConnectionOptions {
        self.session.options()
    }

    /// A valid access token (or the API key), obtaining or renewing one if needed.
    pub async fn access_token(&self) -> Result<SecretString, ClientError> {
        self.session.access_token().await
    }

    /// The tokens held now, without contacting the server.
    pub fn tokens(&self) -> Option<TokenSet> {
        self.session.tokens()
    }

    /// The signed-in user, from the ID token validated when the tokens were obtained (when
    /// the connection's `Scope` has `openid`), without contacting the server.
    pub fn identity(&self) -> Option<Identity> {
        self.session.tokens().and_then(|t| t.identity)
    }

    /// Replaces the access token at run time. Requests already in flight finish with the
    /// token they were sent with.
    pub fn set_access_token(&self, access_token: impl Into<String>) {
        self.session
            .set_access_token(SecretString::from(access_token.into()));
    }

    /// Runs the connection's method from scratch (the browser or device flow for PKCE and
    /// DeviceCode), even if tokens are cached, and returns the new tokens.
    pub async fn login(&self) -> Result<TokenSet, ClientError> {
        self.session.login().await
    }

    /// Revokes the tokens at the server and forgets them, deleting the token cache.
    pub async fn logout(&self) -> Result<(), ClientError> {
        self.session.logout().await
    }

    /// `GET path`, decoding the JSON answer.
    pub async fn get<T: DeserializeOwned>(&self, path: &str) -> Result<T, ClientError> {
        decode(self.send(Method::GET, path, None).await?).await
    }

    /// `POST path` with a JSON body, decoding the JSON answer.
    pub async fn post<B: Serialize + ?Sized, T: DeserializeOwned>(
        &self,
        path: &str,
        body: &B,
    ) -> Result<T, ClientError> {
        decode(
            self.send(Method::POST, path, Some(json_body(body)?))
                .await?,
        )
        .await
    }

    /// `PUT path` with a JSON body, decoding the JSON answer.
    pub async fn put<B: Serialize + ?Sized, T: DeserializeOwned>(
        &self,
        path: &str,
        body: &B,
    ) -> Result<T, ClientError> {
        decode(self.send(Method::PUT, path, Some(json_body(body)?)).await?).await
    }

    /// `DELETE path`, expecting no body.
    pub async fn delete(&self, path: &str) -> Result<(), ClientError> {
        self.send(Method::DELETE, path, None).await.map(|_| ())
    }

    /// Any method, with an optional JSON body; returns the status and the JSON answer
    /// (`null` when there is no body). Errors as for the other calls.
    pub async fn request(
        &self,
        method: Method,
        path: &str,
        body: Option<&Value>,
    ) -> Result<(u16, Value), ClientError> {
        let body = body.map(|b| b.to_string().into_bytes());
        let response = self.send(method, path, body).await?;
        let status = response.status().as_u16();
        let text = response.text().await?;
        if text.trim().is_empty() {
            return Ok((status, Value::Null));
        }
        let value = serde_json::from_str(&text)
            .map_err(|e| ClientError::UnexpectedResponse(format!("not JSON: {e}")))?;
        Ok((status, value))
    }

    /// Every item of a paginated list (`{"<things>":[…],"pagination":{…}}`), following
    /// the pages to the last one.
    pub async fn get_all<T: DeserializeOwned>(&self, path: &str) -> Result<Vec<T>, ClientError> {
        self.paginate(path)
            .await?
            .into_iter()
            .map(|item| {
                serde_json::from_value(item)
                    .map_err(|e| ClientError::UnexpectedResponse(format!("list item: {e}")))
            })
            .collect()
    }

    /// Every item of a paginated list as JSON values.
    pub async fn paginate(&self, path: &str) -> Result<Vec<Value>, ClientError> {
        let mut items = Vec::new();
        let mut page = 1u64;
        loop {
            let body: Value = self.get(&page_path(path, page)?).await?;
            let (list, total_pages) = split_page(body)?;
            items.extend(list);
            if page >= total_pages {
                return Ok(items);
            }
            page += 1;
        }
    }

    /// Sends a request with the current token: once more with a new token after a 401
    /// `invalid_token`; again after a 429 or 503 or a refused connection (any method: nothing
    /// was processed), or a 500, 502 or 504 (methods that may be repeated), waiting as
    /// `Retry-After` says.
    async fn send(
        &self,
        method: Method,
        path: &str,
        body: Option<Vec<u8>>,
    ) -> Result<Response, ClientError> {
        if !path.starts_with('/') {
            return Err(ClientError::UnexpectedResponse(format!(
                "the path must start with '/', got {path:?}"
            )));
        }
        let url = format!("{}{path}", self.session.options().server());
        let idempotent = matches!(
            method,
            Method::GET | Method::HEAD | Method::PUT | Method::DELETE
        );
        let mut renewed = false;
        let mut retries = 0;
        loop {
            let token = self.session.access_token().await?;
            let mut request = self
                .http
                .request(method.clone(), &url)
                .bearer_auth(token.expose_secret());
            if let Some(body) = &body {
                request = request
                    .header(CONTENT_TYPE, "application/json")
                    .body(body.clone());
            }
            let response = match request.send().await {
                Ok(response) => response,
                Err(error) if error.is_connect() && retries < retry::MAX_RETRIES => {
                    tokio::time::sleep(
                        retry::delay(&Default::default(), retries).unwrap_or_default(),
                    )
                    .await;
                    retries += 1;
                    continue;
                }
                Err(error) => return Err(error.into()),
            };
            let status = response.status();
            if status == StatusCode::UNAUTHORIZED
                && !renewed
                && self.session.renews()
                && is_invalid_token(&response)
            {
                self.session.refuse(&token);
                renewed = true;
                continue;
            }
            let retryable = retry::is_retryable(status)
                || (idempotent && retry::is_retryable_idempotent(status));
            if retryable && retries < retry::MAX_RETRIES {
                if let Some(wait) = retry::delay(response.headers(), retries) {
                    tokio::time::sleep(wait).await;
                    retries += 1;
                    continue;
                }
            }
            return check(response).await;
        }
    }
}

fn json_body<B: Serialize + ?Sized>(body: &B) -> Result<Vec<u8>, ClientError> {
    serde_json::to_vec(body).map_err(|e| ClientError::UnexpectedResponse(format!("body: {e}")))
}

/// RFC 6750 §3.1: the token is expired, revoked or otherwise not valid.
fn is_invalid_token(response: &Response) -> bool {
    response
        .headers()
        .get_all(WWW_AUTHENTICATE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .any(|v| v.contains("invalid_token"))
}

/// `path` with `page` and `per_page` set, replacing any the caller gave.
fn page_path(path: &str, page: u64) -> Result<String, ClientError> {
    let mut url = url::Url::parse(&format!("http://placeholder{path}"))
        .map_err(|_| ClientError::UnexpectedResponse(format!("bad path {path:?}")))?;
    let kept: Vec<(String, String)> = url
        .query_pairs()
        .filter(|(k, _)| k != "page" && k != "per_page")
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    url.query_pairs_mut()
        .clear()
        .extend_pairs(kept)
        .append_pair("page", &page.to_string())
        .append_pair("per_page", &PER_PAGE.to_string());
    Ok(format!("{}?{}", url.path(), url.query().unwrap_or("")))
}

/// The items of one page and the number of pages.
fn split_page(body: Value) -> Result<(Vec<Value>, u64), ClientError> {
    let not_a_list = || ClientError::UnexpectedResponse("not a paginated list".into());
    let Value::Object(mut object) = body else {
        return Err(not_a_list());
    };
    let total_pages = object
        .get("pagination")
        .and_then(|p| p.get("total_pages"))
        .and_then(Value::as_u64)
        .ok_or_else(not_a_list)?;
    let key = object
        .iter()
        .find(|(key, value)| *key != "pagination" && value.is_array())
        .map(|(key, _)| key.clone())
        .ok_or_else(not_a_list)?;
    match object.remove(&key) {
        Some(Value::Array(items)) => Ok((items, total_pages)),
        _ => Err(not_a_list()),
    }
}

async fn check(response: Response) -> Result<Response, ClientError> {
    let status = response.status();
    if status.is_success() {
        return Ok(response);
    }
    let text = response.text().await.unwrap_or_default();
    let body = serde_json::from_str::<ErrorBody>(&text).unwrap_or_else(|_| ErrorBody {
        error: format!("http_{}", status.as_u16()),
        error_description: Some(text.chars().take(200).collect()),
    });
    Err(ClientError::Api {
        status: status.as_u16(),
        body,
    })
}

async fn decode<T: DeserializeOwned>(response: Response) -> Result<T, ClientError> {
    Ok(check(response).await?.json::<T>().await?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn page_parameters_replace_the_callers() {
        assert_eq!(
            page_path("/api/v1/users?page=7&account=acme", 2).unwrap(),
            "/api/v1/users?account=acme&page=2&per_page=200"
        );
        assert_eq!(
            page_path("/api/v1/audits", 1).unwrap(),
            "/api/v1/audits?page=1&per_page=200"
        );
    }

    #[test]
    fn a_page_splits_into_items_and_the_page_count() {
        let body = json!({"users":[{"id":1},{"id":2}],"pagination":{"total_records":2,"total_pages":1,"current_page":1}});
        let (items, pages) = split_page(body).unwrap();
        assert_eq!(items.len(), 2);
        assert_eq!(pages, 1);
        assert!(split_page(json!({"users":[]})).is_err());
    }
}
