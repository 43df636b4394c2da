//! Applications a test stores straight through the store when their settings are not what the
//! test is about.

use gatekey_core::oauth::application::{AccessTokenFormat, SigningAlgorithm};
use gatekey_core::oauth::application::{ApplicationSettings, ClientType, GrantType};
use gatekey_core::oauth::store::NewApplication;
use gatekey_core::scope::ScopeSet;
use time::OffsetDateTime;

/// The settings of an application named `name` that may use `grant_types`, for every scope,
/// with no redirect URI, no implicit grant, no introspection and no service account. A test
/// changes what it needs with `..`.
pub fn application_settings(name: &str, grant_types: &[GrantType]) -> ApplicationSettings {
    ApplicationSettings {
        name: name.into(),
        redirect_uris: Vec::new(),
        grant_types: grant_types.to_vec(),
        scopes: ScopeSet::ALL,
        implicit_allowed: false,
        introspect: false,
        verify_keys: false,
        service_account_id: None,
        id_token_signed_response_alg: SigningAlgorithm::Rs256,
        access_token_format: AccessTokenFormat::Opaque,
        resources: vec![],
        post_logout_redirect_uris: vec![],
    }
}

/// A public application (RFC 6749 §2.1, no secret) of account `account_id` with `settings`,
/// registered at `now` as `client_id`.
pub fn public_application(
    client_id: &str,
    account_id: i64,
    settings: ApplicationSettings,
    now: OffsetDateTime,
) -> NewApplication {
    NewApplication {
        client_id: client_id.into(),
        account_id,
        client_type: ClientType::Public,
        secret_hash: None,
        settings,
        created_at: now,
    }
}
