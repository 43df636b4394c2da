//! The device code grant (RFC 8628 §3.4, §3.5): the device polls with its device code until
//! the user decides, then collects its tokens exactly once.

use axum::response::Response;
use gatekey_core::oauth::application::GrantType;
use gatekey_core::oauth::device::{DeviceStatus, SLOW_DOWN_SECS};
use gatekey_core::oauth::exchange::{ExchangeError, TokenErrorCode};
use gatekey_core::oauth::store::{DeviceStore, TokenStore};
use gatekey_core::secret::{Secret, SecretKind};
use gatekey_core::store::{AccountStore, StoreError};

use super::issue::{MintedTokens, TokenRequest};
use crate::oauth::error::OAuthError;

fn refused(code: TokenErrorCode, description: &str) -> OAuthError {
    ExchangeError {
        code,
        description: description.to_owned(),
    }
    .into()
}

/// Answers one poll of a device.
pub async fn poll_device(request: &TokenRequest) -> Result<Response, OAuthError> {
    let state = &request.state;
    let app = &request.client.application;
    let presented = request.form.require("device_code")?;
    let invalid = || refused(TokenErrorCode::InvalidGrant, "the device code is not valid");
    let hash = Secret::parse(SecretKind::DeviceCode, presented)
        .map_err(|_| invalid())?
        .hash();
    let now = state.clock.now();
    let Some(device) = state.store.poll_device_code(&hash, now).await? else {
        return Err(invalid());
    };
    if device.application.id != app.id {
        // A device code is bound to the client it was issued to.
        return Err(invalid());
    }
    if now >= device.expires_at {
        return Err(refused(
            TokenErrorCode::ExpiredToken,
            "the device code has expired; start again",
        ));
    }
    match device.status {
        DeviceStatus::Pending => {
            let too_soon = device
                .last_polled_at
                .is_some_and(|last| now - last < time::Duration::seconds(device.interval_secs));
            if too_soon {
                state
                    .store
                    .slow_down_device_code(device.id, device.interval_secs + SLOW_DOWN_SECS)
                    .await?;
                return Err(refused(
                    TokenErrorCode::SlowDown,
                    "polling too often; wait five more seconds between polls",
                ));
            }
            Err(refused(
                TokenErrorCode::AuthorizationPending,
                "the user has not decided yet",
            ))
        }
        DeviceStatus::Denied => Err(refused(
            TokenErrorCode::AccessDenied,
            "the user denied the request",
        )),
        DeviceStatus::Redeemed => Err(invalid()),
        DeviceStatus::Approved => {
            let (Some(grant_id), Some(account_id)) = (device.grant_id, device.account_id) else {
                return Err(invalid());
            };
            // Exactly one poll collects the tokens.
            if !state.store.redeem_device_code(device.id).await? {
                return Err(invalid());
            }
            let refresh_scopes = app.allows(GrantType::RefreshToken).then_some(device.scopes);
            let minted = MintedTokens::draw(state, now, device.scopes, refresh_scopes, None);
            let refresh = minted.refresh.as_ref().map(|(_, record)| record.clone());
            state
                .store
                .issue_tokens(grant_id, minted.access_record.clone(), refresh)
                .await?;
            let account = state
                .store
                .account_by_id(account_id)
                .await?
                .ok_or(StoreError::NotFound)?;
            Ok(minted.response(state, &account.slug))
        }
    }
}
