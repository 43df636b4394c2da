//! Bodies of the REST API (`/api/v1/…`). Times are RFC 3339 strings in UTC.

use std::fmt;

use serde::{Deserialize, Serialize};

#[cfg(feature = "openapi")]
use crate::schema_values::{
    AccessTokenFormatName, ClientTypeName, GrantTypeName, IdTokenAlgName, RefillIntervalName,
    RoleName, UserKindName,
};

use crate::redacted::Redacted;

/// The `pagination` object of every list.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Pagination {
    /// Items in the whole list.
    pub total_records: u64,
    /// Pages in the whole list.
    pub total_pages: u64,
    /// The page returned (from 1).
    pub current_page: u32,
}

/// A user as the API shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct UserView {
    /// User id.
    pub id: i64,
    /// Email (lower-cased).
    pub email: String,
    /// Display name.
    pub name: String,
    /// `person` or `service`.
    #[cfg_attr(feature = "openapi", schema(value_type = UserKindName))]
    pub kind: String,
    /// Whether the user is disabled.
    pub disabled: bool,
    /// Creation time.
    #[cfg_attr(feature = "openapi", schema(format = DateTime))]
    pub created_at: String,
}

/// A user together with their role in the account being looked at.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MemberView {
    /// The user.
    #[serde(flatten)]
    pub user: UserView,
    /// `owner`, `admin`, `member` or `viewer`.
    #[cfg_attr(feature = "openapi", schema(value_type = RoleName))]
    pub role: String,
}

/// An account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AccountView {
    /// Account id.
    pub id: i64,
    /// Unique slug.
    pub slug: String,
    /// Display name.
    pub name: String,
}

/// The credential a request was made with.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CredentialView {
    /// `api_key`, `oauth` or `session`.
    #[serde(rename = "type")]
    pub kind: String,
    /// The API key's id, for `api_key`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<i64>,
    /// The application's client id, for `oauth`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_id: Option<String>,
    /// When the credential expires, if it does.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(format = DateTime))]
    pub expires_at: Option<String>,
}

/// `GET /api/v1/me`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MeResponse {
    /// Who the caller acts as.
    pub user: UserView,
    /// Where.
    pub account: AccountView,
    /// The caller's role in the account.
    #[cfg_attr(feature = "openapi", schema(value_type = RoleName))]
    pub role: String,
    /// With what.
    pub credential: CredentialView,
    /// What the caller may do: the role's scopes intersected with the credential's.
    pub scopes: Vec<String>,
}

/// An API key, without its secret.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ApiKeyView {
    /// Key id.
    pub id: i64,
    /// Its name.
    pub name: String,
    /// The non-secret beginning of the key.
    pub prefix: String,
    /// After a roll with a grace period: the beginning of the replaced secret.
    #[serde(default)]
    pub previous_prefix: Option<String>,
    /// After a roll with a grace period: when the replaced secret stops (or stopped) working.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(format = DateTime))]
    pub previous_secret_expires_at: Option<String>,
    /// The user it acts as.
    pub user_id: i64,
    /// Its scopes.
    pub scopes: Vec<String>,
    /// Creation time.
    #[cfg_attr(feature = "openapi", schema(format = DateTime))]
    pub created_at: String,
    /// Last use, to within a few seconds.
    #[cfg_attr(feature = "openapi", schema(format = DateTime))]
    pub last_used_at: Option<String>,
    /// The client address of the last use.
    #[serde(default)]
    pub last_used_ip: Option<String>,
    /// Expiry, if any.
    #[cfg_attr(feature = "openapi", schema(format = DateTime))]
    pub expires_at: Option<String>,
    /// Revocation time, if revoked.
    #[cfg_attr(feature = "openapi", schema(format = DateTime))]
    pub revoked_at: Option<String>,
    /// The API key it was created with, if any: it is revoked with that key.
    #[serde(default)]
    pub parent_key_id: Option<i64>,
    /// Metadata: a JSON object handed back by the verify API (and, when configured, to the
    /// gateway's upstream).
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<Object>))]
    pub meta: Option<serde_json::Value>,
    /// The key's own limit per second, on top of its account's.
    #[serde(default)]
    pub rate_per_second: Option<u32>,
    /// The key's own limit per minute.
    #[serde(default)]
    pub rate_per_minute: Option<u32>,
    /// The key's own limit per hour.
    #[serde(default)]
    pub rate_per_hour: Option<u32>,
    /// Credits not yet leased by a server (servers hold up to a tenth of the balance each, at
    /// most 1,000, between uses); `null` for unlimited.
    #[serde(default)]
    pub credits_remaining: Option<i64>,
    /// The refill, if any.
    #[serde(default)]
    pub credits_refill: Option<CreditRefill>,
    /// When the balance was last refilled or set.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(format = DateTime))]
    pub credits_refilled_at: Option<String>,
}

/// A key's refill: at each interval the balance is replaced by `amount`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct CreditRefill {
    /// The balance after each refill (unspent credits do not carry over); 1 to
    /// 1,000,000,000,000.
    #[cfg_attr(
        feature = "openapi",
        schema(minimum = 1, maximum = 1_000_000_000_000_i64)
    )]
    pub amount: i64,
    /// `daily` (at 00:00 UTC) or `monthly` (on the first, at 00:00 UTC).
    #[cfg_attr(feature = "openapi", schema(value_type = RefillIntervalName))]
    pub interval: String,
}

/// `POST /api/v1/api_keys` and `POST /api/v1/users/{id}/api_keys`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(
    feature = "openapi",
    schema(example = json!({"name": "ci", "scopes": ["read"], "expires_in": 86400}))
)]
#[serde(deny_unknown_fields)]
pub struct CreateApiKeyRequest {
    /// A name to tell the key apart.
    #[cfg_attr(feature = "openapi", schema(min_length = 1, max_length = 100))]
    pub name: String,
    /// Scopes; by default every scope the creator may grant.
    #[serde(default)]
    pub scopes: Option<Vec<String>>,
    /// Lifetime in seconds; by default the key does not expire.
    #[serde(default)]
    pub expires_in: Option<u64>,
    /// Metadata: a JSON object of at most 2,048 bytes as compact JSON.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<Object>))]
    pub meta: Option<serde_json::Value>,
    /// The key's own limit per second (1 to 1,000,000); needs `admin`.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(minimum = 1, maximum = 1_000_000))]
    pub rate_per_second: Option<i64>,
    /// The key's own limit per minute (1 to 1,000,000); needs `admin`.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(minimum = 1, maximum = 1_000_000))]
    pub rate_per_minute: Option<i64>,
    /// The key's own limit per hour (1 to 1,000,000); needs `admin`.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(minimum = 1, maximum = 1_000_000))]
    pub rate_per_hour: Option<i64>,
    /// Credits (0 to 1,000,000,000,000); by default unlimited. Needs `admin`.
    #[serde(default)]
    #[cfg_attr(
        feature = "openapi",
        schema(minimum = 0, maximum = 1_000_000_000_000_i64)
    )]
    pub credits_remaining: Option<i64>,
    /// A refill of the credits; needs `credits_remaining` and `admin`.
    #[serde(default)]
    pub credits_refill: Option<CreditRefill>,
}

/// `POST /api/v1/api_keys/{id}/roll`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(
    feature = "openapi",
    schema(example = json!({"grace_period_seconds": 3600}))
)]
#[serde(deny_unknown_fields)]
pub struct RollApiKeyRequest {
    /// How long the replaced secret keeps working, in seconds: 0 ends it at once; at most
    /// 604800 (7 days).
    #[cfg_attr(feature = "openapi", schema(minimum = 0, maximum = 604800))]
    pub grace_period_seconds: i64,
}

/// A newly created API key: the only time its secret is shown. `Debug` prints no secret.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CreatedApiKey {
    /// The key.
    #[serde(flatten)]
    pub api_key: ApiKeyView,
    /// The secret, shown once.
    pub secret: String,
}

impl fmt::Debug for CreatedApiKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CreatedApiKey")
            .field("api_key", &self.api_key)
            .field("secret", &Redacted)
            .finish()
    }
}

/// `GET /api/v1/api_keys` and `GET /api/v1/users/{id}/api_keys`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ApiKeyList {
    /// One page of keys, newest first.
    pub api_keys: Vec<ApiKeyView>,
    /// Where this page is.
    pub pagination: Pagination,
}

/// `GET /api/v1/users`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct UserList {
    /// One page of members, oldest first.
    pub users: Vec<MemberView>,
    /// Where this page is.
    pub pagination: Pagination,
}

/// `POST /api/v1/users`. `Debug` prints no password.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(
    feature = "openapi",
    schema(example = json!({"email": "ada@example.com", "name": "Ada", "role": "member"}))
)]
#[serde(deny_unknown_fields)]
pub struct CreateUserRequest {
    /// Email.
    #[cfg_attr(feature = "openapi", schema(format = Email))]
    pub email: String,
    /// Display name.
    #[cfg_attr(feature = "openapi", schema(min_length = 1, max_length = 200))]
    pub name: String,
    /// Role in the caller's account.
    #[cfg_attr(feature = "openapi", schema(value_type = RoleName))]
    pub role: String,
    /// Always refused (400): a person chooses their own password when accepting the
    /// invitation. Read only to say so plainly, so the OpenAPI document leaves it out.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(ignore))]
    pub password: Option<String>,
}

impl fmt::Debug for CreateUserRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CreateUserRequest")
            .field("email", &self.email)
            .field("name", &self.name)
            .field("role", &self.role)
            .field("password", &self.password.as_ref().map(|_| Redacted))
            .finish()
    }
}

/// `GET /api/v1/service_accounts`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ServiceAccountList {
    /// One page of service accounts, oldest first.
    pub service_accounts: Vec<MemberView>,
    /// Where this page is.
    pub pagination: Pagination,
}

/// `POST /api/v1/service_accounts`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(
    feature = "openapi",
    schema(example = json!({"name": "nightly sync", "role": "member"}))
)]
#[serde(deny_unknown_fields)]
pub struct CreateServiceAccountRequest {
    /// Display name.
    #[cfg_attr(feature = "openapi", schema(min_length = 1, max_length = 200))]
    pub name: String,
    /// Role in the caller's account; `member` by default.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<RoleName>))]
    pub role: Option<String>,
}

/// `PATCH /api/v1/users/{id}`: changes a member's role in the caller's account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(
    feature = "openapi",
    schema(example = json!({"role": "member"}))
)]
#[serde(deny_unknown_fields)]
pub struct UpdateUserRequest {
    /// The new role.
    #[cfg_attr(feature = "openapi", schema(value_type = RoleName))]
    pub role: String,
}

/// One audit event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AuditView {
    /// Event id; larger is newer.
    pub id: i64,
    /// When.
    #[cfg_attr(feature = "openapi", schema(format = DateTime))]
    pub at: String,
    /// The acting user's id.
    pub actor_user_id: Option<i64>,
    /// The acting user's email.
    pub actor_email: Option<String>,
    /// The credential used.
    pub credential: CredentialView,
    /// What happened, such as `api_key.created`.
    pub action: String,
    /// The kind of thing acted on.
    pub target_type: String,
    /// Its id.
    pub target_id: Option<String>,
    /// `success` or `failure`.
    pub outcome: String,
    /// Client IP.
    pub ip: Option<String>,
    /// Client user agent.
    pub user_agent: Option<String>,
    /// A short detail.
    pub detail: Option<String>,
}

/// `GET /api/v1/audits`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AuditList {
    /// One page of events, newest first.
    pub audits: Vec<AuditView>,
    /// Where this page is.
    pub pagination: Pagination,
}

/// An application the user authorized in this account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AuthorizationView {
    /// The application's client id.
    pub client_id: String,
    /// The application's name.
    pub name: String,
    /// The scopes consented to.
    pub scopes: Vec<String>,
    /// When consent was given.
    #[cfg_attr(feature = "openapi", schema(format = DateTime))]
    pub created_at: String,
}

/// `GET /api/v1/authorizations`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AuthorizationList {
    /// One page of authorizations, newest first.
    pub authorizations: Vec<AuthorizationView>,
    /// Where this page is.
    pub pagination: Pagination,
}

/// An OAuth application (client) as the API shows it. Never carries a secret.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ApplicationView {
    /// Application id, used in `/api/v1/applications/{id}`.
    pub id: i64,
    /// The public client identifier (RFC 6749 §2.2).
    pub client_id: String,
    /// Display name, shown on the consent page.
    pub name: String,
    /// `confidential` or `public` (RFC 6749 §2.1).
    #[cfg_attr(feature = "openapi", schema(value_type = ClientTypeName))]
    pub client_type: String,
    /// Exact redirect URIs.
    pub redirect_uris: Vec<String>,
    /// Allowed grant types.
    #[cfg_attr(feature = "openapi", schema(value_type = Vec<GrantTypeName>))]
    pub grant_types: Vec<String>,
    /// Scopes it may ask for.
    pub scopes: Vec<String>,
    /// Whether `response_type=token` is allowed.
    pub implicit_allowed: bool,
    /// Whether it may introspect the tokens of its own account, not only its own (a resource
    /// server); every account's tokens is an operator-only setting.
    pub introspect: bool,
    /// Whether it may verify its own account's API keys at `POST /api/v1/keys/verify`.
    #[serde(default)]
    pub verify_keys: bool,
    /// The service account `client_credentials` tokens act as.
    pub service_account_id: Option<i64>,
    /// The algorithm its ID tokens are signed with: `RS256`, `ES256` or `EdDSA` (OpenID
    /// Connect Dynamic Client Registration 1.0 §2).
    #[serde(default = "default_id_token_alg")]
    #[cfg_attr(feature = "openapi", schema(value_type = IdTokenAlgName))]
    pub id_token_signed_response_alg: String,
    /// `opaque` or `jwt` (RFC 9068).
    #[serde(default = "default_access_token_format")]
    #[cfg_attr(feature = "openapi", schema(value_type = AccessTokenFormatName))]
    pub access_token_format: String,
    /// The resource indicators (RFC 8707) its token requests may name.
    #[serde(default)]
    pub resources: Vec<String>,
    /// Exact post-logout redirect URIs (OpenID Connect RP-Initiated Logout 1.0).
    #[serde(default)]
    pub post_logout_redirect_uris: Vec<String>,
    /// When the secret replaced by the last rotation stops working, if one was rotated.
    #[cfg_attr(feature = "openapi", schema(format = DateTime))]
    pub previous_secret_expires_at: Option<String>,
    /// Creation time.
    #[cfg_attr(feature = "openapi", schema(format = DateTime))]
    pub created_at: String,
    /// Last change.
    #[cfg_attr(feature = "openapi", schema(format = DateTime))]
    pub updated_at: String,
}

/// `POST /api/v1/applications`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(
    feature = "openapi",
    schema(example = json!({"name": "Example app", "client_type": "confidential", "redirect_uris": ["https://app.example.com/callback"], "scopes": ["read"]}))
)]
#[serde(deny_unknown_fields)]
pub struct CreateApplicationRequest {
    /// Display name.
    #[cfg_attr(feature = "openapi", schema(min_length = 1, max_length = 200))]
    pub name: String,
    /// `confidential` or `public`.
    #[cfg_attr(feature = "openapi", schema(value_type = ClientTypeName))]
    pub client_type: String,
    /// Exact redirect URIs; needed for `authorization_code` and the implicit flow.
    #[serde(default)]
    pub redirect_uris: Vec<String>,
    /// Allowed grant types; by default `authorization_code` and `refresh_token`.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<Vec<GrantTypeName>>))]
    pub grant_types: Option<Vec<String>>,
    /// Allowed scopes; by default every scope.
    #[serde(default)]
    pub scopes: Option<Vec<String>>,
    /// Whether `response_type=token` is allowed; off by default.
    #[serde(default)]
    pub implicit_allowed: bool,
    /// Whether it may introspect the tokens of its own account; off by default.
    #[serde(default)]
    pub introspect: bool,
    /// Whether it may verify its own account's API keys (`POST /api/v1/keys/verify`); off
    /// by default.
    #[serde(default)]
    pub verify_keys: bool,
    /// The service account for `client_credentials`.
    #[serde(default)]
    pub service_account_id: Option<i64>,
    /// `RS256` (the default), `ES256` or `EdDSA`.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<IdTokenAlgName>))]
    pub id_token_signed_response_alg: Option<String>,
    /// `opaque` (the default) or `jwt`.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<AccessTokenFormatName>))]
    pub access_token_format: Option<String>,
    /// Resource indicators (RFC 8707) it may ask for; none by default.
    #[serde(default)]
    pub resources: Vec<String>,
    /// Exact post-logout redirect URIs; none by default.
    #[serde(default)]
    pub post_logout_redirect_uris: Vec<String>,
}

/// The `id_token_signed_response_alg` of an application that names none.
fn default_id_token_alg() -> String {
    "RS256".to_owned()
}

/// The `access_token_format` of an application that names none.
fn default_access_token_format() -> String {
    "opaque".to_owned()
}

/// `PATCH /api/v1/applications/{id}`: the fields to change; absent fields stay as they are.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(
    feature = "openapi",
    schema(example = json!({"name": "Renamed app"}))
)]
#[serde(deny_unknown_fields)]
pub struct UpdateApplicationRequest {
    /// New display name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(min_length = 1, max_length = 200))]
    pub name: Option<String>,
    /// May be restated, but not changed: a client type is fixed at registration.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<ClientTypeName>))]
    pub client_type: Option<String>,
    /// Replaces the redirect URIs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub redirect_uris: Option<Vec<String>>,
    /// Replaces the grant types.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<Vec<GrantTypeName>>))]
    pub grant_types: Option<Vec<String>>,
    /// Replaces the scopes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scopes: Option<Vec<String>>,
    /// Allows or forbids the implicit flow.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub implicit_allowed: Option<bool>,
    /// Grants or takes away the introspection permission (own account only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub introspect: Option<bool>,
    /// Grants or takes away the permission to verify the account's API keys.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verify_keys: Option<bool>,
    /// Links another service account; `null` unlinks it.
    #[serde(
        default,
        deserialize_with = "present",
        skip_serializing_if = "Option::is_none"
    )]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<i64>))]
    pub service_account_id: Option<Option<i64>>,
    /// Changes the ID token signing algorithm.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<IdTokenAlgName>))]
    pub id_token_signed_response_alg: Option<String>,
    /// Changes the access token format.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<AccessTokenFormatName>))]
    pub access_token_format: Option<String>,
    /// Replaces the resource indicators.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resources: Option<Vec<String>>,
    /// Replaces the post-logout redirect URIs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub post_logout_redirect_uris: Option<Vec<String>>,
}

/// Tells a field given as `null` (`Some(None)`) from an absent one (`None`, by `default`).
pub(crate) fn present<'de, D, T>(deserializer: D) -> Result<Option<Option<T>>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(deserializer).map(Some)
}

/// A newly registered application: the only time its secret is shown. `Debug` prints no
/// secret.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CreatedApplication {
    /// The application.
    #[serde(flatten)]
    pub application: ApplicationView,
    /// The client secret, shown once; `null` for a public client.
    pub client_secret: Option<String>,
}

impl fmt::Debug for CreatedApplication {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CreatedApplication")
            .field("application", &self.application)
            .field(
                "client_secret",
                &self.client_secret.as_ref().map(|_| Redacted),
            )
            .finish()
    }
}

/// `POST /api/v1/applications/{id}/rotate_secret`: the new secret, shown once. `Debug` prints
/// no secret.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RotatedSecret {
    /// The application; `previous_secret_expires_at` says until when the old secret works.
    #[serde(flatten)]
    pub application: ApplicationView,
    /// The new client secret, shown once.
    pub client_secret: String,
}

impl fmt::Debug for RotatedSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RotatedSecret")
            .field("application", &self.application)
            .field("client_secret", &Redacted)
            .finish()
    }
}

/// `GET /api/v1/applications`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ApplicationList {
    /// One page of applications, oldest first.
    pub applications: Vec<ApplicationView>,
    /// Where this page is.
    pub pagination: Pagination,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn update_tells_null_from_absent() {
        let absent: UpdateApplicationRequest = serde_json::from_str(r#"{"name":"x"}"#).unwrap();
        assert_eq!(absent.service_account_id, None);
        let null: UpdateApplicationRequest =
            serde_json::from_str(r#"{"service_account_id":null}"#).unwrap();
        assert_eq!(null.service_account_id, Some(None));
        let set: UpdateApplicationRequest =
            serde_json::from_str(r#"{"service_account_id":4}"#).unwrap();
        assert_eq!(set.service_account_id, Some(Some(4)));
        assert!(serde_json::from_str::<UpdateApplicationRequest>(r#"{"secret":"x"}"#).is_err());
    }
}
