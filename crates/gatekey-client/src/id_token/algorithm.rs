//! Which JWS algorithms an ID token may be signed with.

use jsonwebtoken::Algorithm;

use super::IdTokenError;

/// The algorithms an ID token may be signed with: the ones gatekey signs with (RS256, which
/// OpenID Connect Core §15.1 requires, ES256 and EdDSA). Never `none` (§3.1.3.7 step 7 lets a
/// client refuse it, and this one always does) and never an HMAC, whose key would be the
/// client secret a public client does not have.
pub(crate) fn accepted_algorithm(alg: &str) -> Result<Algorithm, IdTokenError> {
    match alg {
        "RS256" => Ok(Algorithm::RS256),
        "ES256" => Ok(Algorithm::ES256),
        "EdDSA" => Ok(Algorithm::EdDSA),
        other => Err(IdTokenError::Algorithm(other.to_owned())),
    }
}
