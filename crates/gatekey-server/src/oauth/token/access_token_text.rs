//! The access token handed to a client, in the application's format: an opaque `gk_at_`
//! secret, or a JWT access token (RFC 9068) signed with the current key of
//! `jwt_access_token_alg` (EdDSA by default: a signature made in tens of microseconds, where
//! ES256 takes several times longer and RS256 a millisecond and more). Both are stored
//! by the SHA-256 of their text, so every later check treats them alike.

use gatekey_core::oauth::application::{AccessTokenFormat, Application};
use gatekey_core::oauth::jwt_access_token::{
    AccessTokenClaims, AccessTokenSubject, ACCESS_TOKEN_JWT_TYPE,
};
use gatekey_core::oauth::sign_in::SignIn;
use gatekey_core::scope::ScopeSet;
use gatekey_core::secret::{Secret, SecretKind, TokenHash};
use gatekey_core::user::User;
use time::{Duration, OffsetDateTime};

use crate::oauth::error::OAuthError;
use crate::state::AppState;

/// An access token in clear. `Debug` shows only its kind.
pub enum AccessTokenText {
    /// A `gk_at_` secret.
    Opaque(Secret),
    /// A signed JWT.
    Jwt(String),
}

impl std::fmt::Debug for AccessTokenText {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Opaque(_) => f.write_str("AccessTokenText::Opaque(…)"),
            Self::Jwt(_) => f.write_str("AccessTokenText::Jwt(…)"),
        }
    }
}

/// Who a token is drawn for.
#[derive(Debug, Clone)]
pub struct TokenHolder<'a> {
    /// The user it acts as.
    pub user: &'a User,
    /// The slug of the account it acts in.
    pub account_slug: &'a str,
    /// The application it is issued to.
    pub application: &'a Application,
    /// Its audiences (RFC 8707); empty for gatekey's own API.
    pub audience: &'a [String],
    /// The sign-in behind the authorization, when a person signed in (OpenID Connect
    /// `auth_time` and `sid`).
    pub sign_in: Option<SignIn>,
    /// The authorization request's `nonce`, for the ID token of a code exchange.
    pub nonce: Option<&'a str>,
}

impl AccessTokenText {
    /// A fresh token for `holder` with `scopes`, and when it expires: `access_token_ttl` for an
    /// opaque token, the shorter `jwt_access_token_ttl` for a JWT.
    pub fn draw(
        state: &AppState,
        holder: &TokenHolder<'_>,
        scopes: &ScopeSet,
        now: OffsetDateTime,
    ) -> Result<(Self, u64), OAuthError> {
        match holder.application.access_token_format {
            AccessTokenFormat::Opaque => Ok((
                Self::Opaque(Secret::generate(SecretKind::AccessToken)),
                state.config.access_token_ttl,
            )),
            AccessTokenFormat::Jwt => {
                let lifetime = state.config.jwt_access_token_ttl;
                let algorithm = state.config.jwt_access_token_algorithm();
                let signer = state
                    .signing_keys
                    .loaded()
                    .signer(algorithm, now)
                    .ok_or_else(|| OAuthError::no_signing_key(algorithm))?;
                let subject = AccessTokenSubject {
                    issuer: &state.issuer,
                    user_id: holder.user.id,
                    account_slug: holder.account_slug,
                    client_id: &holder.application.client_id,
                    audience: holder.audience,
                };
                let claims = AccessTokenClaims::new(&subject, scopes, now, after(now, lifetime));
                let token = signer
                    .sign(ACCESS_TOKEN_JWT_TYPE, &claims)
                    .map_err(|_| OAuthError::no_signing_key(algorithm))?;
                Ok((Self::Jwt(token), lifetime))
            }
        }
    }

    /// The token's text.
    pub fn expose(&self) -> &str {
        match self {
            Self::Opaque(secret) => secret.expose(),
            Self::Jwt(token) => token,
        }
    }

    /// What is stored of it.
    pub fn hash(&self) -> TokenHash {
        match self {
            Self::Opaque(secret) => secret.hash(),
            Self::Jwt(token) => TokenHash::of(token),
        }
    }
}

/// `now + seconds`, saturating instead of overflowing on absurd configured lifetimes.
pub fn after(now: OffsetDateTime, seconds: u64) -> OffsetDateTime {
    now.saturating_add(Duration::seconds(
        i64::try_from(seconds).unwrap_or(i64::MAX),
    ))
}
