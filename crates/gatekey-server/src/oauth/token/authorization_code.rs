//! The authorization code grant's token request (RFC 6749 §4.1.3, RFC 7636 §4.5): a code is
//! spent on first presentation, whatever follows; a second presentation is a replay, and the
//! tokens issued from that code are revoked (RFC 6749 §4.1.2, RFC 9700 §4.2.4).

use axum::response::Response;
use gatekey_core::audit::AuditAction;
use gatekey_core::oauth::exchange::{
    check_code, effective_issued_scopes, CodeExchange, ExchangeError,
};
use gatekey_core::oauth::offline_access::issues_refresh_token;
use gatekey_core::oauth::store::TokenStore;
use gatekey_core::oauth::token::{CodeRecord, CodeRedemption};
use gatekey_core::secret::{Secret, SecretKind};
use gatekey_core::store::{AccountStore, StoreError, UserStore};

use super::issue::{MintedTokens, TokenHolder, TokenRequest};
use crate::metrics::ReusedCredential;
use crate::oauth::error::OAuthError;

/// Exchanges an authorization code for an access token, and a refresh token when the client
/// may use the refresh grant.
pub async fn exchange_code(request: &TokenRequest) -> Result<Response, OAuthError> {
    let state = &request.state;
    let form = &request.form;
    let presented = form.require("code")?;
    let unknown = || ExchangeError::invalid_grant("the code is invalid");
    let secret = Secret::parse(SecretKind::AuthorizationCode, presented).map_err(|_| unknown())?;
    let now = state.clock.now();
    let code = match state.store.redeem_code(&secret.hash(), now).await? {
        CodeRedemption::Redeemed(code) => code,
        CodeRedemption::Replayed(code) => return Err(revoke_replayed_code(request, &code).await),
        CodeRedemption::Unknown => return Err(unknown().into()),
    };
    let app = &request.client.application;
    let holder = state
        .store
        .member(code.grant.account_id, code.grant.user_id)
        .await?;
    let exchange = CodeExchange {
        client: app,
        redirect_uri: form.get("redirect_uri"),
        code_verifier: form.get("code_verifier"),
    };
    check_code(&code, &exchange, holder.as_ref(), now)?;
    // `check_code` refuses a code whose user is no longer a member.
    let Some(holder) = holder else {
        return Err(unknown().into());
    };
    let held = state.account_scopes(code.grant.account_id).await?;
    let scopes = effective_issued_scopes(&code.scopes, app, &holder, &held)?;
    let account = state
        .store
        .account_by_id(code.grant.account_id)
        .await?
        .ok_or(StoreError::NotFound)?;
    let refresh_scopes = issues_refresh_token(app, &code.scopes).then(|| code.scopes.clone());
    let holder = TokenHolder {
        user: &holder.user,
        account_slug: &account.slug,
        application: app,
        audience: &request.audience,
        sign_in: code.sign_in(),
        nonce: code.nonce.as_deref(),
    };
    let minted = MintedTokens::draw(state, now, &holder, scopes, refresh_scopes, Some(code.id))?;
    state
        .store
        .issue_tokens(
            code.grant.id,
            minted.access_record.clone(),
            minted.refresh_record(),
        )
        .await?;
    Ok(minted.response())
}

/// Revokes every token issued from a replayed code, records the audit event, and returns the
/// error to answer.
async fn revoke_replayed_code(request: &TokenRequest, code: &CodeRecord) -> OAuthError {
    let state = &request.state;
    let app = &request.client.application;
    state
        .metrics
        .reuse_detected(ReusedCredential::AuthorizationCode);
    tracing::warn!(
        client_id = %app.client_id,
        code_id = code.id,
        "a spent authorization code was presented again; revoking its tokens"
    );
    let now = state.clock.now();
    let audit = request.reuse_audit(
        &code.grant,
        AuditAction::CodeReplayDetected,
        ("authorization_code", code.id),
        "a spent authorization code; the tokens issued from it were revoked",
    );
    if let Err(error) = state.store.revoke_tokens_of_code(code.id, now, audit).await {
        return OAuthError::unavailable(&error);
    }
    ExchangeError::invalid_grant(
        "the code was already used; the tokens issued from it have been revoked",
    )
    .into()
}
