//! Creating people and service accounts, inviting people, and disabling users.
//!
//! Admins add people only by invitation ([`invite_person`]): creating a login directly
//! ([`create_person`]) is for operators, who see every account anyway.

use rand::Rng;
use time::OffsetDateTime;

use crate::account::Account;
use crate::audit::{Actor, AuditAction, AuditEntry};
use crate::invitation::{
    invitation_audit, prepare_invitation, Invitation, InvitationCreated, InvitationStore,
    InviteError,
};
use crate::password::PasswordError;
use crate::role::Role;
use crate::secret::Secret;
use crate::store::{NewUser, RoleChange, StoreError, UserStore};
use crate::user::{normalize_email, validate_user_name, Member, User, UserInputError, UserKind};

/// Why a user could not be created.
#[derive(Debug, thiserror::Error)]
pub enum CreateUserError {
    /// Bad email or name.
    #[error(transparent)]
    Input(#[from] UserInputError),
    /// The password was refused.
    #[error(transparent)]
    Password(#[from] PasswordError),
    /// Storage failed, or the email is taken (`StoreError::Conflict`).
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// A person to create.
#[derive(Clone)]
pub struct PersonRequest<'a> {
    /// Email, normalised before storing.
    pub email: &'a str,
    /// Display name.
    pub name: &'a str,
    /// Role in the account.
    pub role: Role,
    /// The argon2id hash of the initial password (see [`crate::password::hash_password`]), if any.
    pub password_hash: Option<String>,
}

/// Creates a person with a role in `account`.
pub async fn create_person<S: UserStore>(
    store: &S,
    now: OffsetDateTime,
    account: &Account,
    person: PersonRequest<'_>,
    actor: &Actor,
) -> Result<Member, CreateUserError> {
    let PersonRequest {
        email,
        name,
        role,
        password_hash,
    } = person;
    let email = normalize_email(email)?;
    validate_user_name(name)?;
    let user = NewUser {
        email,
        name: name.to_owned(),
        kind: UserKind::Person,
        password_hash,
        created_at: now,
    };
    let audit = AuditEntry::new(now, actor, AuditAction::UserCreated, "user")
        .detail(format!("role {role}"));
    Ok(store.create_user(user, account.id, role, audit).await?)
}

/// A person to invite.
#[derive(Debug, Clone, Copy)]
pub struct Invitee<'a> {
    /// Email, normalised before storing.
    pub email: &'a str,
    /// Display name, used if the person creates a login.
    pub name: &'a str,
    /// Role on accepting.
    pub role: Role,
}

/// Why a person could not be invited.
#[derive(Debug, thiserror::Error)]
pub enum InvitePersonError {
    /// Bad email or name, or a role above the inviter's.
    #[error(transparent)]
    Invite(#[from] InviteError),
    /// The email already belongs to a member of this account.
    #[error("this person is already a member of this account")]
    AlreadyMember,
    /// Storage failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Invites `email` to `account` with `role`, as a member whose role is `inviter_role`. The
/// answer is the same whether the email is new, has a login in another account, or was invited
/// already (the earlier link stops working): only a member of this very account is refused.
/// Returns the invitation and the secret of its link, to show once.
pub async fn invite_person<S: InvitationStore>(
    store: &S,
    now: OffsetDateTime,
    account: &Account,
    person: Invitee<'_>,
    inviter_role: Role,
    actor: &Actor,
) -> Result<(Invitation, Secret), InvitePersonError> {
    let prepared = prepare_invitation(
        account.id,
        person.email,
        person.name,
        person.role,
        inviter_role,
        actor.user_id,
        now,
    )?;
    let audit = invitation_audit(
        now,
        actor,
        AuditAction::InvitationCreated,
        account.id,
        person.role,
    );
    match store.create_invitation(prepared.invitation, audit).await? {
        InvitationCreated::Created(invitation) => Ok((invitation, prepared.secret)),
        InvitationCreated::AlreadyMember => Err(InvitePersonError::AlreadyMember),
    }
}

/// Creates a service account in `account`: a user that has API keys but never a password. Its
/// email is made up under the reserved `.invalid` domain, so it can never receive mail.
pub async fn create_service_account<S: UserStore>(
    store: &S,
    now: OffsetDateTime,
    account: &Account,
    name: &str,
    role: Role,
    actor: &Actor,
) -> Result<Member, CreateUserError> {
    validate_user_name(name)?;
    let handle: String = name
        .to_lowercase()
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect::<String>()
        .split('-')
        .filter(|part| !part.is_empty())
        .collect::<Vec<_>>()
        .join("-");
    let handle = if handle.is_empty() {
        "service".to_owned()
    } else {
        handle.chars().take(40).collect()
    };
    let suffix: u32 = rand::thread_rng().gen_range(0x10_0000..0xff_ffff);
    let email = format!("{handle}.{suffix:06x}@{}.service.invalid", account.slug);
    let user = NewUser {
        email,
        name: name.to_owned(),
        kind: UserKind::Service,
        password_hash: None,
        created_at: now,
    };
    let audit = AuditEntry::new(
        now,
        actor,
        AuditAction::ServiceAccountCreated,
        "service_account",
    )
    .detail(format!("role {role}"));
    Ok(store.create_user(user, account.id, role, audit).await?)
}

/// Disables a user: every credential of theirs stops working on every server.
pub async fn disable_user<S: UserStore>(
    store: &S,
    now: OffsetDateTime,
    user_id: i64,
    actor: &Actor,
) -> Result<User, StoreError> {
    let audit = AuditEntry::new(now, actor, AuditAction::UserDisabled, "user").target(user_id);
    store.disable_user(user_id, now, audit).await
}

/// Re-enables a disabled user.
pub async fn enable_user<S: UserStore>(
    store: &S,
    now: OffsetDateTime,
    user_id: i64,
    actor: &Actor,
) -> Result<User, StoreError> {
    let audit = AuditEntry::new(now, actor, AuditAction::UserEnabled, "user").target(user_id);
    store.enable_user(user_id, audit).await
}

/// Sets a person's password from its argon2id hash (see [`crate::password::hash_password`]) and
/// ends their other sessions, keeping `keep_session` (the session that made the change).
pub async fn set_password<S: UserStore>(
    store: &S,
    now: OffsetDateTime,
    user_id: i64,
    password_hash: &str,
    keep_session: Option<i64>,
    actor: &Actor,
) -> Result<(), StoreError> {
    let audit = AuditEntry::new(now, actor, AuditAction::PasswordChanged, "user").target(user_id);
    store
        .set_password(user_id, password_hash, keep_session, audit)
        .await
}

/// Why a role change was refused.
#[derive(Debug, thiserror::Error)]
pub enum ChangeRoleError {
    /// No such member in the account.
    #[error("no such user in this account")]
    NotFound,
    /// The member's current role, or the role asked for, ranks above the changer's.
    #[error("a {0} ranks above you: you can neither change their role nor give that role")]
    HigherRole(Role),
    /// The member is the account's last owner.
    #[error("the account's last owner cannot be given another role")]
    LastOwner,
    /// Storage failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Changes `user_id`'s role in `account_id` to `role`, as a user whose role is `changer`. The
/// rank rule ([`Role::may_administer`]) applies to both the member's current role and the new
/// one. Every credential of the member is then checked again under the new role: a lowered
/// role narrows their API keys and OAuth tokens at once (the store announces the change).
pub async fn change_role<S: UserStore>(
    store: &S,
    now: OffsetDateTime,
    account_id: i64,
    changer: Role,
    user_id: i64,
    role: Role,
    actor: &Actor,
) -> Result<Member, ChangeRoleError> {
    let member = store
        .member(account_id, user_id)
        .await?
        .ok_or(ChangeRoleError::NotFound)?;
    let current = member.membership.role;
    for rank in [current, role] {
        if !changer.may_administer(rank) {
            return Err(ChangeRoleError::HigherRole(rank));
        }
    }
    let audit = AuditEntry::new(now, actor, AuditAction::RoleChanged, "user")
        .detail(format!("role {current} -> {role}"));
    match store.change_role(account_id, user_id, role, audit).await? {
        RoleChange::Changed(member) => Ok(member),
        RoleChange::LastOwner => Err(ChangeRoleError::LastOwner),
        RoleChange::NotFound => Err(ChangeRoleError::NotFound),
    }
}
