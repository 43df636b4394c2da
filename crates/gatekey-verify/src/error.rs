//! Why a request was not let through: the errors of [`crate::Verifier::verify`], of the layers
//! and of [`crate::Caller::require`]. `rejection.rs` turns each into its RFC 6750 answer.

/// Why a credential was not accepted, or could not be checked.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VerifyError {
    /// No `Authorization: Bearer` credential was presented (RFC 6750 §3.1: answered without
    /// an error code).
    #[error("authentication required")]
    Missing,
    /// The `Authorization` header is not one Bearer credential (RFC 6750 §2.1, §3.1
    /// `invalid_request`).
    #[error("{0}")]
    MalformedRequest(&'static str),
    /// The credential is not valid now (RFC 6750 §3.1 `invalid_token`).
    #[error("{0}")]
    InvalidToken(TokenRefusal),
    /// The credential is valid but does not hold `scope` (RFC 6750 §3.1 `insufficient_scope`).
    #[error("this request needs the {scope} scope")]
    InsufficientScope {
        /// The scope the request needs.
        scope: String,
    },
    /// gatekey could not be asked (down, answering 5xx, refusing this application's own
    /// credentials, or sending what is not its document). The request is refused with `503`:
    /// the caller's credential may be fine, so an outage never becomes a `401`, and never lets
    /// a request through. The detail is for logs, not for the caller.
    #[error("gatekey cannot be reached: {0}")]
    Unavailable(String),
}

/// Why a presented credential is not valid. Each message is safe to show the caller: it names
/// the rule, never key material or the credential.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenRefusal {
    /// Neither a gatekey API key, nor an access token, nor a JWT.
    #[error("the credential is not a gatekey API key or access token")]
    UnknownFormat,
    /// gatekey answered that the credential is not active: unknown, expired, revoked, of a
    /// disabled user, or of an account this application may not see (RFC 7662 §2.2).
    #[error("the credential is not active")]
    Inactive,
    /// Introspection says it is a refresh token, which is never an access credential.
    #[error("the credential is not an access token or API key")]
    NotAnAccessCredential,
    /// Not a compact JWS with JSON header and claims, or too long.
    #[error("the token is not a well-formed JWT")]
    Malformed,
    /// The header names an algorithm that is not accepted (`none`, `HS256`, …).
    #[error("the token's algorithm is not accepted")]
    Algorithm,
    /// The header carries `crit`, which no gatekey token does (RFC 7515 §4.1.11).
    #[error("the token names critical header parameters, which are not supported")]
    CriticalHeader,
    /// The header's `typ` is not `at+jwt` (RFC 9068 §4: an ID token is not an access token).
    #[error("the token is not a JWT access token (typ at+jwt)")]
    Type,
    /// No published key of the token's algorithm has its `kid`.
    #[error("the token's key is not one of the issuer's published keys")]
    UnknownKey,
    /// The signature does not verify.
    #[error("the token's signature does not verify")]
    Signature,
    /// `iss` is not the configured issuer.
    #[error("the token was issued by another issuer")]
    Issuer,
    /// `aud` does not name this resource server (RFC 8707, RFC 9068 §4).
    #[error("the token is meant for another audience")]
    Audience,
    /// Past `exp`, beyond the leeway.
    #[error("the token has expired")]
    Expired,
    /// `nbf` or `iat` lie in the future, beyond the leeway.
    #[error("the token is not valid yet")]
    NotYetValid,
    /// A claim RFC 9068 §2.2 requires is missing or of the wrong type.
    #[error("the token lacks the claim {0}")]
    MissingClaim(&'static str),
}

impl From<TokenRefusal> for VerifyError {
    fn from(refusal: TokenRefusal) -> Self {
        Self::InvalidToken(refusal)
    }
}
