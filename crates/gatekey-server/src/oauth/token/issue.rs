//! What every grant shares once it has decided to issue: fresh secrets with their lifetimes,
//! and the token response (RFC 6749 §5.1) with the account it acts in.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use gatekey_core::audit::{Actor, AuditAction, AuditEntry, CredentialRef};
use gatekey_core::oauth::grant::Grant;
use gatekey_core::oauth::token::{NewAccessToken, NewRefreshToken};
use gatekey_core::scope::ScopeSet;
use gatekey_core::secret::{Secret, SecretKind};
use gatekey_proto::oauth::TokenResponse;
use time::OffsetDateTime;

pub use super::access_token_text::TokenHolder;
use super::access_token_text::{after, AccessTokenText};
use super::id_token::sign_id_token;
use crate::auth::ClientInfo;
use crate::oauth::client_auth::AuthenticatedClient;
use crate::oauth::error::OAuthError;
use crate::oauth::form::OAuthForm;
use crate::state::AppState;

/// A token request that passed client authentication.
#[derive(Debug)]
pub struct TokenRequest {
    /// The server.
    pub state: AppState,
    /// The authenticated client.
    pub client: AuthenticatedClient,
    /// The request's parameters.
    pub form: OAuthForm,
    /// Where the request came from, for audit events.
    pub origin: ClientInfo,
    /// The resource servers the token is for: the request's `resource` values, each one the
    /// application registered (RFC 8707 §2); empty when it named none.
    pub audience: Vec<String>,
}

impl TokenRequest {
    /// The failed audit event of a spent credential presented again under `grant` (a replayed
    /// code, a reused refresh token): the client acting for the grant's user, in its account,
    /// about `target_type` `target_id`, saying what was revoked.
    pub fn reuse_audit(
        &self,
        grant: &Grant,
        action: AuditAction,
        (target_type, target_id): (&'static str, i64),
        what: &str,
    ) -> AuditEntry {
        let app = &self.client.application;
        AuditEntry::new(
            self.state.clock.now(),
            &self.actor(grant.user_id, grant.id),
            action,
            target_type,
        )
        .in_account(grant.account_id)
        .target(target_id)
        .detail(format!("{} ({}) presented {what}", app.name, app.client_id))
        .failed()
    }

    /// The actor of an audit event about this request: the client acting for `user_id` under
    /// `grant_id`.
    pub fn actor(&self, user_id: i64, grant_id: i64) -> Actor {
        Actor {
            user_id: Some(user_id),
            credential: CredentialRef::OAuth {
                client_id: self.client.application.client_id.clone(),
                grant_id,
            },
            ip: self.origin.ip.clone(),
            user_agent: self.origin.user_agent.clone(),
        }
    }
}

/// Freshly drawn tokens, in clear for the response and hashed for storage.
pub struct MintedTokens {
    /// The access token in clear.
    pub access: AccessTokenText,
    /// Its lifetime in seconds (`expires_in`).
    pub access_lifetime: u64,
    /// What to store for it.
    pub access_record: NewAccessToken,
    /// The refresh token in clear and what to store for it, when one is issued.
    pub refresh: Option<(Secret, NewRefreshToken)>,
    /// The access token's scopes.
    pub scopes: ScopeSet,
    /// The account the tokens act in, by slug.
    pub account_slug: String,
    /// The ID token, when the tokens carry `openid`.
    pub id_token: Option<String>,
}

impl MintedTokens {
    /// Draws an access token for `holder` with `scopes`, in the application's format, and a
    /// refresh token with `refresh_scopes` when given; `code_id` ties the access token to the
    /// code it redeems. The refresh token keeps the holder's sign-in (OpenID Connect
    /// `auth_time`, `sid`), so that every later refresh can report it. Fails only when a JWT
    /// must be signed and no key is loaded.
    pub fn draw(
        state: &AppState,
        now: OffsetDateTime,
        holder: &TokenHolder<'_>,
        scopes: ScopeSet,
        refresh_scopes: Option<ScopeSet>,
        code_id: Option<i64>,
    ) -> Result<Self, OAuthError> {
        let (access, access_lifetime) = AccessTokenText::draw(state, holder, &scopes, now)?;
        let access_record = NewAccessToken {
            hash: access.hash(),
            scopes: scopes.clone(),
            created_at: now,
            expires_at: after(now, access_lifetime),
            code_id,
            audience: holder.audience.to_vec(),
        };
        let refresh = refresh_scopes.map(|refresh_scopes| {
            let secret = Secret::generate(SecretKind::RefreshToken);
            let record = NewRefreshToken {
                hash: secret.hash(),
                scopes: refresh_scopes,
                created_at: now,
                expires_at: after(now, state.config.refresh_token_ttl),
                auth_time: holder.sign_in.as_ref().map(|s| s.auth_time),
                sid: holder.sign_in.as_ref().map(|s| s.sid.clone()),
                audience: holder.audience.to_vec(),
            };
            (secret, record)
        });
        let id_token = sign_id_token(state, holder, &scopes, access.expose(), now)?;
        Ok(Self {
            id_token,
            access,
            access_lifetime,
            access_record,
            refresh,
            scopes,
            account_slug: holder.account_slug.to_owned(),
        })
    }

    /// The same tokens with the refresh token for the resource servers `refresh`: a refresh
    /// keeps its grant's audience when the access token it issues was narrowed (RFC 8707 §2.2).
    /// Otherwise both carry the holder's audience.
    pub fn with_refresh_audience(mut self, refresh: Vec<String>) -> Self {
        if let Some((_, record)) = &mut self.refresh {
            record.audience = refresh;
        }
        self
    }

    /// The refresh token to store, if any.
    pub fn refresh_record(&self) -> Option<NewRefreshToken> {
        self.refresh.as_ref().map(|(_, record)| record.clone())
    }

    /// The token response (RFC 6749 §5.1). Only call once the tokens are stored.
    pub fn response(&self) -> Response {
        let body = TokenResponse {
            access_token: self.access.expose().to_owned(),
            token_type: "Bearer".to_owned(),
            expires_in: self.access_lifetime,
            scope: self.scopes.to_string(),
            refresh_token: self
                .refresh
                .as_ref()
                .map(|(secret, _)| secret.expose().to_owned()),
            account: self.account_slug.clone(),
            id_token: self.id_token.clone(),
        };
        (StatusCode::OK, Json(body)).into_response()
    }
}
