//! Invitations: how a person joins an account.
//!
//! Emails are unique server-wide, so an admin who could create a person directly would learn,
//! from a refusal, that the email already has a login in some other account, and could reserve
//! an email before its owner. Instead an admin invites an email: the answer is the same whether
//! the email is new, has a login elsewhere, or was invited already, and nothing about other
//! accounts leaks. The person opens the one-time link and either accepts while signed in as the
//! invited email, or, when that email has no login yet, chooses a password.
//!
//! The rules live here and do no I/O; [`InvitationStore`] keeps the records.

use std::fmt;
use std::future::Future;

use time::{Duration, OffsetDateTime};

use crate::account::Account;
use crate::audit::{Actor, AuditAction, AuditEntry};
use crate::page::{Page, PageRequest};
use crate::role::Role;
use crate::secret::{Secret, SecretKind, TokenHash};
use crate::store::{NewUser, StoreResult};
use crate::user::{normalize_email, validate_user_name, Member, Membership, User, UserInputError};

/// How long an invitation link works.
pub const INVITATION_TTL: Duration = Duration::days(7);

/// Where an invitation stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum InvitationStatus {
    /// Waiting for the person (unless expired; see [`check_acceptable`]).
    Pending,
    /// The person joined the account.
    Accepted,
    /// The person said no.
    Declined,
    /// An admin withdrew it.
    Withdrawn,
    /// A newer invitation of the same email to the same account took its place.
    Replaced,
}

impl InvitationStatus {
    /// The status's name on the wire and in storage.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Accepted => "accepted",
            Self::Declined => "declined",
            Self::Withdrawn => "withdrawn",
            Self::Replaced => "replaced",
        }
    }

    /// The status a stored name stands for.
    pub fn parse(text: &str) -> Option<Self> {
        [
            Self::Pending,
            Self::Accepted,
            Self::Declined,
            Self::Withdrawn,
            Self::Replaced,
        ]
        .into_iter()
        .find(|status| status.as_str() == text)
    }
}

impl fmt::Display for InvitationStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A stored invitation. The secret of its link is kept only as a SHA-256.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invitation {
    /// Database id.
    pub id: i64,
    /// The account the person is invited to.
    pub account_id: i64,
    /// The invited email, normalised (lower case).
    pub email: String,
    /// The display name the admin gave, used when the person creates a login.
    pub name: String,
    /// The role the person gets on accepting.
    pub role: Role,
    /// Where it stands.
    pub status: InvitationStatus,
    /// SHA-256 of the link's secret.
    pub hash: TokenHash,
    /// The user who invited, if any (operators have no user).
    pub invited_by: Option<i64>,
    /// When it was made.
    pub created_at: OffsetDateTime,
    /// When the link stops working.
    pub expires_at: OffsetDateTime,
}

/// An invitation to store.
#[derive(Debug, Clone)]
pub struct NewInvitation {
    /// The account.
    pub account_id: i64,
    /// Normalised email.
    pub email: String,
    /// Display name.
    pub name: String,
    /// Role on accepting.
    pub role: Role,
    /// SHA-256 of the link's secret.
    pub hash: TokenHash,
    /// Who invited.
    pub invited_by: Option<i64>,
    /// Now.
    pub created_at: OffsetDateTime,
    /// `created_at` + [`INVITATION_TTL`].
    pub expires_at: OffsetDateTime,
}

/// What storing an invitation did.
#[derive(Debug, Clone)]
pub enum InvitationCreated {
    /// Stored; any earlier pending invitation of the same email to the account was replaced.
    Created(Invitation),
    /// The email already belongs to a member of this account (whom the admin sees anyway).
    AlreadyMember,
}

/// What ending an invitation (accepting, declining, withdrawing) found.
#[derive(Debug, Clone)]
pub enum InvitationEnded<T> {
    /// Done.
    Done(T),
    /// The invitation was no longer pending (used, withdrawn, replaced) or had expired.
    Gone,
    /// Accepting: the user is already a member of the account; nothing changed.
    AlreadyMember,
    /// Accepting as a new person: a login with this email exists; nothing changed.
    LoginExists,
}

/// Invitations.
pub trait InvitationStore: Send + Sync {
    /// Stores an invitation unless the email is already a member of the account, replacing
    /// any pending invitation of the same email to the same account, in one transaction.
    fn create_invitation(
        &self,
        invitation: NewInvitation,
        audit: AuditEntry,
    ) -> impl Future<Output = StoreResult<InvitationCreated>> + Send;
    /// The invitation whose link has this hash, with its account, whatever its state.
    fn invitation_by_hash(
        &self,
        hash: &TokenHash,
    ) -> impl Future<Output = StoreResult<Option<(Invitation, Account)>>> + Send;
    /// An account's invitations that are pending and not expired at `now`, oldest first.
    fn pending_invitations(
        &self,
        account_id: i64,
        now: OffsetDateTime,
        page: PageRequest,
    ) -> impl Future<Output = StoreResult<Page<Invitation>>> + Send;
    /// Withdraws a pending invitation of the account.
    fn withdraw_invitation(
        &self,
        account_id: i64,
        id: i64,
        now: OffsetDateTime,
        audit: AuditEntry,
    ) -> impl Future<Output = StoreResult<InvitationEnded<Invitation>>> + Send;
    /// Declines a pending, unexpired invitation.
    fn decline_invitation(
        &self,
        id: i64,
        now: OffsetDateTime,
        audit: AuditEntry,
    ) -> impl Future<Output = StoreResult<InvitationEnded<()>>> + Send;
    /// Ends a pending, unexpired invitation and makes `user_id` a member, in one transaction.
    fn accept_invitation(
        &self,
        id: i64,
        user_id: i64,
        now: OffsetDateTime,
        audit: AuditEntry,
    ) -> impl Future<Output = StoreResult<InvitationEnded<Membership>>> + Send;
    /// Ends a pending, unexpired invitation, creates the person's login and makes them a
    /// member, in one transaction. [`InvitationEnded::LoginExists`] when the email has a login.
    fn accept_invitation_as_new_person(
        &self,
        id: i64,
        user: NewUser,
        now: OffsetDateTime,
        audit: AuditEntry,
    ) -> impl Future<Output = StoreResult<InvitationEnded<Member>>> + Send;
}

/// Why an invitation cannot be made.
#[derive(Debug, thiserror::Error)]
pub enum InviteError {
    /// Bad email or name.
    #[error(transparent)]
    Input(#[from] UserInputError),
    /// The role ranks above the inviter's.
    #[error("only an owner can make another owner; your role is {0}")]
    HigherRole(Role),
}

/// An invitation ready to store, and the secret of its link, to show once.
#[derive(Debug)]
pub struct PreparedInvitation {
    /// What to store.
    pub invitation: NewInvitation,
    /// The link's secret (`gk_inv_…`); `Debug` prints only its kind.
    pub secret: Secret,
}

/// Checks an invitation of `email` to `account_id` with `role` by someone whose role is
/// `inviter_role`, and draws its secret. The rank rule is the one of every role change
/// ([`Role::may_administer`]): nobody invites above their own rank.
pub fn prepare_invitation(
    account_id: i64,
    email: &str,
    name: &str,
    role: Role,
    inviter_role: Role,
    invited_by: Option<i64>,
    now: OffsetDateTime,
) -> Result<PreparedInvitation, InviteError> {
    let email = normalize_email(email)?;
    validate_user_name(name)?;
    if !inviter_role.may_administer(role) {
        return Err(InviteError::HigherRole(inviter_role));
    }
    let secret = Secret::generate(SecretKind::Invitation);
    Ok(PreparedInvitation {
        invitation: NewInvitation {
            account_id,
            email,
            name: name.to_owned(),
            role,
            hash: secret.hash(),
            invited_by,
            created_at: now,
            expires_at: now + INVITATION_TTL,
        },
        secret,
    })
}

/// Why an invitation link cannot be used.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum AcceptRefused {
    /// The link is malformed, unknown, used, withdrawn, replaced or expired. One answer for
    /// all, so a link's holder learns nothing from the difference.
    #[error("this invitation link is not valid (it may have been used, withdrawn or expired)")]
    Unusable,
    /// The signed-in person is not the invited email.
    #[error("this invitation is for another email address")]
    OtherEmail,
}

/// Whether `invitation` can still be used at `now`: pending and not expired.
pub fn check_usable(invitation: &Invitation, now: OffsetDateTime) -> Result<(), AcceptRefused> {
    if invitation.status == InvitationStatus::Pending && now < invitation.expires_at {
        Ok(())
    } else {
        Err(AcceptRefused::Unusable)
    }
}

/// Whether `email` is the invited one. Emails are compared case-insensitively (both sides are
/// normalised; an unparsable email matches nothing).
pub fn email_matches(invitation: &Invitation, email: &str) -> bool {
    match (normalize_email(&invitation.email), normalize_email(email)) {
        (Ok(invited), Ok(presented)) => invited == presented,
        _ => false,
    }
}

/// Whether `user` may accept `invitation` at `now`: usable, the invited email, an active
/// person (a service account joins no other account).
pub fn check_acceptable(
    invitation: &Invitation,
    user: &User,
    now: OffsetDateTime,
) -> Result<(), AcceptRefused> {
    check_usable(invitation, now)?;
    if !email_matches(invitation, &user.email) || user.is_disabled() {
        return Err(AcceptRefused::OtherEmail);
    }
    Ok(())
}

/// The login a new person creates by accepting `invitation`: the invited email (never one the
/// form could change), the name they chose, and the hash of the password they chose.
pub fn person_for(
    invitation: &Invitation,
    name: &str,
    password_hash: String,
    now: OffsetDateTime,
) -> Result<NewUser, UserInputError> {
    let name = name.trim();
    validate_user_name(name)?;
    Ok(NewUser {
        email: invitation.email.clone(),
        name: name.to_owned(),
        kind: crate::user::UserKind::Person,
        password_hash: Some(password_hash),
        created_at: now,
    })
}

/// The audit entry of an invitation event.
pub fn invitation_audit(
    now: OffsetDateTime,
    actor: &Actor,
    action: AuditAction,
    account_id: i64,
    role: Role,
) -> AuditEntry {
    AuditEntry::new(now, actor, action, "invitation")
        .in_account(account_id)
        .detail(format!("role {role}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn invitation(status: InvitationStatus, expires_at: OffsetDateTime) -> Invitation {
        Invitation {
            id: 1,
            account_id: 1,
            email: "ada@example.test".into(),
            name: "Ada".into(),
            role: Role::Member,
            status,
            hash: TokenHash::of("x"),
            invited_by: None,
            created_at: expires_at - INVITATION_TTL,
            expires_at,
        }
    }

    #[test]
    fn only_a_pending_unexpired_invitation_is_usable() {
        let now = OffsetDateTime::now_utc();
        let later = now + Duration::hours(1);
        assert!(check_usable(&invitation(InvitationStatus::Pending, later), now).is_ok());
        assert_eq!(
            check_usable(&invitation(InvitationStatus::Pending, now), now),
            Err(AcceptRefused::Unusable)
        );
        for status in [
            InvitationStatus::Accepted,
            InvitationStatus::Declined,
            InvitationStatus::Withdrawn,
            InvitationStatus::Replaced,
        ] {
            assert_eq!(
                check_usable(&invitation(status, later), now),
                Err(AcceptRefused::Unusable)
            );
        }
    }

    #[test]
    fn emails_match_case_insensitively_and_only_exactly() {
        let invited = invitation(InvitationStatus::Pending, OffsetDateTime::now_utc());
        assert!(email_matches(&invited, "Ada@Example.TEST"));
        assert!(email_matches(&invited, " ada@example.test "));
        assert!(!email_matches(&invited, "ada@example.test.evil"));
        assert!(!email_matches(&invited, "eve@example.test"));
        assert!(!email_matches(&invited, "not an email"));
    }

    #[test]
    fn nobody_invites_above_their_rank() {
        let now = OffsetDateTime::now_utc();
        let refused = prepare_invitation(1, "a@b.test", "A", Role::Owner, Role::Admin, None, now);
        assert!(matches!(refused, Err(InviteError::HigherRole(Role::Admin))));
        let made = prepare_invitation(1, "A@B.test", "A", Role::Admin, Role::Admin, None, now)
            .expect("an admin invites an admin");
        assert_eq!(made.invitation.email, "a@b.test");
        assert_eq!(made.invitation.expires_at, now + INVITATION_TTL);
        assert_eq!(made.invitation.hash, made.secret.hash());
        assert!(made.secret.expose().starts_with("gk_inv_"));
        assert!(!format!("{made:?}").contains(&made.secret.expose()[7..]));
    }
}
