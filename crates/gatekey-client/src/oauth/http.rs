//! The HTTP client the `oauth2` crate sends token requests with: reqwest without redirects
//! (a token request that is redirected could carry credentials elsewhere), retried when the
//! server answers that it did not process the request (429, 503).

use std::future::Future;
use std::pin::Pin;

use oauth2::{AsyncHttpClient, HttpClientError, HttpRequest, HttpResponse};

use crate::retry;

/// reqwest for the token endpoint, with retries.
#[derive(Debug, Clone)]
pub(crate) struct TokenHttp {
    http: reqwest::Client,
}

impl TokenHttp {
    /// Token requests through `http`, which must not follow redirects.
    pub(crate) fn new(http: reqwest::Client) -> Self {
        Self { http }
    }
}

impl<'c> AsyncHttpClient<'c> for TokenHttp {
    type Error = HttpClientError<reqwest::Error>;
    type Future = Pin<Box<dyn Future<Output = Result<HttpResponse, Self::Error>> + Send + 'c>>;

    fn call(&'c self, request: HttpRequest) -> Self::Future {
        Box::pin(async move {
            let (parts, body) = request.into_parts();
            let mut retries = 0;
            loop {
                let mut again = oauth2::http::Request::builder()
                    .method(parts.method.clone())
                    .uri(parts.uri.clone());
                for (name, value) in &parts.headers {
                    again = again.header(name, value);
                }
                let request = again.body(body.clone()).map_err(HttpClientError::Http)?;
                let response = self.http.call(request).await?;
                if retries < retry::MAX_RETRIES && retry::is_retryable(response.status()) {
                    if let Some(wait) = retry::delay(response.headers(), retries) {
                        tokio::time::sleep(wait).await;
                        retries += 1;
                        continue;
                    }
                }
                return Ok(response);
            }
        })
    }
}
