//! The closed sets of values that some string fields of the wire types hold, for the OpenAPI
//! document only: the fields stay `String` on the wire and in Rust, so a client built from an
//! older document still reads a value added later, while the document tells today's values.

use utoipa::ToSchema;

/// A role in an account, highest first.
#[derive(ToSchema)]
#[schema(rename_all = "snake_case")]
#[allow(dead_code)] // Only its schema is used.
pub enum RoleName {
    /// Everything, including making owners.
    Owner,
    /// Administers the account, except its owners.
    Admin,
    /// Reads and writes.
    Member,
    /// Reads.
    Viewer,
}

/// Whether a user is a person or a service account.
#[derive(ToSchema)]
#[schema(rename_all = "snake_case")]
#[allow(dead_code)]
pub enum UserKindName {
    /// A person, who signs in.
    Person,
    /// A service account, which holds API keys only.
    Service,
}

/// An OAuth client type (RFC 6749 §2.1).
#[derive(ToSchema)]
#[schema(rename_all = "snake_case")]
#[allow(dead_code)]
pub enum ClientTypeName {
    /// Can keep a secret.
    Confidential,
    /// Cannot keep a secret.
    Public,
}

/// A grant type an application may use.
#[derive(ToSchema)]
#[allow(dead_code)]
pub enum GrantTypeName {
    /// RFC 6749 §4.1.
    #[schema(rename = "authorization_code")]
    AuthorizationCode,
    /// RFC 6749 §6.
    #[schema(rename = "refresh_token")]
    RefreshToken,
    /// RFC 6749 §4.4.
    #[schema(rename = "client_credentials")]
    ClientCredentials,
    /// RFC 8628 §3.4.
    #[schema(rename = "urn:ietf:params:oauth:grant-type:device_code")]
    DeviceCode,
}

/// An algorithm ID tokens can be signed with.
#[derive(ToSchema)]
#[allow(dead_code)]
pub enum IdTokenAlgName {
    /// RSASSA-PKCS1-v1_5 with SHA-256.
    #[schema(rename = "RS256")]
    Rs256,
    /// ECDSA on P-256 with SHA-256.
    #[schema(rename = "ES256")]
    Es256,
    /// Ed25519.
    #[schema(rename = "EdDSA")]
    EdDsa,
}

/// How an application's access tokens are written.
#[derive(ToSchema)]
#[schema(rename_all = "snake_case")]
#[allow(dead_code)]
pub enum AccessTokenFormatName {
    /// A random reference, looked up on use.
    Opaque,
    /// A signed JWT (RFC 9068).
    Jwt,
}

/// How often an API key's credits are refilled.
#[derive(ToSchema)]
#[schema(rename_all = "snake_case")]
#[allow(dead_code)]
pub enum RefillIntervalName {
    /// At 00:00 UTC every day.
    Daily,
    /// At 00:00 UTC on the first of every month.
    Monthly,
}

/// The verdict of the verify API on a key.
#[derive(ToSchema)]
#[schema(rename_all = "SCREAMING_SNAKE_CASE")]
#[allow(dead_code)]
pub enum VerifyCodeName {
    /// The key works; the request may go on.
    Valid,
    /// Unknown, malformed, or another account's.
    NotFound,
    /// Revoked.
    Revoked,
    /// Expired.
    Expired,
    /// Its user is disabled.
    Disabled,
    /// A rate limit of the key or its account refuses the request.
    RateLimited,
    /// The key has no credits left.
    UsageExceeded,
}
