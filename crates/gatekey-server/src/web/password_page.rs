//! `GET /password`: the change-password form on a page of its own. The owner first run creates
//! is sent here after signing in with the generated password, and can reach nothing else (only
//! this page, the form's `POST /password`, and sign-out) until the password is changed.

use axum::http::StatusCode;
use axum::response::Response;
use maud::{html, Markup};

use super::layout::{html_response, page};
use super::signed_in::SignedInToChangePassword;
use crate::auth::session::WebSession;

/// The change-password form, with the last attempt's outcome; shared by this page and the home
/// page.
pub fn password_form(csrf: &str, notice: Option<&str>, error: Option<&str>) -> Markup {
    html! {
        @if let Some(notice) = notice { p.notice role="status" { (notice) } }
        @if let Some(error) = error { p.error role="alert" { (error) } }
        form method="post" action="/password" {
            input type="hidden" name="csrf_token" value=(csrf);
            label for="current-password" { "Current password" }
            input #current-password type="password" name="current_password" autocomplete="current-password" required;
            label for="new-password" { "New password (at least 12 characters)" }
            input #new-password type="password" name="new_password" autocomplete="new-password" minlength="12" required;
            p { button type="submit" { "Change password" } }
        }
    }
}

/// The page with the form alone, with the last attempt's outcome.
pub fn render_password_page(
    web: &WebSession,
    status: StatusCode,
    notice: Option<&str>,
    error: Option<&str>,
) -> Response {
    let csrf = web.session.csrf_token.as_str();
    let body = html! {
        section.login {
            h1 { "Change your password" }
            @if web.password_change_required() {
                p.notice role="status" {
                    "This account was created with a generated password. Choose your own password before you continue."
                }
            }
            (password_form(csrf, notice, error))
        }
    };
    html_response(
        status,
        page("Change your password", Some((&web.principal, csrf)), body),
    )
}

/// `GET /password`.
pub async fn show_password_page(
    SignedInToChangePassword(web): SignedInToChangePassword,
) -> Response {
    render_password_page(&web, StatusCode::OK, None, None)
}
