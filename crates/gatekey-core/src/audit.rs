//! Audit events: every state change and every login, attributed to a user and a credential.
//!
//! Much of an event comes from the request (the email a login tried, the `User-Agent`, the
//! client's address), and an anonymous client may send anything. Every such field is cut to a
//! fixed size before it is stored ([`AuditEntry::bounded`]), so the audit log cannot be used to
//! fill the disk: a 60 KB email in a failed login is stored as its first few hundred bytes.

use std::fmt;

use time::OffsetDateTime;

/// The credential an action was taken with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CredentialRef {
    /// An API key, by id.
    ApiKey(i64),
    /// A web session.
    Session,
    /// An OAuth access token: the application and the grant it acts under.
    OAuth {
        /// The application's client id.
        client_id: String,
        /// The grant's id.
        grant_id: i64,
    },
    /// An operator command run directly on the database.
    Operator,
    /// The server itself, on its own schedule: a signing key rotation or the retention purge.
    Server,
    /// No credential: an anonymous request such as a failed login.
    Anonymous,
}

impl CredentialRef {
    /// The credential type's name on the wire and in storage.
    pub fn type_name(&self) -> &'static str {
        match self {
            Self::ApiKey(_) => "api_key",
            Self::Session => "session",
            Self::OAuth { .. } => "oauth",
            Self::Operator => "operator",
            Self::Server => "server",
            Self::Anonymous => "anonymous",
        }
    }

    /// The credential's id, when it has one.
    pub fn id(&self) -> Option<String> {
        match self {
            Self::ApiKey(id) => Some(id.to_string()),
            Self::OAuth {
                client_id,
                grant_id,
            } => Some(format!("{client_id}:{grant_id}")),
            _ => None,
        }
    }

    /// Rebuilds a reference from its stored parts.
    pub fn from_parts(type_name: &str, id: Option<&str>) -> Self {
        match (type_name, id.and_then(|id| id.parse().ok())) {
            ("api_key", Some(id)) => Self::ApiKey(id),
            ("session", _) => Self::Session,
            ("oauth", _) => id
                .and_then(|id| id.rsplit_once(':'))
                .and_then(|(client_id, grant)| {
                    Some(Self::OAuth {
                        client_id: client_id.to_owned(),
                        grant_id: grant.parse().ok()?,
                    })
                })
                .unwrap_or(Self::Anonymous),
            ("operator", _) => Self::Operator,
            ("server", _) => Self::Server,
            _ => Self::Anonymous,
        }
    }
}

/// What happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuditAction {
    /// An account was created.
    AccountCreated,
    /// A person was created.
    UserCreated,
    /// A user was added to an account.
    MembershipCreated,
    /// A user was disabled.
    UserDisabled,
    /// A disabled user was enabled again.
    UserEnabled,
    /// A password was set or changed.
    PasswordChanged,
    /// A service account was created.
    ServiceAccountCreated,
    /// An API key was created.
    ApiKeyCreated,
    /// An API key was revoked.
    ApiKeyRevoked,
    /// An API key got a new secret; the detail names the grace of the replaced one and both
    /// display prefixes.
    ApiKeyRolled,
    /// An API key's name, meta, limits or credits were changed (the detail names the fields).
    ApiKeyUpdated,
    /// A password login succeeded.
    LoginSucceeded,
    /// A password login failed.
    LoginFailed,
    /// A login was refused because of too many failures.
    LoginThrottled,
    /// A user logged out.
    Logout,
    /// A user ended all their sessions at once ("sign out everywhere").
    LogoutEverywhere,
    /// An application was registered.
    ApplicationCreated,
    /// An application's settings changed.
    ApplicationUpdated,
    /// An application's secret was rotated.
    ApplicationSecretRotated,
    /// An application was deleted.
    ApplicationDeleted,
    /// A user consented to an application.
    ConsentGranted,
    /// A user refused an application.
    ConsentDenied,
    /// A user (or admin) revoked an application's grant.
    GrantRevoked,
    /// A spent refresh token was presented again; its family was revoked.
    RefreshReuseDetected,
    /// A spent authorization code was presented again; its tokens were revoked.
    CodeReplayDetected,
    /// A user's role in an account was changed.
    RoleChanged,
    /// A password change was refused: the current password was wrong.
    PasswordChangeFailed,
    /// A password change was refused because of too many wrong passwords.
    PasswordChangeThrottled,
    /// A client failed to authenticate at an OAuth endpoint (the first failure of a window).
    ClientAuthFailed,
    /// An API request was refused for the caller's rights (403); at most one such event per
    /// caller per minute is written, with the number of refusals it stands for.
    AccessRefused,
    /// The forward-auth endpoint let a request through to the upstream; written for a sampled
    /// fraction of the calls only (`gateway.audit_sample_rate`).
    GatewayRequestAllowed,
    /// A person was invited to an account.
    InvitationCreated,
    /// An invited person joined the account.
    InvitationAccepted,
    /// An invited person declined.
    InvitationDeclined,
    /// An admin withdrew an invitation.
    InvitationWithdrawn,
    /// A scope was added to the catalogue.
    ScopeCreated,
    /// A catalogue scope's description, group or default roles changed.
    ScopeUpdated,
    /// A scope was removed from the catalogue.
    ScopeDeleted,
    /// An account mapped one of its roles to catalogue scopes.
    RoleScopesChanged,
    /// An account returned one of its roles to the catalogue's default roles.
    RoleScopesReset,
    /// A signing key was made: by the rotation schedule, or by an operator's rotation.
    SigningKeyCreated,
    /// A signing key was retired: out of the JWKS, it signs and verifies nothing.
    SigningKeyRetired,
    /// A retired signing key was deleted.
    SigningKeyPurged,
    /// A signing key's private half was sealed again under a new key-encryption key.
    SigningKeyRewrapped,
    /// A secret scanner reported a live credential leaked (its location in the detail); it was
    /// revoked on the spot.
    LeakedSecretRevoked,
}

impl AuditAction {
    /// The action's name on the wire and in storage.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::AccountCreated => "account.created",
            Self::UserCreated => "user.created",
            Self::MembershipCreated => "membership.created",
            Self::UserDisabled => "user.disabled",
            Self::UserEnabled => "user.enabled",
            Self::PasswordChanged => "user.password_changed",
            Self::ServiceAccountCreated => "service_account.created",
            Self::ApiKeyCreated => "api_key.created",
            Self::ApiKeyRevoked => "api_key.revoked",
            Self::ApiKeyRolled => "api_key.rolled",
            Self::ApiKeyUpdated => "api_key.updated",
            Self::LoginSucceeded => "login.succeeded",
            Self::LoginFailed => "login.failed",
            Self::LoginThrottled => "login.throttled",
            Self::Logout => "logout",
            Self::LogoutEverywhere => "logout.everywhere",
            Self::ApplicationCreated => "application.created",
            Self::ApplicationUpdated => "application.updated",
            Self::ApplicationSecretRotated => "application.secret_rotated",
            Self::ApplicationDeleted => "application.deleted",
            Self::ConsentGranted => "consent.granted",
            Self::ConsentDenied => "consent.denied",
            Self::GrantRevoked => "grant.revoked",
            Self::RefreshReuseDetected => "refresh_token.reuse_detected",
            Self::CodeReplayDetected => "authorization_code.replay_detected",
            Self::RoleChanged => "membership.role_changed",
            Self::PasswordChangeFailed => "user.password_change_failed",
            Self::PasswordChangeThrottled => "user.password_change_throttled",
            Self::ClientAuthFailed => "oauth.client_auth_failed",
            Self::AccessRefused => "access.refused",
            Self::GatewayRequestAllowed => "gateway.request_allowed",
            Self::InvitationCreated => "invitation.created",
            Self::InvitationAccepted => "invitation.accepted",
            Self::InvitationDeclined => "invitation.declined",
            Self::InvitationWithdrawn => "invitation.withdrawn",
            Self::ScopeCreated => "scope.created",
            Self::ScopeUpdated => "scope.updated",
            Self::ScopeDeleted => "scope.deleted",
            Self::RoleScopesChanged => "role_scopes.changed",
            Self::RoleScopesReset => "role_scopes.reset",
            Self::SigningKeyCreated => "signing_key.created",
            Self::SigningKeyRetired => "signing_key.retired",
            Self::SigningKeyPurged => "signing_key.purged",
            Self::SigningKeyRewrapped => "signing_key.rewrapped",
            Self::LeakedSecretRevoked => "secret.leak_revoked",
        }
    }
}

impl fmt::Display for AuditAction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Most bytes of an event's `detail` (user input included) kept in storage.
pub const MAX_DETAIL_BYTES: usize = 256;
/// Most bytes of a `User-Agent` kept in storage.
pub const MAX_USER_AGENT_BYTES: usize = 256;
/// Most bytes of a client address kept in storage: an IPv6 address with a zone fits.
pub const MAX_IP_BYTES: usize = 64;
/// Most bytes of a target id or credential id kept in storage.
pub const MAX_ID_BYTES: usize = 128;
/// What marks a value that was cut.
const CUT_MARK: char = '…';

/// `text` cut to at most `max` bytes at a character boundary, ending in `…` when something was
/// cut. Text that fits is returned as it is.
pub fn truncate_for_storage(text: &str, max: usize) -> String {
    if text.len() <= max {
        return text.to_owned();
    }
    let room = max.saturating_sub(CUT_MARK.len_utf8());
    let mut end = room.min(text.len());
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    let mut cut = String::with_capacity(end + CUT_MARK.len_utf8());
    cut.push_str(&text[..end]);
    if max >= CUT_MARK.len_utf8() {
        cut.push(CUT_MARK);
    }
    cut
}

fn bound(field: Option<String>, max: usize) -> Option<String> {
    field.map(|text| {
        if text.len() <= max {
            text
        } else {
            truncate_for_storage(&text, max)
        }
    })
}

/// Who acted, with what credential, from where. Carried into every state-changing operation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Actor {
    /// The acting user, if known.
    pub user_id: Option<i64>,
    /// The credential used.
    pub credential: CredentialRef,
    /// The client's IP address.
    pub ip: Option<String>,
    /// The client's `User-Agent`.
    pub user_agent: Option<String>,
}

impl Actor {
    /// An operator running a command on the database.
    pub fn operator() -> Self {
        Self {
            user_id: None,
            credential: CredentialRef::Operator,
            ip: None,
            user_agent: None,
        }
    }
}

impl Actor {
    /// The server acting on its own schedule, for no request.
    pub fn server() -> Self {
        Self {
            credential: CredentialRef::Server,
            ..Self::operator()
        }
    }
}

/// An audit event to be written, in the same transaction as the change it describes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditEntry {
    /// When it happened.
    pub at: OffsetDateTime,
    /// The account it happened in, if any.
    pub account_id: Option<i64>,
    /// Who did it.
    pub actor: Actor,
    /// What happened.
    pub action: AuditAction,
    /// The kind of thing acted on (`api_key`, `user`, …).
    pub target_type: &'static str,
    /// The id of the thing acted on; filled in by the store for creations.
    pub target_id: Option<String>,
    /// Whether it worked.
    pub success: bool,
    /// A short non-secret detail (such as the email a failed login tried).
    pub detail: Option<String>,
}

impl AuditEntry {
    /// A successful action on `target_type`.
    pub fn new(
        at: OffsetDateTime,
        actor: &Actor,
        action: AuditAction,
        target_type: &'static str,
    ) -> Self {
        Self {
            at,
            account_id: None,
            actor: actor.clone(),
            action,
            target_type,
            target_id: None,
            success: true,
            detail: None,
        }
    }

    /// Sets the account.
    pub fn in_account(mut self, account_id: i64) -> Self {
        self.account_id = Some(account_id);
        self
    }

    /// Sets the target's id.
    pub fn target(mut self, id: impl ToString) -> Self {
        self.target_id = Some(id.to_string());
        self
    }

    /// Marks the action as failed.
    pub fn failed(mut self) -> Self {
        self.success = false;
        self
    }

    /// Adds a detail, cut to [`MAX_DETAIL_BYTES`].
    pub fn detail(mut self, detail: impl Into<String>) -> Self {
        self.detail = bound(Some(detail.into()), MAX_DETAIL_BYTES);
        self
    }

    /// The entry with every field that can carry request input cut to its bound: detail,
    /// user agent, address and ids. The store applies it to every entry it writes.
    pub fn bounded(mut self) -> Self {
        self.detail = bound(self.detail, MAX_DETAIL_BYTES);
        self.target_id = bound(self.target_id, MAX_ID_BYTES);
        self.actor.ip = bound(self.actor.ip, MAX_IP_BYTES);
        self.actor.user_agent = bound(self.actor.user_agent, MAX_USER_AGENT_BYTES);
        self
    }
}

/// An audit event as read back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditRecord {
    /// Database id; larger is newer.
    pub id: i64,
    /// When it happened.
    pub at: OffsetDateTime,
    /// The account it happened in.
    pub account_id: Option<i64>,
    /// Who did it, with what, from where.
    pub actor: Actor,
    /// The actor's email, for display.
    pub actor_email: Option<String>,
    /// What happened (an [`AuditAction`] name).
    pub action: String,
    /// The kind of thing acted on.
    pub target_type: String,
    /// The id of the thing acted on.
    pub target_id: Option<String>,
    /// Whether it worked.
    pub success: bool,
    /// A short non-secret detail.
    pub detail: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_cut_at_a_character_boundary() {
        assert_eq!(truncate_for_storage("short", 10), "short");
        let cut = truncate_for_storage("abcdefghij", 6);
        assert_eq!(cut, "abc…");
        assert!(cut.len() <= 6);
        // "é" is two bytes: never split.
        let accents = "é".repeat(100);
        for max in 0..40 {
            let cut = truncate_for_storage(&accents, max);
            assert!(cut.len() <= max, "{max}: {cut}");
            assert!(cut.trim_end_matches('…').chars().all(|c| c == 'é'));
        }
    }

    #[test]
    fn entries_hold_a_bounded_amount_of_request_input() {
        let huge = "x".repeat(60_000);
        let actor = Actor {
            user_id: None,
            credential: CredentialRef::Anonymous,
            ip: Some("1".repeat(8_000)),
            user_agent: Some("ü".repeat(5_000)),
        };
        let entry = AuditEntry::new(
            OffsetDateTime::UNIX_EPOCH,
            &actor,
            AuditAction::LoginThrottled,
            "session",
        )
        .detail(format!("email {huge}"));
        assert!(entry.detail.as_ref().unwrap().len() <= MAX_DETAIL_BYTES);
        let entry = AuditEntry {
            detail: Some(huge.clone()),
            target_id: Some(huge),
            ..entry
        }
        .bounded();
        assert!(entry.detail.unwrap().len() <= MAX_DETAIL_BYTES);
        assert!(entry.target_id.unwrap().len() <= MAX_ID_BYTES);
        assert!(entry.actor.ip.unwrap().len() <= MAX_IP_BYTES);
        assert!(entry.actor.user_agent.unwrap().len() <= MAX_USER_AGENT_BYTES);
    }
}
