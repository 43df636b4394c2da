//! `GET|POST /login`: email and password, with brute-force protection and an audit event for
//! every attempt.

use axum::extract::rejection::FormRejection;
use axum::extract::{Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use gatekey_core::audit::{Actor, AuditAction, AuditEntry, CredentialRef};
use gatekey_core::login::verify_login_with;
use gatekey_core::store::{AuditStore, StoreError, UserStore};
use gatekey_core::user::{normalize_email, User, MAX_EMAIL_LEN};
use maud::html;
use serde::Deserialize;

use super::csrf::{new_token, tokens_match, LOGIN_CSRF_COOKIE};
use super::layout::{cookie, html_response, page};
use super::page_error::PageError;
use super::session_start::{start_session, SpentCsrfCookie};
use super::signed_in::SignedIn;
use crate::auth::session::cookie as read_cookie;
use crate::auth::ClientInfo;
use crate::state::AppState;

/// The login form.
#[derive(Deserialize)]
pub struct LoginForm {
    email: String,
    password: String,
    csrf_token: String,
    #[serde(default)]
    next: Option<String>,
}

/// `?next=` on the login page: where to go after signing in; `?login_hint=`: the email to
/// pre-fill (OpenID Connect Core §3.1.2.1, passed on by the authorization endpoint).
#[derive(Deserialize, Default)]
pub struct LoginQuery {
    next: Option<String>,
    login_hint: Option<String>,
}

/// The email a `login_hint` pre-fills: the hint when it could be an email, else nothing. It
/// is only ever the form field's initial value (HTML-escaped like every value on the page);
/// nothing is looked up or trusted because of it.
fn hinted_email(hint: Option<&str>) -> &str {
    match hint.map(str::trim) {
        Some(hint) if hint.len() <= MAX_EMAIL_LEN && !hint.chars().any(char::is_control) => hint,
        _ => "",
    }
}

/// The sign-in form, pre-filled with `email`, returning to `next` (a path on this server) once
/// signed in: for the authorization endpoint, when a user with a session must sign in again
/// (OpenID Connect `prompt=login`, `max_age`).
pub fn sign_in_again(state: &AppState, email: &str, next: &str) -> Response {
    login_page(
        state,
        StatusCode::OK,
        hinted_email(Some(email)),
        Some("Please sign in again to continue."),
        safe_next(Some(next)),
    )
}

/// `next` if it is a path on this server; anything else (another origin, `//host`, a
/// backslash trick) would be an open redirect, so it becomes `/`.
pub fn safe_next(next: Option<&str>) -> &str {
    match next {
        Some(path)
            if path.starts_with('/')
                && !path.starts_with("//")
                && !path.contains('\\')
                && path.len() <= 4096
                && !path.chars().any(char::is_control) =>
        {
            path
        }
        _ => "/",
    }
}

fn login_page(
    state: &AppState,
    status: StatusCode,
    email: &str,
    message: Option<&str>,
    next: &str,
) -> Response {
    let token = new_token();
    let body = html! {
        section.login {
            h1 { "Sign in" }
            @if let Some(message) = message { p.error role="alert" { (message) } }
            form method="post" action="/login" {
                input type="hidden" name="csrf_token" value=(token);
                @if next != "/" { input type="hidden" name="next" value=(next); }
                label for="email" { "Email" }
                input #email type="email" name="email" value=(email) autocomplete="username" required autofocus;
                label for="password" { "Password" }
                input #password type="password" name="password" autocomplete="current-password" required;
                p { button type="submit" { "Sign in" } }
            }
        }
    };
    let mut response = html_response(status, page("Sign in", None, body));
    response.headers_mut().append(
        header::SET_COOKIE,
        cookie(
            LOGIN_CSRF_COOKIE,
            &token,
            "/login",
            3600,
            state.secure_cookies(),
        ),
    );
    response
}

/// Shows the form, or goes home when already signed in.
pub async fn show_login(
    State(state): State<AppState>,
    Query(query): Query<LoginQuery>,
    signed_in: Option<SignedIn>,
) -> Response {
    let next = safe_next(query.next.as_deref());
    let email = hinted_email(query.login_hint.as_deref());
    match signed_in {
        Some(_) => Redirect::to(next).into_response(),
        None => login_page(&state, StatusCode::OK, email, None, next),
    }
}

/// Checks the form and starts a session.
pub async fn submit_login(
    State(state): State<AppState>,
    headers: HeaderMap,
    client: ClientInfo,
    form: Result<Form<LoginForm>, FormRejection>,
) -> Result<Response, PageError> {
    let Ok(Form(form)) = form else {
        return Err(PageError::refused(
            StatusCode::BAD_REQUEST,
            "The sign-in form was incomplete.",
        ));
    };
    // No account can have a longer email: refuse it before it is throttled, looked up or audited.
    if form.email.trim().len() > MAX_EMAIL_LEN {
        let next = safe_next(form.next.as_deref());
        let message = "That email address is too long.";
        return Ok(login_page(
            &state,
            StatusCode::BAD_REQUEST,
            "",
            Some(message),
            next,
        ));
    }
    let expected = read_cookie(&headers, LOGIN_CSRF_COOKIE).unwrap_or("");
    if !tokens_match(&form.csrf_token, expected) {
        return Ok(login_page(
            &state,
            StatusCode::FORBIDDEN,
            &form.email,
            Some("The form expired. Please try again."),
            safe_next(form.next.as_deref()),
        ));
    }
    let now = state.clock.now();
    let email = normalize_email(&form.email).unwrap_or_else(|_| form.email.trim().to_lowercase());
    let actor = Actor {
        user_id: None,
        credential: CredentialRef::Anonymous,
        ip: client.ip.clone(),
        user_agent: client.user_agent.clone(),
    };

    let user = state.store.user_by_email(&email).await?;
    let audit_account = match &user {
        Some(user) => first_account(&state, user).await?,
        None => None,
    };
    let audit = |action| {
        let entry = AuditEntry::new(
            now,
            &Actor {
                user_id: user.as_ref().map(|u| u.id),
                ..actor.clone()
            },
            action,
            "session",
        )
        .detail(format!("email {email}"));
        match audit_account {
            Some(account_id) => entry.in_account(account_id),
            None => entry,
        }
    };

    // The guess takes its slot before the password is checked, so concurrent guesses cannot
    // all pass the throttle before the first failure is counted.
    let attempt = match state
        .login_throttle
        .reserve(&email, client.ip.as_deref(), now)
        .await
    {
        Ok(attempt) => attempt,
        Err(throttled) => {
            // Once per email (or address) per window: refusals cost nothing to send, so each one audited
            // would let anyone grow the audit log without bound.
            // Keyed by the refusing limit: distinct emails refused by one address's limit
            // share one event. Like every other attempt, a refusal that cannot be audited is
            // not answered as if it had been (503, as a lost `login.failed` event answers).
            let audit_key = throttled.audit_key(&email, client.ip.as_deref());
            if state.login_throttled_audited.first(&audit_key) {
                state
                    .store
                    .record_audit(audit(AuditAction::LoginThrottled).failed())
                    .await?;
            }
            let minutes = throttled.retry_after.div_ceil(60);
            let message =
                format!("Too many failed sign-in attempts. Try again in {minutes} minute(s).");
            let mut response = login_page(
                &state,
                StatusCode::TOO_MANY_REQUESTS,
                &form.email,
                Some(&message),
                safe_next(form.next.as_deref()),
            );
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, throttled.retry_after.into());
            return Ok(response);
        }
    };

    let checked_user = user.clone();
    let password = form.password;
    let verified = match state
        .password_hashing
        .run(move |memory| verify_login_with(checked_user.as_ref(), &password, memory))
        .await
    {
        Ok(verified) => verified,
        Err(refused) => {
            attempt.not_evaluated();
            return Err(refused.into());
        }
    };
    let (Ok(()), Some(user), Some(account_id)) = (verified, &user, audit_account) else {
        attempt.failed();
        state
            .store
            .record_audit(audit(AuditAction::LoginFailed).failed())
            .await?;
        return Ok(login_page(
            &state,
            StatusCode::UNAUTHORIZED,
            &form.email,
            Some("Wrong email or password."),
            safe_next(form.next.as_deref()),
        ));
    };
    attempt.succeeded();

    let entry = AuditEntry {
        actor: Actor {
            credential: CredentialRef::Session,
            ..audit(AuditAction::LoginSucceeded).actor
        },
        ..audit(AuditAction::LoginSucceeded)
    };
    // A generated first-run password must be replaced before anything else.
    let target = if user.must_change_password {
        "/password"
    } else {
        safe_next(form.next.as_deref())
    };
    let spent = SpentCsrfCookie {
        name: LOGIN_CSRF_COOKIE,
        path: "/login",
    };
    start_session(&state, user.id, account_id, entry, target, spent).await
}

/// The account a user signs in to: their oldest membership.
async fn first_account(state: &AppState, user: &User) -> Result<Option<i64>, StoreError> {
    let memberships = state.store.memberships_of(user.id).await?;
    Ok(memberships.first().map(|(m, _)| m.account_id))
}
