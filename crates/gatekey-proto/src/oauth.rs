//! Bodies of the OAuth 2.0 endpoints: the token response (RFC 6749 §5.1), introspection
//! (RFC 7662 §2.2) and the authorization server metadata (RFC 8414 §2). Errors use
//! [`crate::ErrorBody`] (RFC 6749 §5.2).

use serde::{Deserialize, Serialize};

/// A successful token response (RFC 6749 §5.1), plus the account the tokens act in.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenResponse {
    /// The access token.
    pub access_token: String,
    /// Always `Bearer` (RFC 6750).
    pub token_type: String,
    /// Seconds until the access token expires.
    pub expires_in: u64,
    /// The access token's scopes, space-separated.
    pub scope: String,
    /// A refresh token, when one is issued.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refresh_token: Option<String>,
    /// The slug of the account the tokens act in.
    pub account: String,
    /// An OpenID Connect ID token (OpenID Connect Core 1.0 §3.1.3.3), when `openid` was
    /// granted. A credential: `Debug` does not show it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id_token: Option<String>,
}

impl std::fmt::Debug for TokenResponse {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenResponse")
            .field("access_token", &crate::redacted::Redacted)
            .field("token_type", &self.token_type)
            .field("expires_in", &self.expires_in)
            .field("scope", &self.scope)
            .field(
                "refresh_token",
                &self
                    .refresh_token
                    .as_ref()
                    .map(|_| crate::redacted::Redacted),
            )
            .field("account", &self.account)
            .field(
                "id_token",
                &self.id_token.as_ref().map(|_| crate::redacted::Redacted),
            )
            .finish()
    }
}

/// An introspection response (RFC 7662 §2.2), for an access token, a refresh token or an API
/// key. An inactive one is exactly `{"active":false}`: every other field is left out.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct IntrospectionResponse {
    /// Whether the token or key is currently active.
    pub active: bool,
    /// What it may do now, space-separated.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
    /// The client a token was issued to; absent for an API key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_id: Option<String>,
    /// The email of the user it acts as.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    /// The id of the user it acts as, as a string.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sub: Option<String>,
    /// The slug of the account it acts in.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account: Option<String>,
    /// The id of the account it acts in (a gatekey addition, like `account`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account_id: Option<i64>,
    /// The user's role in that account now: `owner`, `admin`, `member` or `viewer` (a gatekey
    /// addition).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<String>,
    /// Expiry, in seconds since the Unix epoch; absent for an API key that never expires.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exp: Option<i64>,
    /// Issue time (an API key's creation), in seconds since the Unix epoch.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iat: Option<i64>,
    /// `Bearer` for an access token, `refresh_token` for a refresh token, `api_key` for an API
    /// key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_type: Option<String>,
    /// The issuer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iss: Option<String>,
}

impl IntrospectionResponse {
    /// `{"active":false}`.
    pub fn inactive() -> Self {
        Self::default()
    }
}

/// The authorization server metadata (RFC 8414 §2).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuthorizationServerMetadata {
    /// The issuer: the configured public URL, exactly.
    pub issuer: String,
    /// `GET /oauth/authorize`.
    pub authorization_endpoint: String,
    /// `POST /oauth/token`.
    pub token_endpoint: String,
    /// `POST /oauth/revoke` (RFC 7009).
    pub revocation_endpoint: String,
    /// `POST /oauth/introspect` (RFC 7662).
    pub introspection_endpoint: String,
    /// `POST /oauth/device_authorization` (RFC 8628), once it exists.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub device_authorization_endpoint: Option<String>,
    /// The scopes there are.
    pub scopes_supported: Vec<String>,
    /// The response types of the authorization endpoint.
    pub response_types_supported: Vec<String>,
    /// The grant types of the token endpoint.
    pub grant_types_supported: Vec<String>,
    /// PKCE methods (RFC 7636): `S256` only.
    pub code_challenge_methods_supported: Vec<String>,
    /// Client authentication at the token endpoint.
    pub token_endpoint_auth_methods_supported: Vec<String>,
    /// Client authentication at the revocation endpoint.
    pub revocation_endpoint_auth_methods_supported: Vec<String>,
    /// Client authentication at the introspection endpoint.
    pub introspection_endpoint_auth_methods_supported: Vec<String>,
    /// Whether the authorization response carries `iss` (RFC 9207).
    pub authorization_response_iss_parameter_supported: bool,
    /// `GET /oauth/jwks`: the public signing keys (RFC 8414 §2). Absent from documents of
    /// servers that publish none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jwks_uri: Option<String>,
}

/// The OpenID Provider metadata (OpenID Connect Discovery 1.0 §3): the RFC 8414 document's
/// members, the very same, and those OpenID Connect adds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OpenIdProviderMetadata {
    /// Every member of the RFC 8414 document.
    #[serde(flatten)]
    pub oauth: AuthorizationServerMetadata,
    /// `GET`/`POST /oauth/userinfo` (Core §5.3).
    pub userinfo_endpoint: String,
    /// Where a relying party ends the session (RP-Initiated Logout 1.0), once it exists.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end_session_endpoint: Option<String>,
    /// The response modes: `query`, and `fragment` for the implicit flow.
    pub response_modes_supported: Vec<String>,
    /// `public` only: `sub` is the same for every client.
    pub subject_types_supported: Vec<String>,
    /// The algorithms ID tokens may be signed with.
    pub id_token_signing_alg_values_supported: Vec<String>,
    /// The claims gatekey may state.
    pub claims_supported: Vec<String>,
    /// The `prompt` values the authorization endpoint understands, once it does.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prompt_values_supported: Option<Vec<String>>,
    /// Whether the `claims` request parameter is understood.
    pub claims_parameter_supported: bool,
    /// Whether the `request` parameter (a request object) is understood.
    pub request_parameter_supported: bool,
    /// Whether the `request_uri` parameter is understood.
    pub request_uri_parameter_supported: bool,
}

/// The UserInfo answer (OpenID Connect Core 1.0 §5.3.2): the claims the access token's scopes
/// allow.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserInfoResponse {
    /// The subject: the user's id, in decimal.
    pub sub: String,
    /// The user's name (`profile` scope).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// The person's email (`email` scope).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// Whether gatekey verified the email; beside `email`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email_verified: Option<bool>,
    /// The slug of the account the user acted in, under the claim name `gatekey:account`.
    #[serde(rename = "gatekey:account")]
    pub account: String,
}
