//! Grants: a user's consent for one application to act as them in one account. Codes, access
//! tokens and refresh tokens all hang off a grant, so revoking it revokes exactly those.

use time::OffsetDateTime;

use crate::scope::ScopeSet;

/// A grant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Grant {
    /// Database id.
    pub id: i64,
    /// The user the application acts as.
    pub user_id: i64,
    /// The account it acts in.
    pub account_id: i64,
    /// The application.
    pub application_id: i64,
    /// The scopes consented to.
    pub scopes: ScopeSet,
    /// When consent was given.
    pub created_at: OffsetDateTime,
    /// When it was revoked.
    pub revoked_at: Option<OffsetDateTime>,
}

/// A grant to record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewGrant {
    /// The user the application will act as.
    pub user_id: i64,
    /// The account it will act in.
    pub account_id: i64,
    /// The application.
    pub application_id: i64,
    /// The scopes consented to.
    pub scopes: ScopeSet,
    /// When consent was given.
    pub created_at: OffsetDateTime,
}

impl Grant {
    /// Whether the grant still stands.
    pub fn is_active(&self) -> bool {
        self.revoked_at.is_none()
    }
}
