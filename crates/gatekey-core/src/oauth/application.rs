//! Applications (OAuth clients, RFC 6749 §2) registered in an account.

use std::fmt;
use std::str::FromStr;

use rand::Rng;
use time::OffsetDateTime;

pub use super::application_tokens::AccessTokenFormat;
use super::application_tokens::{UnknownAccessTokenFormat, UnknownIdTokenAlg};
pub use super::client_type::ClientType;
use super::post_logout_redirect_uri::{
    validate_post_logout_redirect_uri, PostLogoutRedirectUriError, MAX_POST_LOGOUT_REDIRECT_URIS,
};
use super::redirect_uri::{validate_redirect_uri, RedirectUriError};
use super::resource_indicator::{validate_resource, ResourceIndicatorError, MAX_RESOURCES};
pub use super::signing_key_schedule::SigningAlgorithm;
use crate::scope::ScopeSet;
use crate::secret::TokenHash;

impl FromStr for ClientType {
    type Err = ApplicationInputError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "confidential" => Ok(Self::Confidential),
            "public" => Ok(Self::Public),
            other => Err(ApplicationInputError::UnknownClientType(other.to_owned())),
        }
    }
}

/// A grant type an application may use at the token endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum GrantType {
    /// `authorization_code` (RFC 6749 §4.1), with PKCE.
    AuthorizationCode,
    /// `refresh_token` (RFC 6749 §6).
    RefreshToken,
    /// `client_credentials` (RFC 6749 §4.4).
    ClientCredentials,
    /// `urn:ietf:params:oauth:grant-type:device_code` (RFC 8628).
    DeviceCode,
}

impl GrantType {
    /// Every grant type, in canonical order.
    pub const ALL: [GrantType; 4] = [
        Self::AuthorizationCode,
        Self::RefreshToken,
        Self::ClientCredentials,
        Self::DeviceCode,
    ];

    /// The `grant_type` value.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::AuthorizationCode => "authorization_code",
            Self::RefreshToken => "refresh_token",
            Self::ClientCredentials => "client_credentials",
            Self::DeviceCode => "urn:ietf:params:oauth:grant-type:device_code",
        }
    }
}

impl FromStr for GrantType {
    type Err = ApplicationInputError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|g| g.as_str() == s)
            .ok_or_else(|| ApplicationInputError::UnknownGrantType(s.to_owned()))
    }
}

impl fmt::Display for GrantType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A registered application.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Application {
    /// Database id.
    pub id: i64,
    /// The public client identifier.
    pub client_id: String,
    /// The account that owns it.
    pub account_id: i64,
    /// Display name, shown on the consent page.
    pub name: String,
    /// Confidential or public.
    pub client_type: ClientType,
    /// SHA-256 of the current client secret (confidential clients).
    pub secret_hash: Option<TokenHash>,
    /// SHA-256 of the secret before the last rotation, valid until `previous_secret_expires_at`.
    pub previous_secret_hash: Option<TokenHash>,
    /// When the previous secret stops working.
    pub previous_secret_expires_at: Option<OffsetDateTime>,
    /// Redirect URIs, matched exactly (a public client's loopback URIs on any port), see
    /// [`super::redirect_uri`].
    pub redirect_uris: Vec<String>,
    /// Grant types it may use.
    pub grant_types: Vec<GrantType>,
    /// Scopes it may ask for.
    pub scopes: ScopeSet,
    /// Whether `response_type=token` is allowed (off by default; RFC 9700 §2.1.2 advises against).
    pub implicit_allowed: bool,
    /// Whether it may introspect the tokens of its own account (a resource server), not only
    /// the tokens issued to itself.
    pub introspect: bool,
    /// Whether `introspect` reaches every account's tokens. Set only by the operator, never
    /// through the REST API or the web pages; see [`super::introspection`].
    pub introspect_all_accounts: bool,
    /// Whether it may ask `POST /api/v1/keys/verify` about its own account's API keys (see
    /// [`crate::api_key_verification`]).
    pub verify_keys: bool,
    /// The service account `client_credentials` tokens act as.
    pub service_account_id: Option<i64>,
    /// The algorithm its ID tokens are signed with (`id_token_signed_response_alg`, OpenID
    /// Connect Dynamic Client Registration 1.0 §2); `RS256` unless registered otherwise.
    pub id_token_signed_response_alg: SigningAlgorithm,
    /// Whether its access tokens are opaque (the default) or JWTs (RFC 9068).
    pub access_token_format: AccessTokenFormat,
    /// The resource indicators (RFC 8707) its token requests may name, matched exactly; see
    /// [`super::resource_indicator`].
    pub resources: Vec<String>,
    /// Where the browser may be sent after a logout it asked for, matched exactly (OpenID
    /// Connect RP-Initiated Logout 1.0 §3.1); see [`super::post_logout_redirect_uri`].
    pub post_logout_redirect_uris: Vec<String>,
    /// Creation time.
    pub created_at: OffsetDateTime,
    /// Last change.
    pub updated_at: OffsetDateTime,
}

impl Application {
    /// Whether the application may use `grant`.
    pub fn allows(&self, grant: GrantType) -> bool {
        self.grant_types.contains(&grant)
    }

    /// Whether a person signs in through this application: it has the code grant, the device
    /// grant or the implicit flow.
    pub fn has_person_flow(&self) -> bool {
        self.allows(GrantType::AuthorizationCode)
            || self.allows(GrantType::DeviceCode)
            || self.implicit_allowed
    }

    /// Every scope a person's authorization of this application may carry: its API scopes,
    /// and the OpenID Connect identity scopes whenever a person signs in through it, whatever
    /// its API scopes (see [`crate::identity_scope`]). The identity scopes need not be
    /// registered; registering them changes nothing.
    pub fn requestable_scopes(&self) -> ScopeSet {
        if self.has_person_flow() {
            self.scopes.union(&ScopeSet::IDENTITY)
        } else {
            self.scopes.without_identity()
        }
    }

    /// Whether `presented` is one of the application's valid secrets at `now`, compared in
    /// constant time against each.
    pub fn secret_matches(&self, presented: &TokenHash, now: OffsetDateTime) -> bool {
        let current = self
            .secret_hash
            .is_some_and(|hash| hash.ct_matches(presented));
        let previous_valid = self.previous_secret_expires_at.is_some_and(|at| now < at);
        let previous = self
            .previous_secret_hash
            .is_some_and(|hash| hash.ct_matches(presented));
        current | (previous & previous_valid)
    }
}

/// What an administrator asks for when registering or changing an application.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApplicationSettings {
    /// Display name.
    pub name: String,
    /// Exact redirect URIs.
    pub redirect_uris: Vec<String>,
    /// Allowed grant types.
    pub grant_types: Vec<GrantType>,
    /// Allowed scopes.
    pub scopes: ScopeSet,
    /// Whether the implicit flow is allowed.
    pub implicit_allowed: bool,
    /// Whether it may introspect the tokens of its own account.
    pub introspect: bool,
    /// Whether it may verify its own account's API keys.
    pub verify_keys: bool,
    /// The service account for `client_credentials`.
    pub service_account_id: Option<i64>,
    /// The ID token signing algorithm.
    pub id_token_signed_response_alg: SigningAlgorithm,
    /// The access token format.
    pub access_token_format: AccessTokenFormat,
    /// Exact resource indicators (RFC 8707) it may ask for.
    pub resources: Vec<String>,
    /// Exact post-logout redirect URIs.
    pub post_logout_redirect_uris: Vec<String>,
}

/// Why an application's settings were refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ApplicationInputError {
    /// Bad name.
    #[error("name must be 1 to 200 characters")]
    BadName,
    /// `client_type` is neither confidential nor public.
    #[error("unknown client type {0:?}; use confidential or public")]
    UnknownClientType(String),
    /// Unknown grant type (`password` and `implicit` are not grant types here).
    #[error("unknown grant type {0:?}; use authorization_code, refresh_token, client_credentials or urn:ietf:params:oauth:grant-type:device_code")]
    UnknownGrantType(String),
    /// A redirect URI was refused.
    #[error(transparent)]
    RedirectUri(#[from] RedirectUriError),
    /// The code flow (or implicit) needs at least one redirect URI.
    #[error(
        "authorization_code and the implicit flow need at least one redirect URI (an application \
         that only introspects has no grant type and no redirect URI)"
    )]
    MissingRedirectUri,
    /// `client_credentials` needs a confidential client linked to a service account.
    #[error("client_credentials needs a confidential application linked to a service account")]
    ClientCredentialsNeedsServiceAccount,
    /// A public client cannot use `client_credentials`, introspect or verify keys.
    #[error("a public application cannot use client_credentials, introspect or verify keys")]
    PublicClientTooPowerful,
    /// No grant type, and not a confidential application that introspects.
    #[error(
        "an application needs at least one grant type, unless it is a confidential application \
         that only introspects or verifies keys (with the introspect or verify_keys permission)"
    )]
    NoGrantType,
    /// `refresh_token` alone issues nothing.
    #[error("refresh_token needs authorization_code or the device flow")]
    RefreshAlone,
    /// Too many redirect URIs.
    #[error("at most 20 redirect URIs")]
    TooManyRedirectUris,
    /// An ID token signing algorithm gatekey does not sign with.
    #[error(transparent)]
    IdTokenAlg(#[from] UnknownIdTokenAlg),
    /// Neither `opaque` nor `jwt`.
    #[error(transparent)]
    AccessTokenFormat(#[from] UnknownAccessTokenFormat),
    /// A resource indicator was refused.
    #[error(transparent)]
    Resource(#[from] ResourceIndicatorError),
    /// Too many resource indicators.
    #[error("at most 20 resources")]
    TooManyResources,
    /// A post-logout redirect URI was refused.
    #[error(transparent)]
    PostLogoutRedirectUri(#[from] PostLogoutRedirectUriError),
    /// Too many post-logout redirect URIs.
    #[error("at most 20 post-logout redirect URIs")]
    TooManyPostLogoutRedirectUris,
}

impl ApplicationInputError {
    /// Whether the redirect URIs were refused (`invalid_redirect_uri`, RFC 7591 §3.2.2).
    pub fn is_redirect_uri_error(&self) -> bool {
        matches!(
            self,
            Self::RedirectUri(_) | Self::MissingRedirectUri | Self::TooManyRedirectUris
        )
    }
}

/// Checks settings for an application of `client_type`.
pub fn validate_settings(
    client_type: ClientType,
    settings: &ApplicationSettings,
) -> Result<(), ApplicationInputError> {
    crate::account::validate_name(&settings.name).map_err(|_| ApplicationInputError::BadName)?;
    if settings.redirect_uris.len() > 20 {
        return Err(ApplicationInputError::TooManyRedirectUris);
    }
    for uri in &settings.redirect_uris {
        validate_redirect_uri(uri)?;
    }
    if settings.resources.len() > MAX_RESOURCES {
        return Err(ApplicationInputError::TooManyResources);
    }
    for resource in &settings.resources {
        validate_resource(resource)?;
    }
    if settings.post_logout_redirect_uris.len() > MAX_POST_LOGOUT_REDIRECT_URIS {
        return Err(ApplicationInputError::TooManyPostLogoutRedirectUris);
    }
    for uri in &settings.post_logout_redirect_uris {
        validate_post_logout_redirect_uri(uri)?;
    }
    let grants = &settings.grant_types;
    if grants.is_empty() && !settings.implicit_allowed && !only_introspects(client_type, settings) {
        return Err(ApplicationInputError::NoGrantType);
    }
    let needs_redirect =
        grants.contains(&GrantType::AuthorizationCode) || settings.implicit_allowed;
    if needs_redirect && settings.redirect_uris.is_empty() {
        return Err(ApplicationInputError::MissingRedirectUri);
    }
    if grants.contains(&GrantType::RefreshToken)
        && !grants.contains(&GrantType::AuthorizationCode)
        && !grants.contains(&GrantType::DeviceCode)
    {
        return Err(ApplicationInputError::RefreshAlone);
    }
    if client_type == ClientType::Public
        && (grants.contains(&GrantType::ClientCredentials)
            || settings.introspect
            || settings.verify_keys)
    {
        return Err(ApplicationInputError::PublicClientTooPowerful);
    }
    if grants.contains(&GrantType::ClientCredentials) && settings.service_account_id.is_none() {
        return Err(ApplicationInputError::ClientCredentialsNeedsServiceAccount);
    }
    Ok(())
}

/// Whether the settings describe a resource server that only introspects (RFC 7662): a
/// confidential application with the `introspect` permission. It needs no grant type and no
/// redirect URI, since it obtains no token; it authenticates with its secret at the
/// introspection endpoint (RFC 7662 §2.1). A public application cannot authenticate, so it can
/// never be one; without `introspect` an application with no grant type could do nothing.
/// An application that only verifies API keys (`verify_keys`) is the same kind of thing.
pub fn only_introspects(client_type: ClientType, settings: &ApplicationSettings) -> bool {
    client_type == ClientType::Confidential && (settings.introspect || settings.verify_keys)
}

/// A new public client identifier: `app_` and 24 base62 characters. Not a secret.
pub fn new_client_id() -> String {
    const BASE62: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
    let mut rng = rand::rngs::OsRng;
    let body: String = (0..24)
        .map(|_| char::from(BASE62[rng.gen_range(0..62)]))
        .collect();
    format!("app_{body}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings() -> ApplicationSettings {
        ApplicationSettings {
            name: "CLI".into(),
            redirect_uris: vec!["http://127.0.0.1/cb".into()],
            grant_types: vec![GrantType::AuthorizationCode, GrantType::RefreshToken],
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

    #[test]
    fn settings_rules() {
        assert_eq!(validate_settings(ClientType::Public, &settings()), Ok(()));
        let no_uri = ApplicationSettings {
            redirect_uris: vec![],
            ..settings()
        };
        assert_eq!(
            validate_settings(ClientType::Public, &no_uri),
            Err(ApplicationInputError::MissingRedirectUri)
        );
        let cc = ApplicationSettings {
            grant_types: vec![GrantType::ClientCredentials],
            ..settings()
        };
        assert_eq!(
            validate_settings(ClientType::Public, &cc),
            Err(ApplicationInputError::PublicClientTooPowerful)
        );
        assert_eq!(
            validate_settings(ClientType::Confidential, &cc),
            Err(ApplicationInputError::ClientCredentialsNeedsServiceAccount)
        );
        let linked = ApplicationSettings {
            service_account_id: Some(3),
            ..cc
        };
        assert_eq!(validate_settings(ClientType::Confidential, &linked), Ok(()));
        assert!("password".parse::<GrantType>().is_err());
        assert!(new_client_id().starts_with("app_"));
    }

    #[test]
    fn a_confidential_resource_server_needs_no_grant_type_nor_redirect_uri() {
        let resource_server = ApplicationSettings {
            redirect_uris: vec![],
            grant_types: vec![],
            introspect: true,
            ..settings()
        };
        assert_eq!(
            validate_settings(ClientType::Confidential, &resource_server),
            Ok(())
        );
        let useless = ApplicationSettings {
            introspect: false,
            ..resource_server.clone()
        };
        assert_eq!(
            validate_settings(ClientType::Confidential, &useless),
            Err(ApplicationInputError::NoGrantType)
        );
        for public in [&resource_server, &useless] {
            assert_eq!(
                validate_settings(ClientType::Public, public),
                Err(ApplicationInputError::NoGrantType),
                "a public client cannot authenticate to introspect"
            );
        }
    }

    #[test]
    fn resources_and_post_logout_uris_are_checked() {
        let good = ApplicationSettings {
            resources: vec![
                "https://api.example.com".into(),
                "urn:example:billing".into(),
            ],
            post_logout_redirect_uris: vec!["https://app.example.com/bye".into()],
            ..settings()
        };
        assert_eq!(validate_settings(ClientType::Public, &good), Ok(()));
        let fragment = ApplicationSettings {
            resources: vec!["https://api.example.com/#x".into()],
            ..settings()
        };
        assert_eq!(
            validate_settings(ClientType::Public, &fragment),
            Err(ApplicationInputError::Resource(
                ResourceIndicatorError::Fragment("https://api.example.com/#x".into())
            ))
        );
        let custom = ApplicationSettings {
            post_logout_redirect_uris: vec!["com.example.app:/bye".into()],
            ..settings()
        };
        assert!(matches!(
            validate_settings(ClientType::Public, &custom),
            Err(ApplicationInputError::PostLogoutRedirectUri(_))
        ));
        let many = ApplicationSettings {
            resources: (0..21).map(|i| format!("https://r{i}.example")).collect(),
            ..settings()
        };
        assert_eq!(
            validate_settings(ClientType::Public, &many),
            Err(ApplicationInputError::TooManyResources)
        );
        let many = ApplicationSettings {
            post_logout_redirect_uris: (0..21).map(|i| format!("https://a.example/{i}")).collect(),
            ..settings()
        };
        assert_eq!(
            validate_settings(ClientType::Public, &many),
            Err(ApplicationInputError::TooManyPostLogoutRedirectUris)
        );
    }
}
