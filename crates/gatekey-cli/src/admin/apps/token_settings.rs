//! `--id-token-alg`, `--access-token-format`, `--resource` and `--post-logout-redirect-uri`,
//! shared by `app create` and `app update`: how an application's tokens are made and where a
//! logout may send the browser back to.

use clap::Args;
use gatekey_core::oauth::application::{AccessTokenFormat, SigningAlgorithm};
use gatekey_core::oauth::application_tokens::parse_id_token_alg;

/// The algorithms `--id-token-alg` accepts.
const ID_TOKEN_ALGS: [&str; 3] = ["RS256", "ES256", "EdDSA"];

/// The formats `--access-token-format` accepts.
const ACCESS_TOKEN_FORMATS: [&str; 2] = ["opaque", "jwt"];

/// The token settings asked for on the command line.
#[derive(Debug, Args)]
pub struct TokenSettingsArgs {
    /// The algorithm ID tokens are signed with (id_token_signed_response_alg); `app create`
    /// defaults to RS256.
    #[arg(long = "id-token-alg", value_name = "ALG", value_parser = ID_TOKEN_ALGS)]
    id_token_alg: Option<String>,
    /// opaque (introspected by resource servers) or jwt (RFC 9068); `app create` defaults to
    /// opaque.
    #[arg(long = "access-token-format", value_name = "FORMAT", value_parser = ACCESS_TOKEN_FORMATS)]
    access_token_format: Option<String>,
    /// A resource indicator (RFC 8707) token requests may name: an absolute URI without a
    /// fragment (repeat for several; `app update` replaces them all).
    #[arg(long = "resource", value_name = "URI")]
    pub resources: Vec<String>,
    /// Remove every resource indicator (`app update`).
    #[arg(long, conflicts_with = "resources")]
    pub no_resource: bool,
    /// An exact post-logout redirect URI (OpenID Connect RP-Initiated Logout): https, or http
    /// on 127.0.0.1 or [::1] (repeat for several; `app update` replaces them all).
    #[arg(long = "post-logout-redirect-uri", value_name = "URI")]
    pub post_logout_redirect_uris: Vec<String>,
    /// Remove every post-logout redirect URI (`app update`).
    #[arg(long, conflicts_with = "post_logout_redirect_uris")]
    pub no_post_logout_redirect_uri: bool,
}

impl TokenSettingsArgs {
    /// The ID token algorithm named, if any.
    pub fn id_token_alg(&self) -> anyhow::Result<Option<SigningAlgorithm>> {
        Ok(self
            .id_token_alg
            .as_deref()
            .map(parse_id_token_alg)
            .transpose()?)
    }

    /// The access token format named, if any.
    pub fn access_token_format(&self) -> anyhow::Result<Option<AccessTokenFormat>> {
        Ok(self
            .access_token_format
            .as_deref()
            .map(str::parse)
            .transpose()?)
    }

    /// The resources named, an empty list for `--no-resource`, or `None` for neither.
    pub fn resources(&self) -> Option<Vec<String>> {
        replacement(&self.resources, self.no_resource)
    }

    /// The post-logout redirect URIs named, an empty list for
    /// `--no-post-logout-redirect-uri`, or `None` for neither.
    pub fn post_logout_redirect_uris(&self) -> Option<Vec<String>> {
        replacement(
            &self.post_logout_redirect_uris,
            self.no_post_logout_redirect_uri,
        )
    }
}

/// A list given on the command line that replaces the stored one: the values, none for
/// `--no-…`, or `None` to leave it as it is.
fn replacement(values: &[String], clear: bool) -> Option<Vec<String>> {
    if clear {
        Some(Vec::new())
    } else if values.is_empty() {
        None
    } else {
        Some(values.to_vec())
    }
}
