//! The token endpoint's successful answer (RFC 6749 §5.1) with gatekey's members, and what
//! the client makes of it: a `TokenSet`, with the identity of a validated ID token.

use std::time::SystemTime;

use oauth2::basic::BasicTokenType;
use oauth2::{ExtraTokenFields, StandardTokenResponse, TokenResponse};
use secrecy::SecretString;
use serde::{Deserialize, Serialize};

use super::OAuthClient;
use crate::id_token::{check_same_subject, IdTokenError};
use crate::tokens::TokenSet;
use crate::ClientError;

/// What gatekey's token response carries beyond RFC 6749 §5.1: the account the tokens act
/// in, and the OpenID Connect ID token. `Debug` hides the ID token.
#[derive(Clone, Default, Serialize, Deserialize)]
pub(crate) struct GatekeyFields {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    account: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    id_token: Option<String>,
}

impl std::fmt::Debug for GatekeyFields {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GatekeyFields")
            .field("account", &self.account)
            .field("id_token", &self.id_token.as_ref().map(|_| "***"))
            .finish()
    }
}

impl ExtraTokenFields for GatekeyFields {}

pub(crate) type GatekeyTokenResponse = StandardTokenResponse<GatekeyFields, BasicTokenType>;

/// The grant a token response answers, which decides what its ID token is checked against.
#[derive(Clone, Copy)]
pub(crate) enum Grant<'a> {
    /// No user, so no ID token expected.
    ClientCredentials,
    /// The code grant: the ID token must carry the nonce sent, when one was.
    Code { nonce: Option<&'a str> },
    /// The device grant: no nonce can be sent.
    Device,
    /// A refresh: an ID token may come (with the same `sub`), or the previous one stays.
    Refresh {
        refresh_token: &'a SecretString,
        previous: Option<&'a TokenSet>,
    },
}

impl OAuthClient {
    /// The tokens of a successful response to `grant`, with the identity of its ID token,
    /// which must pass validation (OpenID Connect Core 1.0 §3.1.3.7) or nothing is used. A
    /// response that grants `openid` to the code or device grant must carry an ID token
    /// (§3.1.3.3); a refresh without one keeps the previous identity (§12.2).
    pub(crate) async fn finish(
        &self,
        response: GatekeyTokenResponse,
        requested_at: SystemTime,
        grant: Grant<'_>,
    ) -> Result<TokenSet, ClientError> {
        let previous_refresh = match grant {
            Grant::Refresh { refresh_token, .. } => Some(refresh_token),
            _ => None,
        };
        let mut set = self.token_set(&response, requested_at, previous_refresh);
        let previous = match grant {
            Grant::Refresh { previous, .. } => previous,
            _ => None,
        };
        match response.extra_fields().id_token.as_deref() {
            Some(id_token) => {
                let nonce = match grant {
                    Grant::Code { nonce } => nonce,
                    _ => None,
                };
                let identity = self
                    .id_tokens
                    .verify(id_token, nonce, SystemTime::now())
                    .await?;
                check_same_subject(previous.and_then(TokenSet::identity), &identity)?;
                set.id_token = Some(SecretString::from(id_token.to_owned()));
                set.identity = Some(identity);
            }
            None => match grant {
                Grant::Refresh { .. } => {
                    set.id_token = previous.and_then(|p| p.id_token.clone());
                    set.identity = previous.and_then(|p| p.identity.clone());
                }
                Grant::Code { .. } | Grant::Device
                    if has_openid(set.scope.as_deref().or(self.scope.as_deref())) =>
                {
                    return Err(IdTokenError::Missing.into());
                }
                _ => {}
            },
        }
        Ok(set)
    }

    fn token_set(
        &self,
        response: &GatekeyTokenResponse,
        requested_at: SystemTime,
        previous_refresh: Option<&SecretString>,
    ) -> TokenSet {
        // A server that does not rotate keeps the old refresh token valid (RFC 6749 §6).
        let mut set = TokenSet::unknown_expiry(SecretString::from(
            response.access_token().secret().to_owned(),
        ))
        .expiring(requested_at, response.expires_in(), self.skew);
        set.refresh_token = response
            .refresh_token()
            .map(|t| SecretString::from(t.secret().to_owned()))
            .or_else(|| previous_refresh.cloned());
        set.scope = response.scopes().map(|scopes| {
            scopes
                .iter()
                .map(|s| s.as_str())
                .collect::<Vec<_>>()
                .join(" ")
        });
        set.account = response.extra_fields().account.clone();
        set
    }
}

/// Whether a space-separated scope has `openid` (OpenID Connect Core 1.0 §3.1.2.1).
pub(super) fn has_openid(scope: Option<&str>) -> bool {
    scope.is_some_and(|scope| scope.split_whitespace().any(|s| s == "openid"))
}
