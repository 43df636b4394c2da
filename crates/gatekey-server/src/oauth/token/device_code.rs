//! The device code grant (RFC 8628 §3.4, §3.5): the device polls with its device code until
//! the user decides, then collects its tokens exactly once. What each poll gets is decided by
//! [`check_device_poll`]; this handler looks the records up and stores what it allows.

use axum::response::Response;
use gatekey_core::oauth::device::{check_device_poll, unknown_device_code, DeviceRefusal};
use gatekey_core::oauth::exchange::{effective_issued_scopes, ExchangeError};
use gatekey_core::oauth::offline_access::issues_refresh_token;
use gatekey_core::oauth::store::{DeviceStore, TokenStore};
use gatekey_core::secret::{Secret, SecretKind};
use gatekey_core::store::{AccountStore, StoreError, UserStore};

use super::issue::{MintedTokens, TokenHolder, TokenRequest};
use crate::oauth::error::OAuthError;

/// Answers one poll of a device.
pub async fn poll_device(request: &TokenRequest) -> Result<Response, OAuthError> {
    let state = &request.state;
    let app = &request.client.application;
    let presented = request.form.require("device_code")?;
    let invalid = || OAuthError::from(ExchangeError::from(unknown_device_code()));
    let hash = Secret::parse(SecretKind::DeviceCode, presented)
        .map_err(|_| invalid())?
        .hash();
    let now = state.clock.now();
    let Some(device) = state.store.poll_device_code(&hash, now).await? else {
        return Err(invalid());
    };
    let holder = match &device.grant {
        Some(grant) => state.store.member(grant.account_id, grant.user_id).await?,
        None => None,
    };
    let issue = match check_device_poll(&device, app, holder.as_ref(), now) {
        Ok(issue) => issue,
        Err(refusal) => {
            if let DeviceRefusal::SlowDown { interval_secs } = refusal {
                state
                    .store
                    .slow_down_device_code(device.id, interval_secs)
                    .await?;
            }
            return Err(ExchangeError::from(refusal).into());
        }
    };
    // `check_device_poll` refuses a grant whose user is no longer a member.
    let Some(holder) = holder else {
        return Err(invalid());
    };
    let held = state.account_scopes(issue.grant.account_id).await?;
    let scopes = effective_issued_scopes(&issue.scopes, app, &holder, &held)?;
    // Exactly one poll collects the tokens.
    if !state.store.redeem_device_code(device.id).await? {
        return Err(invalid());
    }
    let refresh_scopes = issues_refresh_token(app, &issue.scopes).then(|| issue.scopes.clone());
    let account = state
        .store
        .account_by_id(issue.grant.account_id)
        .await?
        .ok_or(StoreError::NotFound)?;
    let holder = TokenHolder {
        user: &holder.user,
        account_slug: &account.slug,
        application: app,
        audience: &request.audience,
        sign_in: device.sign_in(),
        nonce: None,
    };
    let minted = MintedTokens::draw(state, now, &holder, scopes, refresh_scopes, None)?;
    state
        .store
        .issue_tokens(
            issue.grant.id,
            minted.access_record.clone(),
            minted.refresh_record(),
        )
        .await?;
    Ok(minted.response())
}
