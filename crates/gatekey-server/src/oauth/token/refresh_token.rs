//! The refresh token grant (RFC 6749 §6) with rotation (RFC 9700 §4.14.2): every use spends the
//! presented refresh token and issues its successor in the same family; presenting a spent one
//! means two parties hold it, so the whole family is revoked, the newest tokens included.

use axum::response::Response;
use gatekey_core::audit::AuditAction;
use gatekey_core::oauth::exchange::{check_refresh, ExchangeError, RefreshDecision};
use gatekey_core::oauth::resource_indicator::refreshed_audience;
use gatekey_core::oauth::store::TokenStore;
use gatekey_core::oauth::token::TokenRecord;
use gatekey_core::secret::{Secret, SecretKind};

use super::issue::{MintedTokens, TokenHolder, TokenRequest};
use crate::metrics::ReusedCredential;
use crate::oauth::error::OAuthError;

/// Exchanges a refresh token for a new access token and a new refresh token.
pub async fn exchange_refresh_token(request: &TokenRequest) -> Result<Response, OAuthError> {
    let state = &request.state;
    let presented = request.form.require("refresh_token")?;
    let unknown = || ExchangeError::invalid_grant("the refresh token is invalid");
    let secret = Secret::parse(SecretKind::RefreshToken, presented).map_err(|_| unknown())?;
    let Some(token) = state.store.refresh_token(&secret.hash()).await? else {
        return Err(unknown().into());
    };
    let now = state.clock.now();
    let app = &request.client.application;
    let held = state.account_scopes(token.account.id).await?;
    let access_scopes = match check_refresh(&token, app, &held, request.form.get("scope"), now)? {
        RefreshDecision::Rotate { access_scopes } => access_scopes,
        RefreshDecision::Reused => return Err(revoke_reused_family(request, &token).await),
    };
    let Some(family_id) = token.family_id else {
        return Err(unknown().into());
    };
    // RFC 8707 §2.2: the access token is for the resources asked for, each one the grant's;
    // without `resource`, for the grant's.
    let access_audience =
        refreshed_audience(&app.resources, &token.audience, request.form.resources())?;
    // RFC 6749 §6: the new refresh token keeps the spent one's scope (and audience), whatever
    // the access token was narrowed to; and the sign-in, so a refreshed ID token keeps its
    // auth_time.
    let holder = TokenHolder {
        user: &token.user,
        account_slug: &token.account.slug,
        application: app,
        audience: &access_audience,
        sign_in: token.sign_in(),
        nonce: None,
    };
    let minted = MintedTokens::draw(
        state,
        now,
        &holder,
        access_scopes,
        Some(token.scopes.clone()),
        None,
    )?
    .with_refresh_audience(token.audience.clone());
    let Some(refresh) = minted.refresh_record() else {
        return Err(unknown().into());
    };
    let rotated = state
        .store
        .rotate_refresh_token(
            token.id,
            family_id,
            token.grant.id,
            now,
            minted.access_record.clone(),
            refresh,
        )
        .await?;
    match rotated {
        Some(_) => Ok(minted.response()),
        // Another request spent it between our read and our write: reuse all the same.
        None => Err(revoke_reused_family(request, &token).await),
    }
}

/// Revokes the family of a refresh token presented after it was spent, records the audit
/// event, evicts the family's access tokens from this server's cache at once, and returns the
/// error to answer.
async fn revoke_reused_family(request: &TokenRequest, token: &TokenRecord) -> OAuthError {
    let state = &request.state;
    state.metrics.reuse_detected(ReusedCredential::RefreshToken);
    let Some(family_id) = token.family_id else {
        return ExchangeError::invalid_grant("the refresh token is invalid").into();
    };
    let app = &request.client.application;
    tracing::warn!(
        client_id = %app.client_id,
        family_id,
        "a spent refresh token was presented again; revoking its family"
    );
    let now = state.clock.now();
    let audit = request.reuse_audit(
        &token.grant,
        AuditAction::RefreshReuseDetected,
        ("refresh_token_family", family_id),
        "a spent refresh token; every token of the family was revoked",
    );
    if let Err(error) = state.store.revoke_family(family_id, now, Some(audit)).await {
        return OAuthError::unavailable(&error);
    }
    ExchangeError::invalid_grant(
        "the refresh token was already used; the tokens of this authorization have been revoked",
    )
    .into()
}
