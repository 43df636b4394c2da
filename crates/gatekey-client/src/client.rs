//! An authenticated JSON client.

use std::fmt;

use gatekey_proto::ErrorBody;
use reqwest::{Method, RequestBuilder, Response};
use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::ClientError;

/// A client of one gatekey server with one credential. Cheap to clone.
#[derive(Clone)]
pub struct ApiClient {
    http: reqwest::Client,
    server: String,
    api_key: String,
}

impl fmt::Debug for ApiClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ApiClient")
            .field("server", &self.server)
            .field("api_key", &"<redacted>")
            .finish()
    }
}

impl ApiClient {
    /// A client that authenticates with an API key (`Authorization: Bearer`).
    pub fn with_api_key(server: &str, api_key: &str) -> Result<Self, ClientError> {
        if !(server.starts_with("http://") || server.starts_with("https://")) {
            return Err(ClientError::BadServerUrl(server.to_owned()));
        }
        let http = reqwest::Client::builder()
            .user_agent(concat!("gatekey-client/", env!("CARGO_PKG_VERSION")))
            .build()?;
        Ok(Self {
            http,
            server: server.trim_end_matches('/').to_owned(),
            api_key: api_key.to_owned(),
        })
    }

    fn request(&self, method: Method, path: &str) -> RequestBuilder {
        self.http
            .request(method, format!("{}{path}", self.server))
            .bearer_auth(&self.api_key)
    }

    /// `GET path`, decoding the JSON answer.
    pub async fn get<T: DeserializeOwned>(&self, path: &str) -> Result<T, ClientError> {
        decode(self.request(Method::GET, path).send().await?).await
    }

    /// `POST path` with a JSON body, decoding the JSON answer.
    pub async fn post<B: Serialize + ?Sized, T: DeserializeOwned>(
        &self,
        path: &str,
        body: &B,
    ) -> Result<T, ClientError> {
        decode(self.request(Method::POST, path).json(body).send().await?).await
    }

    /// `DELETE path`, expecting no body.
    pub async fn delete(&self, path: &str) -> Result<(), ClientError> {
        check(self.request(Method::DELETE, path).send().await?)
            .await
            .map(|_| ())
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
