//! `Identity`: who the user is, as a validated OpenID Connect ID token says.

use serde::{Deserialize, Serialize};

/// The signed-in user, from the claims of an ID token that passed every check of OpenID
/// Connect Core 1.0 §3.1.3.7 (see [`crate::IdTokenError`] for what is checked).
///
/// It holds no credential: the ID token itself stays in the [`TokenSet`](crate::TokenSet),
/// whose `Debug` hides it. The fields are personal data (an email, a name); a program that
/// logs them should mean to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Identity {
    /// `sub`: the user's identifier at the issuer, stable and never reassigned.
    #[serde(rename = "sub")]
    pub subject: String,
    /// `iss`: the server that vouches for it.
    #[serde(rename = "iss")]
    pub issuer: String,
    /// `email`, when the `email` scope was granted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// `email_verified`, when the server said.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email_verified: Option<bool>,
    /// `name`, when the `profile` scope was granted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// `gatekey:account`: the slug of the account the user acted in, when the server said.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account: Option<String>,
    /// `auth_time`: when the user last signed in at the server, in seconds since the Unix
    /// epoch, when the server said.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auth_time: Option<i64>,
}
