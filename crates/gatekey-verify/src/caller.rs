//! Who a request acts for, once its credential is checked: the user, the account (tenant),
//! what the credential may do, and what kind of credential it is.

use std::time::SystemTime;

use crate::VerifyError;

/// The checked identity behind a request. The layer puts it in the request's extensions; a
/// handler takes it as an extractor (`caller: Caller`) and calls [`Caller::require`] once per
/// operation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    /// The user the credential acts as (a person, or a service account for
    /// `client_credentials` tokens and service account keys).
    pub user: CallerUser,
    /// The account the request acts in. Scope your data by it.
    pub account: CallerAccount,
    /// The user's role in the account, when gatekey states it: introspection does (API keys
    /// and opaque tokens), a JWT access token does not. Decide on [`Caller::scopes`], which are
    /// already narrowed to what the role holds; the role is for display and audit.
    pub role: Option<String>,
    /// What the credential may do. From introspection: its scopes within the user's current
    /// role, as of the answer. From a JWT: its scopes when it was issued.
    pub scopes: Vec<String>,
    /// The credential that was presented.
    pub credential: Credential,
    /// When the credential stops working; `None` for an API key without expiry.
    pub expires_at: Option<SystemTime>,
}

/// The user a credential acts as.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallerUser {
    /// gatekey's id of the user (the `sub`): stable, the same for all of a user's credentials.
    /// Link your records to it, never to the email.
    pub id: i64,
    /// The user's email, when known: introspection states it, a JWT access token does not.
    pub email: Option<String>,
}

/// The account (tenant) a credential acts in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallerAccount {
    /// The account's slug, unique and stable.
    pub slug: String,
    /// gatekey's id of the account, when gatekey states it: introspection does, a JWT access
    /// token does not (it names the account by its slug).
    pub id: Option<i64>,
}

/// The credential a request presented. It never holds the secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Credential {
    /// An API key or an OAuth access token.
    pub kind: CredentialKind,
    /// Its id, when known: a JWT access token's `jti`. Introspection does not name API keys or
    /// opaque tokens.
    pub id: Option<String>,
    /// The application an OAuth access token was issued to; `None` for an API key.
    pub client_id: Option<String>,
    /// How it was checked: offline against the JWKS, or by asking gatekey.
    pub checked_by: CheckedBy,
}

/// The kinds of credential gatekey issues for API calls.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CredentialKind {
    /// A `gk_key_…` API key of a user in an account.
    ApiKey,
    /// An OAuth access token, opaque (`gk_at_…`) or a JWT (RFC 9068).
    OAuth,
}

impl CredentialKind {
    /// `api_key` or `oauth`, as gatekey's REST API names them.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::ApiKey => "api_key",
            Self::OAuth => "oauth",
        }
    }
}

/// How a credential was found valid, which says how soon a revocation is seen.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CheckedBy {
    /// A JWT access token's signature and claims, offline: a revocation is not seen before
    /// the token expires.
    Signature,
    /// Token introspection (RFC 7662): a revocation is seen once the cached answer runs out.
    Introspection,
}

impl Caller {
    /// Whether the credential holds `scope`.
    pub fn has_scope(&self, scope: &str) -> bool {
        self.scopes.iter().any(|held| held == scope)
    }

    /// `Ok` when the credential holds `scope`; otherwise the `403 insufficient_scope` answer
    /// naming it (RFC 6750 §3.1), ready to return from a handler with `?`.
    pub fn require(&self, scope: &str) -> Result<(), VerifyError> {
        if self.has_scope(scope) {
            Ok(())
        } else {
            Err(VerifyError::InsufficientScope {
                scope: scope.to_owned(),
            })
        }
    }

    /// `Ok` when the credential holds every one of `scopes`; otherwise the answer naming the
    /// first one missing.
    pub fn require_all<'a>(
        &self,
        scopes: impl IntoIterator<Item = &'a str>,
    ) -> Result<(), VerifyError> {
        scopes.into_iter().try_for_each(|scope| self.require(scope))
    }
}

/// The scopes of a space-separated `scope` value (RFC 6749 §3.3), each once.
pub(crate) fn parse_scopes(scope: Option<&str>) -> Vec<String> {
    let mut scopes: Vec<String> = Vec::new();
    for scope in scope.unwrap_or_default().split_ascii_whitespace() {
        if !scopes.iter().any(|held| held == scope) {
            scopes.push(scope.to_owned());
        }
    }
    scopes
}

#[cfg(test)]
mod tests {
    use super::*;

    fn caller(scope: &str) -> Caller {
        Caller {
            user: CallerUser {
                id: 42,
                email: None,
            },
            account: CallerAccount {
                slug: "acme".into(),
                id: None,
            },
            role: None,
            scopes: parse_scopes(Some(scope)),
            credential: Credential {
                kind: CredentialKind::ApiKey,
                id: None,
                client_id: None,
                checked_by: CheckedBy::Introspection,
            },
            expires_at: None,
        }
    }

    #[test]
    fn require_names_the_missing_scope() {
        let caller = caller("read  notes:read read");
        assert_eq!(caller.scopes, ["read", "notes:read"]);
        assert!(caller.require("notes:read").is_ok());
        assert_eq!(
            caller.require_all(["read", "write"]),
            Err(VerifyError::InsufficientScope {
                scope: "write".into()
            })
        );
        assert!(!caller.has_scope("notes"), "scopes match whole");
    }
}
