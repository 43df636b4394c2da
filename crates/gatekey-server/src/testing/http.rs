//! Sending a request and reading what came back: status, headers, JSON or HTML, cookies.

use reqwest::header::HeaderMap;
use reqwest::RequestBuilder;
use serde_json::Value;

/// A response: status, headers and JSON body (`Null` when not JSON).
pub type Answer = (u16, HeaderMap, Value);

/// A response: status, headers and body as text (for HTML pages).
pub type TextAnswer = (u16, HeaderMap, String);

/// Sends a request and returns its status, headers and JSON body (`Null` when not JSON).
pub async fn send(request: RequestBuilder) -> Answer {
    let (status, headers, text) = send_text(request).await;
    (
        status,
        headers,
        serde_json::from_str(&text).unwrap_or(Value::Null),
    )
}

/// Sends a request and returns its status, headers and body as text (for HTML pages).
pub async fn send_text(request: RequestBuilder) -> TextAnswer {
    let response = request.send().await.expect("request sent");
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    (status, headers, response.text().await.expect("body"))
}

/// Asserts an error response: status, `error` code, and a description present.
#[track_caller]
pub fn assert_error(actual: &Answer, status: u16, code: &str) {
    assert_eq!(actual.0, status, "status; body {}", actual.2);
    assert_eq!(actual.2["error"], code, "error code; body {}", actual.2);
    assert!(
        actual.2["error_description"]
            .as_str()
            .is_some_and(|d| !d.is_empty()),
        "description; body {}",
        actual.2
    );
}

/// The `Set-Cookie` header of a response that sets cookie `name`, whole (with its attributes).
pub fn set_cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(reqwest::header::SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with(&format!("{name}=")))
}

/// The value in a `Set-Cookie` header: `name=VALUE; Path=…` gives `VALUE`.
pub fn cookie_value(set_cookie: &str) -> &str {
    let pair = set_cookie.split(';').next().unwrap_or_default();
    pair.split_once('=').map_or("", |(_, value)| value)
}

/// The value of the first hidden `csrf_token` input of a page.
#[track_caller]
pub fn csrf_token_in(html: &str) -> String {
    const MARK: &str = r#"name="csrf_token" value=""#;
    let start = html.find(MARK).expect("a csrf_token field") + MARK.len();
    let length = html[start..].find('"').expect("end of the value");
    html[start..start + length].to_owned()
}

/// Every hidden input of a page, as (name, value) with `&amp;` and `&quot;` decoded: what a
/// browser would post back from the form.
pub fn hidden_inputs(html: &str) -> Vec<(String, String)> {
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

/// What a browser posts back from a consent page: its hidden inputs, and `decision`
/// (`allow` or `deny`).
pub fn consent_form(html: &str, decision: &str) -> Vec<(String, String)> {
    let mut fields = hidden_inputs(html);
    fields.push(("decision".into(), decision.into()));
    fields
}

/// Asks `check` every 20 ms until it holds or `within` has passed, and says whether it held:
/// for what the app learns in the background (the invalidation feed polls on real time).
pub async fn eventually<F, Fut>(within: std::time::Duration, mut check: F) -> bool
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let started = std::time::Instant::now();
    loop {
        if check().await {
            return true;
        }
        if started.elapsed() > within {
            return false;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}
