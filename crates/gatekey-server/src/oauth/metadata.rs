//! What the server offers, described once: the RFC 8414 authorization server metadata and the
//! OpenID Connect Discovery 1.0 provider metadata are both built here, the second containing the
//! first member for member, so they never disagree. `issuer` is the configured public URL
//! exactly (RFC 8414 §3.3, Discovery §3), and nothing is advertised that does not work: neither
//! `plain` PKCE nor the password grant ever are. The documents are served from memory
//! ([`super::discovery`]).
//!
//! Adding a capability once it works is one line here.

use gatekey_core::oauth::application::GrantType;
use gatekey_core::oauth::identity_claims::CLAIMS_SUPPORTED;
use gatekey_core::scope::ScopeSet;
use gatekey_proto::oauth::{AuthorizationServerMetadata, OpenIdProviderMetadata};

/// The grant types the token endpoint serves now.
const GRANT_TYPES: [GrantType; 4] = [
    GrantType::AuthorizationCode,
    GrantType::RefreshToken,
    GrantType::ClientCredentials,
    GrantType::DeviceCode,
];

/// The algorithms an ID token may be signed with (RS256 is required by Core §15.1; ES256 and
/// EdDSA are cheaper to sign and verify).
const ID_TOKEN_ALGORITHMS: [&str; 3] = ["RS256", "ES256", "EdDSA"];

fn strings(items: &[&str]) -> Vec<String> {
    items.iter().map(|s| (*s).to_owned()).collect()
}

/// The RFC 8414 document of the server at `issuer`, whose clients may ask for `scopes` (every
/// scope there is: identity scopes, built-ins and the catalogue).
pub fn metadata(issuer: &str, scopes: &ScopeSet) -> AuthorizationServerMetadata {
    let endpoint = |path: &str| format!("{issuer}{path}");
    let secret_methods = strings(&["client_secret_basic", "client_secret_post"]);
    let client_methods = strings(&["client_secret_basic", "client_secret_post", "none"]);
    AuthorizationServerMetadata {
        issuer: issuer.to_owned(),
        authorization_endpoint: endpoint("/oauth/authorize"),
        token_endpoint: endpoint("/oauth/token"),
        revocation_endpoint: endpoint("/oauth/revoke"),
        introspection_endpoint: endpoint("/oauth/introspect"),
        device_authorization_endpoint: Some(endpoint("/oauth/device_authorization")),
        scopes_supported: strings(&scopes.names()),
        response_types_supported: strings(&["code"]),
        grant_types_supported: GRANT_TYPES.iter().map(|g| g.as_str().to_owned()).collect(),
        code_challenge_methods_supported: strings(&["S256"]),
        token_endpoint_auth_methods_supported: client_methods.clone(),
        revocation_endpoint_auth_methods_supported: client_methods,
        introspection_endpoint_auth_methods_supported: secret_methods,
        authorization_response_iss_parameter_supported: true,
        jwks_uri: Some(endpoint("/oauth/jwks")),
    }
}

/// The OpenID Provider document (Discovery §3): [`metadata`], and what OpenID Connect adds.
pub fn openid_configuration(issuer: &str, scopes: &ScopeSet) -> OpenIdProviderMetadata {
    let endpoint = |path: &str| format!("{issuer}{path}");
    OpenIdProviderMetadata {
        oauth: metadata(issuer, scopes),
        userinfo_endpoint: endpoint("/oauth/userinfo"),
        end_session_endpoint: Some(endpoint("/oauth/end_session")),
        // `fragment` for the implicit flow, which applications that allow it may use.
        response_modes_supported: strings(&["query", "fragment"]),
        subject_types_supported: strings(&["public"]),
        id_token_signing_alg_values_supported: strings(&ID_TOKEN_ALGORITHMS),
        claims_supported: strings(&CLAIMS_SUPPORTED),
        // OpenID Connect Core §3.1.2.1, applied by `gatekey_core::oauth::prompt`.
        prompt_values_supported: Some(strings(&["none", "login", "consent", "select_account"])),
        claims_parameter_supported: false,
        request_parameter_supported: false,
        request_uri_parameter_supported: false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_openid_document_contains_the_oauth_document_member_for_member() {
        let scopes = ScopeSet::parse("openid read billing").expect("scopes");
        let oauth = serde_json::to_value(metadata("https://id.example", &scopes)).expect("json");
        let openid = serde_json::to_value(openid_configuration("https://id.example", &scopes))
            .expect("json");
        let (Some(oauth), Some(openid)) = (oauth.as_object(), openid.as_object()) else {
            panic!("objects");
        };
        for (name, value) in oauth {
            assert_eq!(openid.get(name), Some(value), "{name}");
        }
        assert_eq!(
            openid["userinfo_endpoint"],
            "https://id.example/oauth/userinfo"
        );
        assert_eq!(
            openid["end_session_endpoint"],
            "https://id.example/oauth/end_session"
        );
        assert_eq!(
            openid["prompt_values_supported"],
            serde_json::json!(["none", "login", "consent", "select_account"])
        );
    }
}
