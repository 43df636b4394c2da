//! `GET /.well-known/oauth-authorization-server` (RFC 8414): where the endpoints are and what
//! they support. `issuer` is the configured public URL exactly (RFC 8414 §3.3), and nothing is
//! advertised that does not work: neither `plain` PKCE nor the password grant ever are.

use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use gatekey_core::oauth::application::GrantType;
use gatekey_core::scope::Scope;
use gatekey_proto::oauth::AuthorizationServerMetadata;

use super::error::OAuthError;
use crate::state::AppState;

/// The metadata endpoint's routes.
pub fn routes() -> Router<AppState> {
    Router::new().route(
        "/.well-known/oauth-authorization-server",
        get(show_metadata),
    )
}

/// The grant types the token endpoint serves now.
const GRANT_TYPES: [GrantType; 4] = [
    GrantType::AuthorizationCode,
    GrantType::RefreshToken,
    GrantType::ClientCredentials,
    GrantType::DeviceCode,
];

fn strings(items: &[&str]) -> Vec<String> {
    items.iter().map(|s| (*s).to_owned()).collect()
}

/// The metadata document of the server at `issuer`.
pub fn metadata(issuer: &str) -> AuthorizationServerMetadata {
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
        scopes_supported: Scope::ALL.iter().map(|s| s.as_str().to_owned()).collect(),
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

/// `GET /.well-known/oauth-authorization-server`, with the scope catalogue's names in
/// `scopes_supported` beside the built-in scopes.
async fn show_metadata(
    State(state): State<AppState>,
) -> Result<Json<AuthorizationServerMetadata>, OAuthError> {
    let catalogue = state.scopes.catalogue(&state.store).await?;
    let mut document = metadata(&state.issuer);
    document.scopes_supported = catalogue
        .every_scope()
        .names()
        .into_iter()
        .map(str::to_owned)
        .collect();
    Ok(Json(document))
}
