//! Talking to a running `gatekey serve` as a browser or an API client does.
#![allow(dead_code)] // Helpers are shared by test modules; not every module uses each one.

use reqwest::StatusCode;
use serde_json::Value;

/// A client that keeps cookies and does not follow redirects, as a test browser.
pub fn browser() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .cookie_store(true)
        .build()
        .expect("an HTTP client")
}

/// The text of the page at `url`.
pub async fn page(http: &reqwest::Client, url: &str) -> String {
    http.get(url)
        .send()
        .await
        .expect("the page answers")
        .text()
        .await
        .expect("the page's text")
}

/// The CSRF token in a form of `html`.
pub fn csrf_token(html: &str) -> String {
    html.split("name=\"csrf_token\" value=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .expect("csrf token")
        .to_owned()
}

/// Signs in on the web form of `server`; returns the answer's status (303 when signed in).
pub async fn sign_in(http: &reqwest::Client, server: &str, email: &str, password: &str) -> u16 {
    let csrf = csrf_token(&page(http, &format!("{server}/login")).await);
    let form = [
        ("email", email),
        ("password", password),
        ("csrf_token", &csrf),
    ];
    http.post(format!("{server}/login"))
        .form(&form)
        .send()
        .await
        .expect("the login form answers")
        .status()
        .as_u16()
}

/// The status `GET /api/v1/me` answers with `key`.
pub async fn me_status(http: &reqwest::Client, server: &str, key: &str) -> StatusCode {
    http.get(format!("{server}/api/v1/me"))
        .bearer_auth(key)
        .send()
        .await
        .expect("the server answers")
        .status()
}

/// `POST {server}{path}` with `body` and `key`.
pub async fn post_json(
    http: &reqwest::Client,
    server: &str,
    path: &str,
    key: &str,
    body: &Value,
) -> reqwest::Result<reqwest::Response> {
    http.post(format!("{server}{path}"))
        .bearer_auth(key)
        .json(body)
        .send()
        .await
}

/// The JSON `GET {server}{path}` answers with `key`.
pub async fn get_json(http: &reqwest::Client, server: &str, path: &str, key: &str) -> Value {
    http.get(format!("{server}{path}"))
        .bearer_auth(key)
        .send()
        .await
        .expect("the server answers")
        .json()
        .await
        .expect("a JSON answer")
}
