//! Whether a refresh token is issued beside an access token (RFC 6749 §1.5), with OpenID
//! Connect's `offline_access` rule (Core 1.0 §11).

use super::application::{Application, GrantType};
use crate::scope::{IdentityScope, ScopeSet};

/// Whether tokens issued to `client` with the granted `scopes` come with a refresh token.
///
/// The client must be allowed the refresh grant. And in an OpenID Connect authorization (one
/// that holds `openid`) a refresh token lets the client act while the person is not signed in,
/// which is what `offline_access` asks for, so it is issued only when the person granted
/// `offline_access` (Core §11). That scope reaches a grant only through the consent page, which
/// is the consent §11 requires before offline access. A plain OAuth 2.0 authorization, without
/// `openid`, is unchanged: the refresh grant alone decides.
pub fn issues_refresh_token(client: &Application, scopes: &ScopeSet) -> bool {
    client.allows(GrantType::RefreshToken)
        && (!scopes.has_identity(IdentityScope::OpenId)
            || scopes.has_identity(IdentityScope::OfflineAccess))
}
