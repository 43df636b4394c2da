//! Storage traits, split by entity. `gatekey-store` implements them for SQLite and PostgreSQL.
//!
//! Every state-changing method takes the [`AuditEntry`] describing the change and writes it in
//! the same transaction, so a change is never stored without its audit event or the reverse.

use std::future::Future;

use time::OffsetDateTime;

use crate::account::Account;
use crate::api_key::ApiKey;
use crate::api_key_usage::{KeyChanges, KeyUsageSettings};
use crate::audit::{AuditEntry, AuditRecord};
use crate::page::{Page, PageRequest};
use crate::role::Role;
use crate::scope::ScopeSet;
use crate::secret::TokenHash;
use crate::session::Session;
use crate::user::{Member, Membership, User, UserKind};

/// A storage failure, as the domain sees it.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The row asked for does not exist.
    #[error("not found")]
    NotFound,
    /// A uniqueness rule was broken; the text names what was taken.
    #[error("{0} already exists")]
    Conflict(&'static str),
    /// The database could not be reached or failed. Never reported as success.
    #[error("storage unavailable: {0}")]
    Unavailable(String),
}

/// Shorthand for storage results.
pub type StoreResult<T> = Result<T, StoreError>;

/// A user to create.
#[derive(Clone)]
pub struct NewUser {
    /// Normalised email.
    pub email: String,
    /// Display name.
    pub name: String,
    /// Person or service account.
    pub kind: UserKind,
    /// argon2id PHC string; `None` for service accounts and password-less people.
    pub password_hash: Option<String>,
    /// Creation time.
    pub created_at: OffsetDateTime,
}

/// An API key to create.
#[derive(Debug, Clone)]
pub struct NewApiKey {
    /// The membership it acts through.
    pub membership_id: i64,
    /// Its name.
    pub name: String,
    /// Display prefix.
    pub display_prefix: String,
    /// SHA-256 of the secret.
    pub hash: TokenHash,
    /// Its scopes.
    pub scopes: ScopeSet,
    /// Creation time.
    pub created_at: OffsetDateTime,
    /// Optional expiry.
    pub expires_at: Option<OffsetDateTime>,
    /// The API key it is created with, if any (see [`crate::api_key::ParentKey`]).
    pub parent_key_id: Option<i64>,
    /// Meta, limits and credits (none by default).
    pub usage: KeyUsageSettings,
}

/// What storing a new API key did.
// Made once per key created, and unpacked at once: boxing the key would buy nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone)]
pub enum KeyCreation {
    /// The key is stored.
    Created(ApiKey),
    /// Nothing is stored: the parent key is revoked or expired, or its user disabled, by the
    /// time the new key would be written.
    ParentUnusable,
}

/// A revoked API key, with the keys revoked with it because they descend from it.
#[derive(Debug, Clone)]
pub struct RevokedKey {
    /// The key asked for.
    pub key: ApiKey,
    /// Keys created with it, directly or through other keys, revoked in the same transaction.
    pub cascaded: Vec<i64>,
}

/// An API key found by its hash, with everything needed to act on its behalf.
#[derive(Debug, Clone)]
pub struct KeyCredential {
    /// The key.
    pub key: ApiKey,
    /// Its user.
    pub user: User,
    /// Its account.
    pub account: Account,
    /// The user's role in the account.
    pub role: Role,
    /// Whether the hash found is the key's previous secret, the one its last roll replaced,
    /// rather than its current one.
    pub by_previous_secret: bool,
}

impl KeyCredential {
    /// When the presented secret stops working: the key's expiry, or, for a secret a roll
    /// replaced, the end of its grace if that comes first.
    pub fn expires_at(&self) -> Option<OffsetDateTime> {
        let key_expiry = self.key.expires_at;
        if !self.by_previous_secret {
            return key_expiry;
        }
        // A previous hash is always stored with its expiry; none would be a corrupt row, and
        // is taken as already over rather than as never ending.
        let grace_end = self
            .key
            .previous_secret_expires_at
            .unwrap_or(OffsetDateTime::UNIX_EPOCH);
        Some(key_expiry.map_or(grace_end, |at| at.min(grace_end)))
    }
}

/// Which API keys to list.
#[derive(Debug, Clone, Copy, Default)]
pub struct ApiKeyFilter {
    /// Only keys in this account.
    pub account_id: Option<i64>,
    /// Only keys of this user.
    pub user_id: Option<i64>,
    /// Only keys that work at the first time (neither revoked nor expired) and expire by the
    /// second: the reminder of `?expiring_within=`.
    pub expiring_between: Option<(OffsetDateTime, OffsetDateTime)>,
}

/// A new secret for an existing API key; see [`ApiKeyStore::roll_api_key`].
#[derive(Debug, Clone)]
pub struct KeyRoll {
    /// The key rolled.
    pub key_id: i64,
    /// SHA-256 of the new secret.
    pub hash: TokenHash,
    /// The new secret's display prefix.
    pub display_prefix: String,
    /// When the roll happens.
    pub at: OffsetDateTime,
    /// Until when the replaced secret keeps working; `None` ends it at once.
    pub previous_until: Option<OffsetDateTime>,
    /// The API key the roll is made with, if it is made with one.
    pub rolled_with: Option<RollingKey>,
}

/// The API key a roll is made with: it must be the rolled key itself or one the rolled key
/// descends from, and be presented with its current secret.
#[derive(Debug, Clone)]
pub struct RollingKey {
    /// Its id.
    pub id: i64,
    /// SHA-256 of the secret presented.
    pub hash: TokenHash,
}

/// What rolling an API key did.
#[derive(Debug, Clone)]
pub enum KeyRollOutcome {
    /// The key has its new secret.
    Rolled(ApiKey),
    /// Nothing changed: the key is revoked or expired at the roll's time (as it now stands).
    Unusable(ApiKey),
    /// Nothing changed: the rolling key is not the key or an ancestor of it, or was presented
    /// with a secret that a roll of its own has replaced.
    NotRollableWith,
}

/// A use of an API key, as the credential cache writes it in batches.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct KeyUse {
    /// The key.
    pub key_id: i64,
    /// When.
    pub at: OffsetDateTime,
    /// From which client address, if known.
    pub ip: Option<std::net::IpAddr>,
}

/// Which cached entries a change makes stale; see [`InvalidationStore`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Invalidation {
    /// One API key was revoked.
    ApiKey(i64),
    /// A user was disabled or changed: every credential of theirs.
    User(i64),
    /// A session ended.
    Session(i64),
    /// One OAuth access token was revoked.
    AccessToken(i64),
    /// A refresh family was revoked, with its access tokens.
    Family(i64),
    /// A grant was revoked, with everything under it.
    Grant(i64),
    /// An application was deleted or changed: every token of it.
    Application(i64),
    /// The scope catalogue changed: what every role holds, in every account, and every
    /// credential checked under it.
    ScopeCatalogue,
    /// An account mapped a role to other catalogue scopes: what its roles hold, and every
    /// credential checked in it.
    AccountScopes(i64),
}

/// What a role change did.
#[derive(Debug, Clone)]
pub enum RoleChange {
    /// The role is now the one asked for (it may have been already).
    Changed(Member),
    /// The member is the account's last owner and would no longer be one.
    LastOwner,
    /// No such member.
    NotFound,
}

/// Accounts.
pub trait AccountStore: Send + Sync {
    /// Creates an account. Conflict if the slug is taken.
    fn create_account(
        &self,
        slug: &str,
        name: &str,
        now: OffsetDateTime,
        audit: AuditEntry,
    ) -> impl Future<Output = StoreResult<Account>> + Send;
    /// The account with this slug.
    fn account_by_slug(
        &self,
        slug: &str,
    ) -> impl Future<Output = StoreResult<Option<Account>>> + Send;
    /// The account with this id.
    fn account_by_id(&self, id: i64) -> impl Future<Output = StoreResult<Option<Account>>> + Send;
    /// Every account, oldest first.
    fn list_accounts(&self) -> impl Future<Output = StoreResult<Vec<Account>>> + Send;
}

/// Users and memberships.
pub trait UserStore: Send + Sync {
    /// Creates a user with a membership in `account_id`. Conflict if the email is taken.
    fn create_user(
        &self,
        user: NewUser,
        account_id: i64,
        role: Role,
        audit: AuditEntry,
    ) -> impl Future<Output = StoreResult<Member>> + Send;
    /// Adds an existing user to an account. Conflict if already a member.
    fn add_membership(
        &self,
        user_id: i64,
        account_id: i64,
        role: Role,
        now: OffsetDateTime,
        audit: AuditEntry,
    ) -> impl Future<Output = StoreResult<Membership>> + Send;
    /// The user with this (normalised) email.
    fn user_by_email(&self, email: &str) -> impl Future<Output = StoreResult<Option<User>>> + Send;
    /// A user and their membership in one account.
    fn member(
        &self,
        account_id: i64,
        user_id: i64,
    ) -> impl Future<Output = StoreResult<Option<Member>>> + Send;
    /// Every membership of a user, with its account, oldest first.
    fn memberships_of(
        &self,
        user_id: i64,
    ) -> impl Future<Output = StoreResult<Vec<(Membership, Account)>>> + Send;
    /// Members of one account (or of every account), optionally of one kind, oldest first.
    fn list_members(
        &self,
        account_id: Option<i64>,
        kind: Option<UserKind>,
        page: PageRequest,
    ) -> impl Future<Output = StoreResult<Page<Member>>> + Send;
    /// Sets a person's password hash and ends their sessions, except `keep_session`. Clears
    /// the must-change-password mark.
    fn set_password(
        &self,
        user_id: i64,
        password_hash: &str,
        keep_session: Option<i64>,
        audit: AuditEntry,
    ) -> impl Future<Output = StoreResult<()>> + Send;
    /// Marks a person as having to change their password before anything else (the owner
    /// first run creates with a generated password).
    fn require_password_change(&self, user_id: i64)
        -> impl Future<Output = StoreResult<()>> + Send;
    /// Re-enables a disabled user. Their API keys that were not revoked work again.
    fn enable_user(
        &self,
        user_id: i64,
        audit: AuditEntry,
    ) -> impl Future<Output = StoreResult<User>> + Send;
    /// Changes a member's role in one account and announces the user's invalidation, so every
    /// cached credential of theirs is checked again under the new role. Refuses
    /// ([`RoleChange::LastOwner`]) to leave the account without an owner; changes to one
    /// account's roles are serialised, so two owners cannot demote each other at once.
    fn change_role(
        &self,
        account_id: i64,
        user_id: i64,
        role: Role,
        audit: AuditEntry,
    ) -> impl Future<Output = StoreResult<RoleChange>> + Send;
    /// Disables a user. Their credentials stop working everywhere, and every API key created
    /// with one of their keys (a service account's key made by an admin's key, say) is revoked
    /// in the same transaction.
    fn disable_user(
        &self,
        user_id: i64,
        now: OffsetDateTime,
        audit: AuditEntry,
    ) -> impl Future<Output = StoreResult<User>> + Send;
}

/// API keys.
pub trait ApiKeyStore: Send + Sync {
    /// Stores a new key. A key with a parent is stored only if, inside the same transaction,
    /// the parent is neither revoked nor expired (at the new key's `created_at`) and its user
    /// is not disabled; the parent's rows are locked so that creation and a concurrent
    /// revocation or disabling are ordered, and the revocation's cascade sees the child.
    fn create_api_key(
        &self,
        key: NewApiKey,
        audit: AuditEntry,
    ) -> impl Future<Output = StoreResult<KeyCreation>> + Send;
    /// The key whose current secret or previous (rolled) secret has this hash, and its owner,
    /// whatever its state.
    fn api_key_credential(
        &self,
        hash: &TokenHash,
    ) -> impl Future<Output = StoreResult<Option<KeyCredential>>> + Send;
    /// The key with this id.
    fn api_key_by_id(&self, id: i64) -> impl Future<Output = StoreResult<Option<ApiKey>>> + Send;
    /// Keys matching the filter, newest first.
    fn list_api_keys(
        &self,
        filter: ApiKeyFilter,
        page: PageRequest,
    ) -> impl Future<Output = StoreResult<Page<ApiKey>>> + Send;
    /// Revokes a key and, in the same transaction, every key created with it (directly or
    /// through other keys), each with its own audit event and invalidation. Revoking a revoked
    /// key writes no event for it, but still revokes any descendant left standing.
    fn revoke_api_key(
        &self,
        id: i64,
        now: OffsetDateTime,
        audit: AuditEntry,
    ) -> impl Future<Output = StoreResult<RevokedKey>> + Send;
    /// Changes a key's name, meta, limits or credits ([`KeyChanges`], already checked), with
    /// its audit entry and an invalidation of the key, so every server drops what it cached
    /// of it (and the credits it leased, when the balance is set). Setting the balance or the
    /// refill bumps the credit generation. `NotFound` when no such key exists.
    fn update_api_key(
        &self,
        id: i64,
        changes: KeyChanges,
        now: OffsetDateTime,
        audit: AuditEntry,
    ) -> impl Future<Output = StoreResult<ApiKey>> + Send;
    /// Records when keys were last used and from where, keeping the later use when one is
    /// already stored.
    fn record_key_usage(&self, usage: &[KeyUse]) -> impl Future<Output = StoreResult<()>> + Send;
    /// Gives a key a new secret (its id, name, scopes, expiry, owner and children stay) if it
    /// is neither revoked nor expired at `roll.at` and, when the roll is made with an API key,
    /// that key may roll it ([`RollingKey`]). The current secret becomes the previous one until
    /// `roll.previous_until`, ending the one an earlier roll kept; with no grace none is kept.
    /// The roll writes its audit event and the key's invalidation in the same transaction, so
    /// every server drops what it cached under either secret. `NotFound` if there is no key.
    fn roll_api_key(
        &self,
        roll: KeyRoll,
        audit: AuditEntry,
    ) -> impl Future<Output = StoreResult<KeyRollOutcome>> + Send;
    /// Ends the grace of key `id`'s previous secret now if `hash` is that secret, with its
    /// audit event and the key's invalidation; the key and its current secret stay. Says
    /// whether it did.
    fn end_previous_api_key_secret(
        &self,
        id: i64,
        hash: &TokenHash,
        audit: AuditEntry,
    ) -> impl Future<Output = StoreResult<bool>> + Send;
}

/// Web sessions.
pub trait SessionStore: Send + Sync {
    /// Stores a new session.
    fn create_session(
        &self,
        session: Session,
        audit: AuditEntry,
    ) -> impl Future<Output = StoreResult<Session>> + Send;
    /// The session with this hash, if it exists.
    fn session_by_hash(
        &self,
        hash: &TokenHash,
    ) -> impl Future<Output = StoreResult<Option<Session>>> + Send;
    /// Points a session at another account of the same user (the caller checks membership).
    fn switch_session_account(
        &self,
        id: i64,
        account_id: i64,
    ) -> impl Future<Output = StoreResult<()>> + Send;
    /// Ends a session.
    fn delete_session(
        &self,
        id: i64,
        audit: AuditEntry,
    ) -> impl Future<Output = StoreResult<()>> + Send;
    /// Records that a session was used at `now` (callers write this at most once every
    /// [`crate::session::LAST_SEEN_RESOLUTION`]).
    fn touch_session(
        &self,
        id: i64,
        now: OffsetDateTime,
    ) -> impl Future<Output = StoreResult<()>> + Send;
    /// Ends every session of a user, in every account ("sign out everywhere"), with one audit
    /// event. Returns how many ended.
    fn delete_user_sessions(
        &self,
        user_id: i64,
        audit: AuditEntry,
    ) -> impl Future<Output = StoreResult<u64>> + Send;
    /// Deletes sessions last used before `last_seen_before` (idle ones, for the retention
    /// task). Returns how many were deleted.
    fn delete_idle_sessions(
        &self,
        last_seen_before: OffsetDateTime,
    ) -> impl Future<Output = StoreResult<u64>> + Send;
}

/// The audit log.
pub trait AuditStore: Send + Sync {
    /// Writes an event that comes with no other change (a failed login, say).
    fn record_audit(&self, entry: AuditEntry) -> impl Future<Output = StoreResult<()>> + Send;
    /// Events of one account, newest first.
    fn list_audits(
        &self,
        account_id: i64,
        page: PageRequest,
    ) -> impl Future<Output = StoreResult<Page<AuditRecord>>> + Send;
    /// Why each of `key_ids` (API keys of `account_id`) was revoked, for those a secret
    /// scanner reported leaked: the key's id and the `secret.leak_revoked` event's detail, for
    /// as long as the audit log keeps it.
    fn leak_revocations_of_keys(
        &self,
        account_id: i64,
        key_ids: &[i64],
    ) -> impl Future<Output = StoreResult<Vec<(i64, String)>>> + Send;
}

/// The feed of changes that make cached credentials stale. Every revocation writes to it in
/// its own transaction, and the writing server evicts as it commits; every server polls it
/// (and PostgreSQL also pushes it), so a change made by another replica or by an operator
/// command reaches every cache.
pub trait InvalidationStore: Send + Sync {
    /// Invalidations written at or after `since` (by the database's clock, in milliseconds).
    fn invalidations_since(
        &self,
        since_millis: i64,
    ) -> impl Future<Output = StoreResult<(Vec<Invalidation>, i64)>> + Send;
    /// Deletes invalidations older than `before`.
    fn prune_invalidations(
        &self,
        before_millis: i64,
    ) -> impl Future<Output = StoreResult<()>> + Send;
}

/// Leases on periodic jobs, so that one replica at a time runs each (the retention purge).
pub trait JobLeaseStore: Send + Sync {
    /// Takes or renews the lease on `job` for `holder` until `now + lease`, and says whether
    /// `holder` holds it now: true when nobody held it, its lease had expired, or `holder`
    /// already held it; false while another holder's lease runs.
    fn claim_job_lease(
        &self,
        job: &str,
        holder: &str,
        now: time::OffsetDateTime,
        lease: time::Duration,
    ) -> impl Future<Output = StoreResult<bool>> + Send;
}
