//! `POST /password`: a signed-in person changes their password. The current password is asked
//! again, so a borrowed session cannot lock its owner out; every other session of theirs ends.

use axum::extract::rejection::FormRejection;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use gatekey_core::login::verify_login;
use gatekey_core::password::hash_password;
use gatekey_core::user_admin::set_password;
use serde::Deserialize;

use super::csrf::tokens_match;
use super::home::{render_home, Messages};
use super::layout::error_page;
use crate::auth::session::session_allowing_password_change;
use crate::auth::ClientInfo;
use crate::state::AppState;

/// The change-password form.
#[derive(Deserialize)]
pub struct PasswordForm {
    csrf_token: String,
    current_password: String,
    new_password: String,
}

/// Checks the current password and sets the new one.
pub async fn change_password(
    State(state): State<AppState>,
    headers: HeaderMap,
    client: ClientInfo,
    form: Result<Form<PasswordForm>, FormRejection>,
) -> Response {
    let Ok(Form(form)) = form else {
        return error_page(StatusCode::BAD_REQUEST, "The form was incomplete.");
    };
    let web = match session_allowing_password_change(&state, &headers).await {
        Ok(Some(web)) if tokens_match(&form.csrf_token, &web.session.csrf_token) => web,
        Ok(Some(_)) => {
            return error_page(
                StatusCode::FORBIDDEN,
                "The form expired. Please go back and try again.",
            )
        }
        Ok(None) => return Redirect::to("/login").into_response(),
        Err(_) => {
            return error_page(
                StatusCode::SERVICE_UNAVAILABLE,
                "The service is temporarily unavailable.",
            )
        }
    };
    let user = (*web.principal.user).clone();
    let PasswordForm {
        current_password,
        new_password,
        ..
    } = form;
    let checked = tokio::task::spawn_blocking(move || {
        verify_login(Some(&user), &current_password)
            .map_err(|_| "Your current password is not right.".to_owned())?;
        hash_password(&new_password).map_err(|e| e.to_string())
    })
    .await;
    let hash = match checked {
        Ok(Ok(hash)) => hash,
        Ok(Err(message)) => {
            let messages = Messages {
                password_error: Some(&message),
                ..Messages::default()
            };
            return render_home(&state, &web, StatusCode::BAD_REQUEST, messages).await;
        }
        Err(_) => {
            return error_page(
                StatusCode::SERVICE_UNAVAILABLE,
                "The service is temporarily unavailable.",
            )
        }
    };
    let actor = web.principal.actor(client.ip, client.user_agent);
    let now = state.clock.now();
    if set_password(
        &state.store,
        now,
        web.principal.user.id,
        &hash,
        Some(web.session.id),
        &actor,
    )
    .await
    .is_err()
    {
        return error_page(
            StatusCode::SERVICE_UNAVAILABLE,
            "The service is temporarily unavailable.",
        );
    }
    let messages = Messages {
        password_notice: Some("Your password has been changed. Your other sessions have ended."),
        ..Messages::default()
    };
    render_home(&state, &web, StatusCode::OK, messages).await
}
