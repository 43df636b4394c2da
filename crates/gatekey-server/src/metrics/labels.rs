//! The values the metrics' labels may take. Each label is a closed set named here (or a route
//! template, or one of a bounded set of account slugs), never a value a client sent, so that
//! nobody can add series by sending made-up input.

use prometheus_client::encoding::EncodeLabelSet;

/// How a credential check ended.
#[derive(Clone, Copy, Debug, Hash, PartialEq, Eq)]
pub enum CredentialOutcome {
    /// Found in the cache.
    CacheHit,
    /// Checked against the database and valid.
    Verified,
    /// Failed the format or checksum check.
    Malformed,
    /// Not issued by this server.
    Unknown,
    /// Revoked, or its user disabled.
    Revoked,
    /// Past its expiry.
    Expired,
}

impl CredentialOutcome {
    /// The label value, in Prometheus' snake_case.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::CacheHit => "cache_hit",
            Self::Verified => "verified",
            Self::Malformed => "malformed",
            Self::Unknown => "unknown",
            Self::Revoked => "revoked",
            Self::Expired => "expired",
        }
    }
}

/// A spent credential presented again: someone else holds a copy (RFC 9700 §4.14.2, §4.2.4).
#[derive(Clone, Copy, Debug, Hash, PartialEq, Eq)]
pub enum ReusedCredential {
    /// A rotated refresh token; its family was revoked.
    RefreshToken,
    /// A redeemed authorization code; the tokens issued from it were revoked.
    AuthorizationCode,
}

impl ReusedCredential {
    /// Every kind, so that each series exists at zero from the start.
    pub const ALL: [Self; 2] = [Self::RefreshToken, Self::AuthorizationCode];

    /// The label value.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::RefreshToken => "refresh_token",
            Self::AuthorizationCode => "authorization_code",
        }
    }
}

/// A secret that a person or program types, and that the guess throttles protect.
#[derive(Clone, Copy, Debug, Hash, PartialEq, Eq)]
pub enum GuessedSecret {
    /// A password: at sign-in, and the current password on the change-password form.
    Password,
    /// A device flow's user code, on the device page.
    UserCode,
    /// An OAuth client's secret, at the token, revocation, introspection and device
    /// authorization endpoints.
    ClientSecret,
}

impl GuessedSecret {
    /// The label value.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Password => "password",
            Self::UserCode => "user_code",
            Self::ClientSecret => "client_secret",
        }
    }
}

/// Storage work that no request answers for: its failures are logged and counted under
/// these names, as the failures requests answer are counted under their route.
#[derive(Clone, Copy, Debug, Hash, PartialEq, Eq)]
pub enum BackgroundOperation {
    /// A poll of the invalidation feed.
    InvalidationPoll,
    /// PostgreSQL's `LISTEN` for invalidations.
    InvalidationListen,
    /// Deleting old rows of the invalidation feed.
    InvalidationPrune,
    /// Writing API keys' `last_used_at`.
    UsageFlush,
    /// A batch of the retention purge.
    RetentionPurge,
    /// The audit event of a failed client authentication (the client's answer is the same).
    ClientAuthAudit,
    /// The audit event of a refused API request (the caller's answer is the same).
    RefusalAudit,
    /// The sampled audit event of a request the forward-auth endpoint let through.
    GatewayAudit,
    /// Giving API keys' unspent credits back to the database.
    CreditReturn,
}

impl BackgroundOperation {
    /// Every operation, so that each series exists at zero from the start.
    pub const ALL: [Self; 9] = [
        Self::InvalidationPoll,
        Self::InvalidationListen,
        Self::InvalidationPrune,
        Self::UsageFlush,
        Self::RetentionPurge,
        Self::ClientAuthAudit,
        Self::RefusalAudit,
        Self::GatewayAudit,
        Self::CreditReturn,
    ];

    /// The label value.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::InvalidationPoll => "invalidation_poll",
            Self::InvalidationListen => "invalidation_listen",
            Self::InvalidationPrune => "invalidation_prune",
            Self::UsageFlush => "usage_flush",
            Self::RetentionPurge => "retention_purge",
            Self::ClientAuthAudit => "client_auth_audit",
            Self::RefusalAudit => "refusal_audit",
            Self::GatewayAudit => "gateway_audit",
            Self::CreditReturn => "credit_return",
        }
    }
}

/// The server's caches, whose sizes are reported.
#[derive(Clone, Copy, Debug, Hash, PartialEq, Eq)]
pub enum CacheName {
    /// Checked API keys and access tokens.
    Credentials,
    /// Applications by client id.
    Applications,
    /// What the client credentials grant needs, by application.
    ServiceAccounts,
}

impl CacheName {
    /// The label value.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Credentials => "credentials",
            Self::Applications => "applications",
            Self::ServiceAccounts => "service_accounts",
        }
    }
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub(super) struct OutcomeLabels {
    pub outcome: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub(super) struct OperationLabels {
    pub operation: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub(super) struct CredentialLabels {
    pub credential: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub(super) struct SecretLabels {
    pub secret: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub(super) struct RefusalLabels {
    pub secret: &'static str,
    pub limit: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub(super) struct AccountLabels {
    pub account: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub(super) struct CacheLabels {
    pub cache: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub(super) struct BuildLabels {
    pub version: &'static str,
}
