//! Tokens and codes as stored, and what the store answers when they are presented.
//!
//! Access tokens (`gk_at_`), refresh tokens (`gk_rt_`) and authorization codes (`gk_ac_`) are
//! opaque 256-bit secrets kept only as SHA-256 digests. Refresh tokens come in families: each
//! rotation adds a member, and presenting a member that was already spent revokes the whole
//! family (RFC 9700 §4.14.2).

use std::sync::Arc;

use time::OffsetDateTime;

use super::application::Application;
use super::grant::Grant;
use super::sign_in::SignIn;
use crate::account::Account;
use crate::role::Role;
use crate::scope::ScopeSet;
use crate::secret::TokenHash;
use crate::user::User;

/// An authorization code to store.
#[derive(Debug, Clone)]
pub struct NewCode {
    /// SHA-256 of the code.
    pub hash: TokenHash,
    /// The grant it redeems into.
    pub grant_id: i64,
    /// The redirect URI it was issued for (RFC 6749 §4.1.3: must be presented again).
    pub redirect_uri: String,
    /// The scopes it carries.
    pub scopes: ScopeSet,
    /// The S256 PKCE challenge, if one was given.
    pub code_challenge: Option<String>,
    /// The request's `nonce` (OpenID Connect Core §3.1.2.1), for the ID token.
    pub nonce: Option<String>,
    /// When the user signed in (OpenID Connect `auth_time`); `None` for rows older than the
    /// column.
    pub auth_time: Option<OffsetDateTime>,
    /// The session the authorization came from (OpenID Connect `sid`, see
    /// [`super::sign_in::session_sid`]); `None` for rows older than the column.
    pub sid: Option<String>,
    /// Issue time.
    pub created_at: OffsetDateTime,
    /// Expiry.
    pub expires_at: OffsetDateTime,
}

/// A stored authorization code, with what it grants.
#[derive(Debug, Clone)]
pub struct CodeRecord {
    /// Database id.
    pub id: i64,
    /// The grant.
    pub grant: Grant,
    /// The application of the grant.
    pub application: Application,
    /// The redirect URI it was issued for.
    pub redirect_uri: String,
    /// Its scopes.
    pub scopes: ScopeSet,
    /// The PKCE challenge.
    pub code_challenge: Option<String>,
    /// The request's `nonce` (OpenID Connect Core §3.1.2.1), for the ID token.
    pub nonce: Option<String>,
    /// When the user signed in (OpenID Connect `auth_time`); `None` for rows older than the
    /// column.
    pub auth_time: Option<OffsetDateTime>,
    /// The session the authorization came from (OpenID Connect `sid`, see
    /// [`super::sign_in::session_sid`]); `None` for rows older than the column.
    pub sid: Option<String>,
    /// Expiry.
    pub expires_at: OffsetDateTime,
}

/// What presenting a code found.
#[derive(Debug, Clone)]
pub enum CodeRedemption {
    /// First use: the code is now spent.
    Redeemed(Box<CodeRecord>),
    /// The code was already spent: a replay. Tokens issued from it must be revoked (RFC 6749
    /// §4.1.2, RFC 9700 §4.2.4).
    Replayed(Box<CodeRecord>),
    /// No such code.
    Unknown,
}

/// An access token to store.
#[derive(Debug, Clone)]
pub struct NewAccessToken {
    /// SHA-256 of the token.
    pub hash: TokenHash,
    /// Its scopes.
    pub scopes: ScopeSet,
    /// Issue time.
    pub created_at: OffsetDateTime,
    /// Expiry.
    pub expires_at: OffsetDateTime,
    /// The code it was issued from, so a replayed code can revoke it.
    pub code_id: Option<i64>,
    /// The resource servers it is for (RFC 8707), empty for none in particular; see
    /// [`super::resource_indicator`].
    pub audience: Vec<String>,
}

/// A refresh token to store.
#[derive(Debug, Clone)]
pub struct NewRefreshToken {
    /// SHA-256 of the token.
    pub hash: TokenHash,
    /// Its scopes.
    pub scopes: ScopeSet,
    /// When the user signed in (OpenID Connect `auth_time`); `None` for tokens whose
    /// authorization recorded none.
    pub auth_time: Option<OffsetDateTime>,
    /// The session the authorization came from (OpenID Connect `sid`, see
    /// [`super::sign_in::session_sid`]); `None` for rows older than the column.
    pub sid: Option<String>,

    /// Issue time.
    pub created_at: OffsetDateTime,
    /// Expiry.
    pub expires_at: OffsetDateTime,
    /// The audience of its grant (RFC 8707 §2.2): what its refreshes may narrow, never widen.
    pub audience: Vec<String>,
}

/// Ids of tokens just stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IssuedTokens {
    /// The access token.
    pub access_token_id: i64,
    /// The refresh token, if one was issued.
    pub refresh_token_id: Option<i64>,
    /// The refresh family, if any.
    pub family_id: Option<i64>,
}

/// A presented access or refresh token with everything needed to act on it.
#[derive(Debug, Clone)]
pub struct TokenRecord {
    /// Database id of the token.
    pub id: i64,
    /// Its refresh family, if it belongs to one.
    pub family_id: Option<i64>,
    /// Its scopes.
    pub scopes: ScopeSet,
    /// Issue time.
    pub created_at: OffsetDateTime,
    /// Expiry.
    pub expires_at: OffsetDateTime,
    /// When it was revoked.
    pub revoked_at: Option<OffsetDateTime>,
    /// For refresh tokens: when it was spent by a rotation.
    pub used_at: Option<OffsetDateTime>,
    /// For refresh tokens: when the user signed in for the authorization the family started
    /// from (OpenID Connect `auth_time`). `None` for access tokens and older refresh tokens.
    pub auth_time: Option<OffsetDateTime>,
    /// For refresh tokens: the `sid` of that sign-in. `None` for access tokens and older
    /// refresh tokens.
    pub sid: Option<String>,
    /// The resource servers it is for (RFC 8707), empty for none in particular.
    pub audience: Vec<String>,
    /// The grant.
    pub grant: Grant,
    /// The application.
    pub application: Arc<Application>,
    /// The user.
    pub user: Arc<User>,
    /// The account.
    pub account: Arc<Account>,
    /// The user's role in the account, if still a member.
    pub role: Option<Role>,
}

impl CodeRecord {
    /// The sign-in the code was issued under (for the ID token's `auth_time` and `sid`).
    pub fn sign_in(&self) -> Option<SignIn> {
        SignIn::from_parts(self.auth_time, self.sid.as_deref())
    }
}

impl TokenRecord {
    /// For a refresh token: the sign-in its family started from, to carry on to its
    /// successor and to report in an ID token issued on the refresh.
    pub fn sign_in(&self) -> Option<SignIn> {
        SignIn::from_parts(self.auth_time, self.sid.as_deref())
    }

    /// Whether the token may be used at `now`: not revoked, not expired, its grant standing,
    /// its user enabled and still a member.
    pub fn is_active_at(&self, now: OffsetDateTime) -> bool {
        self.revoked_at.is_none()
            && now < self.expires_at
            && self.grant.is_active()
            && !self.user.is_disabled()
            && self.role.is_some()
    }
}

/// What presenting a refresh token for rotation found.
#[derive(Debug, Clone)]
pub enum RefreshRotation {
    /// The token was current; it is now spent and its successors are stored.
    Rotated {
        /// The spent token.
        spent: Box<TokenRecord>,
        /// The new tokens.
        issued: IssuedTokens,
    },
    /// The token was already spent: the family has been revoked.
    Reused(Box<TokenRecord>),
    /// No such token, or revoked, or expired, or its grant gone.
    Invalid(Option<Box<TokenRecord>>),
}
