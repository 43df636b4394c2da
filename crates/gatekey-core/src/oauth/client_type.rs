//! The two client types of RFC 6749 §2.1. A module of its own so the redirect URI rules, which
//! differ by client type, need not depend on the application record that uses those rules.
//! Parsing the wire name lives with the application input, whose error it reports.

/// Whether a client can keep a secret (RFC 6749 §2.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ClientType {
    /// A server-side application with a client secret.
    Confidential,
    /// A native or browser application: no secret, PKCE required.
    Public,
}

impl ClientType {
    /// The type's name on the wire and in storage.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Confidential => "confidential",
            Self::Public => "public",
        }
    }
}
