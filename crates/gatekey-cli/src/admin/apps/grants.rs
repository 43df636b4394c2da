//! `--redirect-uri`, `--grant-type` and `--no-grant-type`, shared by `app create` and
//! `app update`.

use clap::Args;
use gatekey_core::oauth::admin::parse_grant_types;
use gatekey_core::oauth::application::{ApplicationInputError, GrantType};

use super::GRANT_TYPES;

/// How an application is granted tokens: its grant types, and the redirect URIs the
/// authorization code flow sends back to.
#[derive(Debug, Args)]
pub struct GrantArgs {
    /// An exact redirect URI (repeat for several; `app update` replaces them all): https, http
    /// on 127.0.0.1 or [::1], or a reverse-domain scheme such as com.example.app:/cb.
    #[arg(long = "redirect-uri", value_name = "URI")]
    pub redirect_uris: Vec<String>,
    /// An allowed grant type (repeat for several). Without it, `app create` gives
    /// authorization_code and refresh_token and `app update` leaves them as they are.
    #[arg(long = "grant-type", value_name = "GRANT_TYPE", value_parser = GRANT_TYPES)]
    grant_types: Vec<String>,
    /// No grant type at all: a resource server that only introspects (it needs --introspect and
    /// a confidential type), with no redirect URI.
    #[arg(long, conflicts_with = "grant_types")]
    no_grant_type: bool,
}

impl GrantArgs {
    /// The grant types named, an empty list for `--no-grant-type`, or `None` when neither
    /// flag was given.
    pub fn chosen(&self) -> Result<Option<Vec<GrantType>>, ApplicationInputError> {
        if self.no_grant_type {
            Ok(Some(Vec::new()))
        } else if self.grant_types.is_empty() {
            Ok(None)
        } else {
            parse_grant_types(&self.grant_types).map(Some)
        }
    }
}
