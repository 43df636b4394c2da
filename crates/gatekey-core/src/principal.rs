//! The caller of a request once its credential has been checked, and what it may do.

use std::sync::Arc;

use time::OffsetDateTime;

use crate::account::Account;
use crate::api_key::{KeyOwner, ParentKey};
use crate::audit::{Actor, CredentialRef};
use crate::role::Role;
use crate::scope::{Scope, ScopeSet};
use crate::user::User;

/// An authenticated caller: one user, in one account, through one credential.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    /// The user acted as.
    pub user: Arc<User>,
    /// The account acted in.
    pub account: Arc<Account>,
    /// The membership id (user in account).
    pub membership_id: i64,
    /// The user's role in the account.
    pub role: Role,
    /// Everything the role holds in the account when the credential was checked: the
    /// built-in scopes of its rank and the catalogue scopes mapped to it
    /// ([`crate::role_scopes::AccountScopes::held_by`]). A change to the catalogue or to the
    /// account's mapping invalidates the checked credential, so this is never stale for long.
    pub role_scopes: ScopeSet,
    /// The credential used.
    pub credential: CredentialRef,
    /// The credential's own scopes, before the role is applied.
    pub credential_scopes: ScopeSet,
    /// When the credential stops working, if it expires.
    pub expires_at: Option<OffsetDateTime>,
}

impl Principal {
    /// This caller as the owner of a key it creates for itself.
    pub fn as_key_owner(&self) -> KeyOwner<'_> {
        KeyOwner {
            membership_id: self.membership_id,
            user: &self.user,
            role: self.role,
            role_scopes: &self.role_scopes,
        }
    }

    /// What this caller may do: what the role holds intersected with the credential's scopes.
    /// A catalogue name the credential carries but the catalogue no longer has is held by no
    /// role, so it is not effective. The credential's identity scopes are kept: every role
    /// holds them ([`ScopeSet::within_role`]).
    pub fn effective_scopes(&self) -> ScopeSet {
        self.credential_scopes.within_role(&self.role_scopes)
    }

    /// Whether the credential is first-party: a web session or an API key, which the user
    /// holds themself (or an operator command). Only such a credential manages credentials:
    /// creating, listing, rotating or revoking API keys, client secrets and authorizations,
    /// setting passwords, ending sessions. An OAuth access token is third-party: it acts for an
    /// application, and whatever it could mint would outlive the user's revocation of that
    /// application (GitHub's OAuth apps cannot create personal access tokens either).
    pub fn is_first_party(&self) -> bool {
        match self.credential {
            CredentialRef::ApiKey(_) | CredentialRef::Session | CredentialRef::Operator => true,
            CredentialRef::OAuth { .. } | CredentialRef::Anonymous | CredentialRef::Server => false,
        }
    }

    /// The API key this caller authenticated with, as the parent of a key it creates; `None`
    /// for a session or an operator, whose keys have no parent.
    pub fn parent_key(&self) -> Option<ParentKey> {
        match self.credential {
            CredentialRef::ApiKey(id) => Some(ParentKey {
                id,
                scopes: self.credential_scopes.clone(),
                expires_at: self.expires_at,
            }),
            _ => None,
        }
    }

    /// Whether the caller may exercise the built-in `scope`; reads two bytes, allocates nothing.
    pub fn may(&self, scope: Scope) -> bool {
        self.role_scopes.contains(scope) && self.credential_scopes.contains(scope)
    }

    /// The actor to record in audit events, given where the request came from.
    pub fn actor(&self, ip: Option<String>, user_agent: Option<String>) -> Actor {
        Actor {
            user_id: Some(self.user.id),
            credential: self.credential.clone(),
            ip,
            user_agent,
        }
    }
}
