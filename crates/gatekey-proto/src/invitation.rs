//! Wire types of invitations: `POST /api/v1/users` answers with one, `GET /api/v1/invitations`
//! lists them.

use std::fmt;

use serde::{Deserialize, Serialize};

#[cfg(feature = "openapi")]
use crate::schema_values::RoleName;

use crate::api::Pagination;

/// An invitation of a person to the caller's account.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct InvitationView {
    /// Invitation id.
    pub id: i64,
    /// The invited email, lower case.
    pub email: String,
    /// The name the admin gave.
    pub name: String,
    /// The role the person gets on accepting.
    #[cfg_attr(feature = "openapi", schema(value_type = RoleName))]
    pub role: String,
    /// `pending` while it can be accepted.
    pub status: String,
    /// RFC 3339.
    #[cfg_attr(feature = "openapi", schema(format = DateTime))]
    pub created_at: String,
    /// RFC 3339: the link stops working then.
    #[cfg_attr(feature = "openapi", schema(format = DateTime))]
    pub expires_at: String,
    /// The one-time link to hand to the person: shown only in the answer that created it,
    /// never in lists, never in `Debug`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub accept_url: Option<String>,
}

impl fmt::Debug for InvitationView {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("InvitationView")
            .field("id", &self.id)
            .field("email", &self.email)
            .field("name", &self.name)
            .field("role", &self.role)
            .field("status", &self.status)
            .field("created_at", &self.created_at)
            .field("expires_at", &self.expires_at)
            .field(
                "accept_url",
                &self.accept_url.as_ref().map(|_| "[redacted]"),
            )
            .finish()
    }
}

/// `POST /api/v1/users`: the same shape whether the email is new, has a login in another
/// account, or was invited already.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CreatedInvitation {
    /// The invitation, with its `accept_url`.
    pub invitation: InvitationView,
}

/// `GET /api/v1/invitations`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct InvitationList {
    /// One page of pending invitations, oldest first.
    pub invitations: Vec<InvitationView>,
    /// Where this page is.
    pub pagination: Pagination,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_hides_the_accept_url() {
        let view = InvitationView {
            id: 1,
            email: "ada@example.test".into(),
            name: "Ada".into(),
            role: "member".into(),
            status: "pending".into(),
            created_at: "2026-12-04T00:00:00Z".into(),
            expires_at: "2026-12-11T00:00:00Z".into(),
            accept_url: Some("https://gk.example/invitations/gk_inv_SECRETSECRET".into()),
        };
        let printed = format!("{:?}", CreatedInvitation { invitation: view });
        assert!(!printed.contains("SECRETSECRET"), "{printed}");
        assert!(printed.contains("redacted"), "{printed}");
    }
}
