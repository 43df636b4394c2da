//! `POST /password`: a signed-in person changes their password. The current password is asked
//! again, so a borrowed session cannot lock its owner out; every other session of theirs ends.
//! Wrong current passwords are throttled and audited like failed sign-ins.

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::Response;
use gatekey_core::audit::{AuditAction, AuditEntry};
use gatekey_core::login::verify_login_with;
use gatekey_core::password::hash_password_with;
use gatekey_core::store::AuditStore;
use gatekey_core::user_admin::set_password;
use serde::Deserialize;

use super::csrf_form::CsrfForm;
use super::home::{render_home, Messages};
use super::page_error::PageError;
use super::signed_in::SignedInToChangePassword;
use crate::auth::session::WebSession;
use crate::auth::ClientInfo;
use crate::state::AppState;

/// The change-password form.
#[derive(Deserialize)]
pub struct PasswordForm {
    current_password: String,
    new_password: String,
}

/// Checks the current password and sets the new one.
pub async fn change_password(
    State(state): State<AppState>,
    client: ClientInfo,
    form: CsrfForm<PasswordForm, SignedInToChangePassword>,
) -> Result<Response, PageError> {
    let CsrfForm {
        signed_in: SignedInToChangePassword(web),
        fields: form,
    } = form;
    let now = state.clock.now();
    let actor = web
        .principal
        .actor(client.ip.clone(), client.user_agent.clone());
    let audit = |action| {
        AuditEntry::new(now, &actor, action, "user")
            .in_account(web.principal.account.id)
            .target(web.principal.user.id)
            .failed()
    };
    // The current password is a guess like a sign-in's: it counts against the same budget of
    // the same email, so a borrowed session is no password oracle.
    let attempt = match state
        .login_throttle
        .reserve(&web.principal.user.email, client.ip.as_deref(), now)
        .await
    {
        Ok(attempt) => attempt,
        Err(throttled) => {
            // Once per email per window, like sign-ins: refusals must not grow the audit.
            let audit_key = throttled.audit_key(&web.principal.user.email, client.ip.as_deref());
            let first = state.login_throttled_audited.first(&audit_key);
            if first {
                state
                    .store
                    .record_audit(audit(AuditAction::PasswordChangeThrottled))
                    .await?;
            }
            let minutes = throttled.retry_after.div_ceil(60);
            let message = format!("Too many wrong passwords. Try again in {minutes} minute(s).");
            let messages = Messages {
                password_error: Some(&message),
                ..Messages::default()
            };
            let mut response =
                render_home(&state, &web, StatusCode::TOO_MANY_REQUESTS, messages).await?;
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, throttled.retry_after.into());
            return Ok(response);
        }
    };
    let user = (*web.principal.user).clone();
    let PasswordForm {
        current_password,
        new_password,
    } = form;
    let checked = state
        .password_hashing
        .run(move |memory| {
            if verify_login_with(Some(&user), &current_password, memory).is_err() {
                return Checked::WrongCurrent;
            }
            match hash_password_with(&new_password, memory) {
                Ok(hash) => Checked::Hashed(hash),
                Err(error) => Checked::Unfit(error.to_string()),
            }
        })
        .await;
    let checked = match checked {
        Ok(checked) => checked,
        Err(refused) => {
            attempt.not_evaluated();
            return Err(refused.into());
        }
    };
    let hash = match checked {
        Checked::Hashed(hash) => {
            attempt.succeeded();
            hash
        }
        Checked::Unfit(message) => {
            attempt.succeeded();
            return refuse(&state, &web, &message).await;
        }
        Checked::WrongCurrent => {
            attempt.failed();
            state
                .store
                .record_audit(audit(AuditAction::PasswordChangeFailed))
                .await?;
            return refuse(&state, &web, "Your current password is not right.").await;
        }
    };
    set_password(
        &state.store,
        now,
        web.principal.user.id,
        &hash,
        Some(web.session.id),
        &actor,
    )
    .await?;
    let messages = Messages {
        password_notice: Some("Your password has been changed. Your other sessions have ended."),
        ..Messages::default()
    };
    render_home(&state, &web, StatusCode::OK, messages).await
}

/// What the hashing thread found.
enum Checked {
    /// The current password was wrong.
    WrongCurrent,
    /// The current password was right; the new one cannot be used.
    Unfit(String),
    /// The current password was right; the new one's hash.
    Hashed(String),
}

async fn refuse(state: &AppState, web: &WebSession, message: &str) -> Result<Response, PageError> {
    let messages = Messages {
        password_error: Some(message),
        ..Messages::default()
    };
    render_home(state, web, StatusCode::BAD_REQUEST, messages).await
}
