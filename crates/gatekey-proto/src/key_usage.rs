//! Bodies for API keys sold by use: the change of a key
//! (`PATCH /api/v1/api_keys/{id}`), and the verify API (`POST /api/v1/keys/verify`).

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::api::{present, AccountView, CreditRefill, UserView};
use crate::redacted::Redacted;
#[cfg(feature = "openapi")]
use crate::schema_values::VerifyCodeName;

/// `PATCH /api/v1/api_keys/{id}`: the fields to change; an absent field stays as it is, `null`
/// clears it (no meta, no limit, unlimited credits, no refill).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(
    feature = "openapi",
    schema(example = json!({"credits_remaining": 1000, "rate_per_minute": 60}))
)]
#[serde(deny_unknown_fields)]
pub struct UpdateApiKeyRequest {
    /// A new name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(min_length = 1, max_length = 100))]
    pub name: Option<String>,
    /// New metadata: a JSON object of at most 2,048 bytes as compact JSON.
    #[serde(
        default,
        deserialize_with = "present",
        skip_serializing_if = "Option::is_none"
    )]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<Object>))]
    pub meta: Option<Option<serde_json::Value>>,
    /// Requests per second for this key (1 to 1,000,000).
    #[serde(
        default,
        deserialize_with = "present",
        skip_serializing_if = "Option::is_none"
    )]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<i64>, minimum = 1, maximum = 1_000_000))]
    pub rate_per_second: Option<Option<i64>>,
    /// Requests per minute for this key (1 to 1,000,000).
    #[serde(
        default,
        deserialize_with = "present",
        skip_serializing_if = "Option::is_none"
    )]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<i64>, minimum = 1, maximum = 1_000_000))]
    pub rate_per_minute: Option<Option<i64>>,
    /// Requests per hour for this key (1 to 1,000,000).
    #[serde(
        default,
        deserialize_with = "present",
        skip_serializing_if = "Option::is_none"
    )]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<i64>, minimum = 1, maximum = 1_000_000))]
    pub rate_per_hour: Option<Option<i64>>,
    /// The new balance, replacing what is left (0 to 1,000,000,000,000); `null` for unlimited.
    #[serde(
        default,
        deserialize_with = "present",
        skip_serializing_if = "Option::is_none"
    )]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<i64>, minimum = 0, maximum = 1_000_000_000_000_i64))]
    pub credits_remaining: Option<Option<i64>>,
    /// A new refill, or `null` for none.
    #[serde(
        default,
        deserialize_with = "present",
        skip_serializing_if = "Option::is_none"
    )]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<CreditRefill>))]
    pub credits_refill: Option<Option<CreditRefill>>,
}

/// `POST /api/v1/keys/verify`. The key travels in the body, never in the URL. `Debug` prints
/// no key.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct VerifyKeyRequest {
    /// The API key a caller presented to the service asking; at most 512 characters.
    #[cfg_attr(feature = "openapi", schema(max_length = 512))]
    pub key: String,
}

impl fmt::Debug for VerifyKeyRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("VerifyKeyRequest")
            .field("key", &Redacted)
            .finish()
    }
}

/// The rate limit a verified request was counted under: the one that refused, or the
/// tightest (fewest requests left) of the key's and its account's.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RateLimitView {
    /// Requests allowed in the window.
    pub limit: u32,
    /// Requests left in it.
    pub remaining: u32,
    /// When it ends, in Unix seconds.
    pub reset: i64,
}

/// The verdict on a key: `valid` says whether the request it came with may go on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct VerifyKeyResponse {
    /// Whether the request the key came with may go on (`code` is `VALID`).
    pub valid: bool,
    /// `VALID`, `NOT_FOUND` (unknown, malformed, or another account's), `REVOKED`,
    /// `EXPIRED`, `DISABLED` (its user is disabled), `RATE_LIMITED` or `USAGE_EXCEEDED`.
    #[cfg_attr(feature = "openapi", schema(value_type = VerifyCodeName))]
    pub code: String,
    /// The key's id; `null` unless the key was found in the caller's account and works.
    pub key_id: Option<i64>,
    /// The user the key acts as; `null` as `key_id` is.
    pub user: Option<UserView>,
    /// The account it acts in; `null` as `key_id` is.
    pub account: Option<AccountView>,
    /// What it may do (its scopes within its user's role); `null` as `key_id` is.
    pub scopes: Option<Vec<String>>,
    /// Its metadata, if it has any.
    #[cfg_attr(feature = "openapi", schema(value_type = Option<Object>))]
    pub meta: Option<serde_json::Value>,
    /// Credits left after this request, as this server knows them; `null` for unlimited.
    pub remaining: Option<i64>,
    /// The rate limit it was counted under; `null` when no limit applies or the key did not
    /// get that far.
    pub ratelimit: Option<RateLimitView>,
}
