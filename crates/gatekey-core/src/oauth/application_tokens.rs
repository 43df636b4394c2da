//! How an application's tokens are made: the algorithm its ID tokens are signed with and the
//! format of its access tokens, both registered per application.

use std::fmt;
use std::str::FromStr;

use super::signing_key_schedule::SigningAlgorithm;

/// The ID token signing algorithm of an application registered without one: `RS256`, the
/// algorithm OpenID Connect Core §15.1 requires every provider to support, and the default of
/// `id_token_signed_response_alg` (OpenID Connect Dynamic Client Registration 1.0 §2).
pub const DEFAULT_ID_TOKEN_ALG: SigningAlgorithm = SigningAlgorithm::Rs256;

/// The format of the access tokens issued to an application.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum AccessTokenFormat {
    /// A random string whose meaning only the server knows; resource servers introspect it
    /// (RFC 7662). The default.
    #[default]
    Opaque,
    /// A JWT signed by the server (RFC 9068), which a resource server checks on its own.
    Jwt,
}

impl AccessTokenFormat {
    /// Every format, in the order listings show them.
    pub const ALL: [AccessTokenFormat; 2] = [Self::Opaque, Self::Jwt];

    /// The name: `opaque` or `jwt`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Opaque => "opaque",
            Self::Jwt => "jwt",
        }
    }
}

impl fmt::Display for AccessTokenFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A name that is not an access token format.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown access token format {0:?}; use opaque or jwt")]
pub struct UnknownAccessTokenFormat(pub String);

impl FromStr for AccessTokenFormat {
    type Err = UnknownAccessTokenFormat;

    /// Exactly `opaque` or `jwt`, in lower case.
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|format| format.as_str() == text)
            .ok_or_else(|| UnknownAccessTokenFormat(text.to_owned()))
    }
}

/// An `id_token_signed_response_alg` gatekey cannot sign with.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown ID token signing algorithm {0:?}; use RS256, ES256 or EdDSA")]
pub struct UnknownIdTokenAlg(pub String);

/// Parses an `id_token_signed_response_alg` (OpenID Connect Dynamic Client Registration 1.0
/// §2). JWS `alg` values are case-sensitive (RFC 7515 §4.1.1), so only `RS256`, `ES256` and
/// `EdDSA` as written are accepted; `none` never is: an ID token is always signed here.
pub fn parse_id_token_alg(text: &str) -> Result<SigningAlgorithm, UnknownIdTokenAlg> {
    SigningAlgorithm::ALL
        .into_iter()
        .find(|alg| alg.as_str() == text)
        .ok_or_else(|| UnknownIdTokenAlg(text.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_are_parsed_exactly() {
        assert_eq!("opaque".parse(), Ok(AccessTokenFormat::Opaque));
        assert_eq!("jwt".parse(), Ok(AccessTokenFormat::Jwt));
        assert_eq!(AccessTokenFormat::default(), AccessTokenFormat::Opaque);
        for bad in ["JWT", "Opaque", "", "jwt ", "reference"] {
            assert_eq!(
                bad.parse::<AccessTokenFormat>(),
                Err(UnknownAccessTokenFormat(bad.to_owned())),
                "{bad:?}"
            );
        }
        for format in AccessTokenFormat::ALL {
            assert_eq!(format.to_string().parse(), Ok(format));
        }
    }

    #[test]
    fn id_token_algorithms_are_case_sensitive_and_never_none() {
        assert_eq!(parse_id_token_alg("RS256"), Ok(SigningAlgorithm::Rs256));
        assert_eq!(parse_id_token_alg("ES256"), Ok(SigningAlgorithm::Es256));
        assert_eq!(parse_id_token_alg("EdDSA"), Ok(SigningAlgorithm::EdDsa));
        for bad in ["rs256", "EDDSA", "none", "HS256", "PS256", ""] {
            assert!(parse_id_token_alg(bad).is_err(), "{bad:?}");
        }
        let message = parse_id_token_alg("HS256").unwrap_err().to_string();
        assert!(message.contains("RS256, ES256 or EdDSA"), "{message}");
        assert_eq!(DEFAULT_ID_TOKEN_ALG.as_str(), "RS256");
    }
}
