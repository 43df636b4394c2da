//! The page frame and HTML responses.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use gatekey_core::principal::Principal;
use maud::{html, Markup, DOCTYPE};

/// Wraps `body` in the common frame; with a signed-in user, the header shows who and offers
/// sign-out.
pub fn page(title: &str, signed_in: Option<(&Principal, &str)>, body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " · gatekey" }
                link rel="stylesheet" href="/static/app.css";
                script src="/static/app.js" defer {}
            }
            body {
                header {
                    span.brand { "gatekey" }
                    @if let Some((principal, csrf)) = signed_in {
                        a href="/" { "API keys" }
                        a href="/oauth/authorized_applications" { "Authorized applications" }
                        span.who { (principal.user.email) " · " (principal.account.name) " (" (principal.role) ")" }
                        form method="post" action="/logout" {
                            input type="hidden" name="csrf_token" value=(csrf);
                            button.secondary type="submit" { "Sign out" }
                        }
                    }
                }
                main { (body) }
            }
        }
    }
}

/// An HTML response that no cache keeps.
pub fn html_response(status: StatusCode, markup: Markup) -> Response {
    let mut response = (status, markup.into_string()).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// A short page explaining an error.
pub fn error_page(status: StatusCode, message: &str) -> Response {
    let body = html! {
        section.login {
            h1 { (status.canonical_reason().unwrap_or("Error")) }
            p.error { (message) }
            p { a href="/" { "Back" } }
        }
    };
    html_response(status, page("Error", None, body))
}

/// A `Set-Cookie` value with the flags every gatekey cookie carries.
pub fn cookie(name: &str, value: &str, path: &str, max_age: i64, secure: bool) -> HeaderValue {
    let secure = if secure { "; Secure" } else { "" };
    let text =
        format!("{name}={value}; Path={path}; Max-Age={max_age}; HttpOnly; SameSite=Lax{secure}");
    HeaderValue::from_str(&text).unwrap_or_else(|_| HeaderValue::from_static(""))
}

/// A time as pages show it: `2026-11-28 12:38 UTC`.
pub fn display_time(at: time::OffsetDateTime) -> String {
    let format = time::macros::format_description!("[year]-[month]-[day] [hour]:[minute] UTC");
    at.to_offset(time::UtcOffset::UTC)
        .format(&format)
        .unwrap_or_default()
}
