//! Why an ID token was refused.

/// Why the client refused an ID token (OpenID Connect Core 1.0 §3.1.3.7). The token itself is
/// never part of the message: it is a credential.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum IdTokenError {
    /// The server granted `openid` but its token response carried no `id_token` (§3.1.3.3).
    #[error("the server granted the openid scope but sent no id_token")]
    Missing,
    /// The ID token is not a compact JWS with a JSON header and JSON claims.
    #[error("the ID token is malformed: {0}")]
    Malformed(&'static str),
    /// The header's `alg` is not one the client accepts: RS256, ES256 or EdDSA. `none` and
    /// the HMAC algorithms are always refused.
    #[error("the ID token is signed with alg {0:?}; only RS256, ES256 and EdDSA are accepted")]
    Algorithm(String),
    /// The header lists extensions (`crit`) the client does not understand (RFC 7515 §4.1.11).
    #[error("the ID token's header has crit extensions the client does not understand")]
    CriticalHeader,
    /// The server's signing keys could not be fetched or read.
    #[error("the server's signing keys: {0}")]
    Keys(String),
    /// No key of the JWKS fits the header's `kid` and `alg`, even after fetching the JWKS again.
    #[error("no key {} for {alg} in the server's JWKS", kid.as_deref().map(|k| format!("{k:?}")).unwrap_or_else(|| "(no kid)".into()))]
    UnknownKey {
        /// The header's `kid`.
        kid: Option<String>,
        /// The header's `alg`.
        alg: String,
    },
    /// The signature does not verify with the key the header names.
    #[error("the ID token's signature does not verify")]
    Signature,
    /// `iss` is not exactly the server's issuer.
    #[error("the ID token's iss is {found:?}, not the server's issuer {expected:?}")]
    Issuer {
        /// The metadata's issuer.
        expected: String,
        /// The token's `iss` (empty when absent).
        found: String,
    },
    /// `aud` does not contain this client's id.
    #[error("the ID token is not for this client: its aud does not contain {client_id:?}")]
    Audience {
        /// This client's id.
        client_id: String,
    },
    /// There are several audiences and `azp` is not this client, or `azp` names another client.
    #[error("the ID token's azp is not this client ({client_id:?})")]
    AuthorizedParty {
        /// This client's id.
        client_id: String,
    },
    /// `exp` is missing or passed (more than the allowed clock skew ago).
    #[error("the ID token has expired (or has no exp)")]
    Expired,
    /// `iat` is missing, or lies in the future beyond the allowed clock skew.
    #[error("the ID token's iat is missing or in the future")]
    IssuedAt,
    /// `sub` is missing or empty.
    #[error("the ID token has no sub")]
    Subject,
    /// A renewed ID token names another user than the one signed in (§12.2).
    #[error("the renewed ID token's sub differs from the signed-in user's")]
    SubjectChanged,
    /// The `nonce` is not the one this client sent (§3.1.2.1), or is missing.
    #[error("the ID token's nonce does not match the one sent with the authorization request")]
    Nonce,
}
