//! The device authorization grant (RFC 8628): ask for a user code, show it, poll the token
//! endpoint until the user approves on another device. The `oauth2` crate polls, waiting the
//! server's interval and 5 s more after each `slow_down` (§3.5).

use std::sync::Mutex;
use std::time::{Instant, SystemTime};

use oauth2::{RequestTokenError, StandardDeviceAuthorizationResponse};

use crate::interaction::DevicePrompt;
use crate::interaction::Interaction;
use crate::oauth::{token_error, Grant, OAuthClient};
use crate::tokens::TokenSet;
use crate::ClientError;

/// Runs the device flow to the end: tokens, or why there are none.
pub(crate) async fn device_login(
    oauth: &OAuthClient,
    interaction: &dyn Interaction,
) -> Result<TokenSet, ClientError> {
    let details: StandardDeviceAuthorizationResponse = oauth
        .inner
        .exchange_device_code()
        .map_err(|_| {
            ClientError::Metadata("the server has no device_authorization_endpoint".into())
        })?
        .add_scopes(oauth.scopes())
        .request_async(&oauth.http)
        .await
        .map_err(|e| token_error(e, None))?;
    interaction.show_device_code(&DevicePrompt {
        verification_uri: details.verification_uri().to_string(),
        verification_uri_complete: details
            .verification_uri_complete()
            .map(|u| u.secret().to_string()),
        user_code: details.user_code().secret().to_string(),
        expires_in: details.expires_in(),
    });
    let started = Instant::now();
    // The token's lifetime counts from the poll that got it, not from the start of the wait.
    let last_poll = Mutex::new(SystemTime::now());
    let sleep = |wait| {
        interaction.still_waiting(started.elapsed());
        if let Ok(mut last) = last_poll.lock() {
            *last = SystemTime::now() + wait;
        }
        tokio::time::sleep(wait)
    };
    let result = oauth
        .inner
        .exchange_device_access_token(&details)
        .request_async(&oauth.http, sleep, None)
        .await;
    interaction.finished();
    let response = result.map_err(|error| match error {
        RequestTokenError::ServerResponse(response) => {
            let code = response.error().as_ref().to_owned();
            let reason = match code.as_str() {
                "access_denied" => "the request was denied".to_owned(),
                "expired_token" => "the code expired before it was approved".to_owned(),
                _ => return token_error(RequestTokenError::ServerResponse(response), None),
            };
            ClientError::Login(reason)
        }
        other => token_error(other, None),
    })?;
    let requested_at = last_poll
        .lock()
        .map(|t| *t)
        .unwrap_or_else(|_| SystemTime::now());
    oauth.finish(response, requested_at, Grant::Device).await
}
