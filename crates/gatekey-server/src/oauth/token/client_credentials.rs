//! The client credentials grant (RFC 6749 §4.4): a confidential client linked to a service
//! account gets an access token acting as that service account in the client's account. No
//! refresh token (RFC 6749 §4.4.3): the client can always ask again.

use std::sync::Arc;

use axum::response::Response;
use gatekey_core::audit::{Actor, AuditAction, AuditEntry, CredentialRef};
use gatekey_core::oauth::exchange::{client_credentials_allowed, client_credentials_scopes};
use gatekey_core::oauth::grant::Grant;
use gatekey_core::oauth::store::{GrantStore, TokenStore};
use gatekey_core::scope::ScopeSet;
use gatekey_core::store::{AccountStore, StoreError, UserStore};

use super::issue::{MintedTokens, TokenHolder, TokenRequest};
use crate::oauth::error::OAuthError;
use crate::oauth::service_account_cache::ServiceAccountContext;

/// Issues an access token for the client's service account.
pub async fn issue_for_service_account(request: &TokenRequest) -> Result<Response, OAuthError> {
    let state = &request.state;
    let app = &request.client.application;
    let context = match state.service_accounts.get(app.id) {
        Some(context) if Some(context.member.user.id) == app.service_account_id => context,
        _ => load_context(request).await?,
    };
    let held = state.account_scopes(app.account_id).await?;
    let scopes =
        client_credentials_scopes(app, Some(&context.member), &held, request.form.get("scope"))?;
    let grant_id = if scopes.is_subset_of(&context.grant.scopes) {
        context.grant.id
    } else {
        let allowed = client_credentials_allowed(app, held.held_by(context.member.membership.role));
        grant_for(request, context.member.user.id, &scopes, allowed)
            .await?
            .id
    };
    let now = state.clock.now();
    let holder = TokenHolder {
        user: &context.member.user,
        account_slug: &context.account_slug,
        application: app,
        audience: &request.audience,
        sign_in: None,
        nonce: None,
    };
    let minted = MintedTokens::draw(state, now, &holder, scopes, None, None)?;
    state
        .store
        .issue_tokens(grant_id, minted.access_record.clone(), None)
        .await?;
    Ok(minted.response())
}

/// Reads the service account, its grant and the account, and caches them for the next
/// issuance. Refusals (no usable service account) are not cached.
async fn load_context(request: &TokenRequest) -> Result<Arc<ServiceAccountContext>, OAuthError> {
    let state = &request.state;
    let app = &request.client.application;
    let generation = state.service_accounts.generation();
    let service_account = match app.service_account_id {
        Some(user_id) => state.store.member(app.account_id, user_id).await?,
        None => None,
    };
    let held = state.account_scopes(app.account_id).await?;
    let scopes = client_credentials_scopes(
        app,
        service_account.as_ref(),
        &held,
        request.form.get("scope"),
    )?;
    // The rules above refuse a client without a usable service account; this cannot fail.
    let Some(member) = service_account else {
        return Err(OAuthError::unavailable(&StoreError::NotFound));
    };
    let allowed = client_credentials_allowed(app, held.held_by(member.membership.role));
    let grant = grant_for(request, member.user.id, &scopes, allowed).await?;
    let account = state
        .store
        .account_by_id(app.account_id)
        .await?
        .ok_or(StoreError::NotFound)?;
    let context = Arc::new(ServiceAccountContext {
        member,
        grant,
        account_slug: account.slug,
    });
    state
        .service_accounts
        .insert(app.id, context.clone(), generation);
    Ok(context)
}

/// The standing grant of the service account to this client covering `scopes`, made on first
/// use with every scope the client may have, so tokens hang off a grant like any other and
/// revoking it (or deleting the application) ends them.
async fn grant_for(
    request: &TokenRequest,
    user_id: i64,
    scopes: &ScopeSet,
    allowed: ScopeSet,
) -> Result<Grant, OAuthError> {
    let state = &request.state;
    let app = &request.client.application;
    if let Some(grant) = state
        .store
        .active_grant(user_id, app.account_id, app.id)
        .await?
    {
        if scopes.is_subset_of(&grant.scopes) {
            return Ok(grant);
        }
    }
    let actor = Actor {
        user_id: Some(user_id),
        credential: CredentialRef::Anonymous,
        ip: request.origin.ip.clone(),
        user_agent: request.origin.user_agent.clone(),
    };
    let audit = AuditEntry::new(
        state.clock.now(),
        &actor,
        AuditAction::ConsentGranted,
        "grant",
    )
    .detail(format!(
        "client_credentials of {} ({}) for its service account, scopes {allowed}",
        app.name, app.client_id
    ));
    Ok(state
        .store
        .create_grant(
            user_id,
            app.account_id,
            app.id,
            allowed,
            state.clock.now(),
            audit,
        )
        .await?)
}
