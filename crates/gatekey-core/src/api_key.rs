//! API keys: a secret tied to one membership (one user in one account), with scopes and an
//! optional expiry. Only the SHA-256 is stored.

use time::OffsetDateTime;

use crate::api_key_usage::{KeyCredits, KeyLimits, KeyMeta};
use crate::scope::ScopeSet;

/// Longest key name accepted.
pub const MAX_KEY_NAME_LEN: usize = 100;

/// An API key as stored: everything but the secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiKey {
    /// Database id.
    pub id: i64,
    /// The membership the key acts through.
    pub membership_id: i64,
    /// The user the key acts as.
    pub user_id: i64,
    /// The account the key acts in.
    pub account_id: i64,
    /// What the owner called it.
    pub name: String,
    /// Non-secret beginning of the key, to tell keys apart.
    pub display_prefix: String,
    /// After a roll with a grace period: when the replaced secret stops (or stopped) working.
    /// Only one replaced secret is kept; see [`crate::api_key_roll`].
    pub previous_secret_expires_at: Option<OffsetDateTime>,
    /// The display prefix of the secret the last roll replaced, while that is kept.
    pub previous_display_prefix: Option<String>,
    /// The key's own scopes; the effective scopes also depend on the user's role.
    pub scopes: ScopeSet,
    /// When it was created.
    pub created_at: OffsetDateTime,
    /// When it was last used, to within the flush interval.
    pub last_used_at: Option<OffsetDateTime>,
    /// The client address of that last use.
    pub last_used_ip: Option<String>,
    /// When it stops working, if ever.
    pub expires_at: Option<OffsetDateTime>,
    /// When it was revoked.
    pub revoked_at: Option<OffsetDateTime>,
    /// The API key it was created with, if any: it is revoked with that key.
    pub parent_key_id: Option<i64>,
    /// Metadata handed to whoever checks the key (see [`crate::api_key_usage`]).
    pub meta: Option<KeyMeta>,
    /// The key's own rate limits, on top of its account's.
    pub limits: KeyLimits,
    /// Its credits; `None` is unlimited.
    pub credits: Option<KeyCredits>,
}

impl ApiKey {
    /// Whether the key is metered by limits or credits of its own.
    pub fn is_metered(&self) -> bool {
        !self.limits.is_empty() || self.credits.is_some()
    }

    /// Whether the key works at `now`: neither revoked nor expired.
    pub fn is_usable_at(&self, now: OffsetDateTime) -> bool {
        self.revoked_at.is_none() && self.expires_at.is_none_or(|at| now < at)
    }

    /// Until when the secret replaced by the last roll still works, if it does at `now`: a
    /// replaced secret works only while its grace lasts and the key itself works.
    pub fn previous_secret_until(&self, now: OffsetDateTime) -> Option<OffsetDateTime> {
        self.previous_secret_expires_at
            .filter(|until| now < *until && self.is_usable_at(now))
    }
}

/// Why an API key request was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ApiKeyInputError {
    /// The name is empty, too long, or has control characters.
    #[error("name must be 1 to {MAX_KEY_NAME_LEN} characters")]
    BadName,
    /// Asked for scopes beyond what the creator may grant.
    #[error("scopes {requested:?} exceed what may be granted ({allowed:?})")]
    ScopeTooWide {
        /// What was asked for.
        requested: String,
        /// What could have been granted.
        allowed: String,
    },
    /// An empty list of scopes.
    #[error("a key needs at least one scope")]
    NoScope,
    /// An expiry in the past, or more than ten years ahead.
    #[error("expiry must be in the future and at most 10 years away")]
    BadExpiry,
    /// An expiry later than that of the API key creating the key.
    #[error("a key cannot outlive the API key that creates it: expires_in may be at most {max_seconds} seconds (leave it out to expire with the creating key)")]
    OutlivesCreator {
        /// The longest lifetime allowed, in seconds from now.
        max_seconds: i64,
    },
}

/// The API key a new key is created with. The new key is recorded as its child: it gets no
/// scope the parent lacks, no lifetime beyond the parent's, and it is revoked when the parent
/// is revoked or the parent's user disabled. Keys made with a web session (or by an operator)
/// have no parent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParentKey {
    /// The parent's id.
    pub id: i64,
    /// The parent's own scopes.
    pub scopes: ScopeSet,
    /// When the parent expires, if it does.
    pub expires_at: Option<OffsetDateTime>,
}

/// The expiry of a key created with `parent`: none asked for inherits the parent's expiry; one
/// beyond it is refused rather than silently shortened, as scopes beyond the creator's are.
pub fn expiry_within_parent(
    requested: Option<OffsetDateTime>,
    parent: Option<&ParentKey>,
    now: OffsetDateTime,
) -> Result<Option<OffsetDateTime>, ApiKeyInputError> {
    let Some(limit) = parent.and_then(|p| p.expires_at) else {
        return Ok(requested);
    };
    match requested {
        None => Ok(Some(limit)),
        Some(at) if at <= limit => Ok(Some(at)),
        Some(_) => Err(ApiKeyInputError::OutlivesCreator {
            max_seconds: (limit - now).whole_seconds().max(0),
        }),
    }
}

/// Checks a key name.
pub fn validate_key_name(name: &str) -> Result<(), ApiKeyInputError> {
    let length = name.chars().count();
    if name.trim() != name
        || !(1..=MAX_KEY_NAME_LEN).contains(&length)
        || name.chars().any(char::is_control)
    {
        return Err(ApiKeyInputError::BadName);
    }
    Ok(())
}

/// The scopes a new key gets: what was asked for, or by default all that may be granted; an
/// ask beyond `grantable` is refused rather than silently narrowed.
pub fn scopes_for_new_key(
    requested: Option<ScopeSet>,
    grantable: ScopeSet,
) -> Result<ScopeSet, ApiKeyInputError> {
    match requested {
        None => Ok(grantable),
        Some(requested) if requested.is_empty() => Err(ApiKeyInputError::NoScope),
        Some(requested) if requested.is_subset_of(&grantable) => Ok(requested),
        Some(requested) => Err(ApiKeyInputError::ScopeTooWide {
            requested: requested.to_string(),
            allowed: grantable.to_string(),
        }),
    }
}

/// Checks an expiry against `now`.
pub fn validate_expiry(
    expires_at: Option<OffsetDateTime>,
    now: OffsetDateTime,
) -> Result<(), ApiKeyInputError> {
    match expires_at {
        Some(at) if at <= now || at > now + time::Duration::days(3653) => {
            Err(ApiKeyInputError::BadExpiry)
        }
        _ => Ok(()),
    }
}

/// What a caller asks for when creating a key.
#[derive(Debug, Clone)]
pub struct ApiKeyRequest {
    /// The key's name.
    pub name: String,
    /// Requested scopes; `None` means every scope that may be granted.
    pub scopes: Option<ScopeSet>,
    /// Optional expiry.
    pub expires_at: Option<OffsetDateTime>,
}

/// Whose key it will be: a user through one membership.
#[derive(Debug, Clone, Copy)]
pub struct KeyOwner<'a> {
    /// The membership the key acts through.
    pub membership_id: i64,
    /// The user.
    pub user: &'a crate::user::User,
    /// The user's role in the membership's account.
    pub role: crate::role::Role,
    /// What that role holds in the account ([`crate::role_scopes::AccountScopes::held_by`]):
    /// no key of the user gets more.
    pub role_scopes: &'a ScopeSet,
}

impl<'a> KeyOwner<'a> {
    /// `member` as a key's owner, its role holding `role_scopes` in its account.
    pub fn new(member: &'a crate::user::Member, role_scopes: &'a ScopeSet) -> Self {
        Self {
            membership_id: member.membership.id,
            user: &member.user,
            role: member.membership.role,
            role_scopes,
        }
    }
}

/// Why an administrator may not create a key for another user.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum KeyForOtherError {
    /// People create their own keys: a key made by someone else would act as that person, and
    /// what it does would be recorded under a name that did not do it.
    #[error("API keys for people are created by the people themselves; administrators create keys for service accounts")]
    NotAServiceAccount,
    /// The service account's role is above the creator's: its key would be a way up.
    #[error("the service account's role is higher than yours")]
    HigherRole,
}

/// Whether a user with `creator` role may create a key acting as `target`.
pub fn may_create_key_for(
    creator: crate::role::Role,
    target: &crate::user::Member,
) -> Result<(), KeyForOtherError> {
    if target.user.kind != crate::user::UserKind::Service {
        return Err(KeyForOtherError::NotAServiceAccount);
    }
    if !creator.may_administer(target.membership.role) {
        return Err(KeyForOtherError::HigherRole);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use time::Duration;

    use super::*;

    #[test]
    fn a_child_key_never_outlives_its_parent() {
        let now = OffsetDateTime::UNIX_EPOCH + Duration::days(20_000);
        let later = now + Duration::days(30);
        let parent = ParentKey {
            id: 1,
            scopes: ScopeSet::ALL,
            expires_at: Some(now + Duration::seconds(5)),
        };
        assert_eq!(expiry_within_parent(None, None, now), Ok(None));
        assert_eq!(
            expiry_within_parent(Some(later), None, now),
            Ok(Some(later))
        );
        assert_eq!(
            expiry_within_parent(None, Some(&parent), now),
            Ok(parent.expires_at),
            "no expiry asked for inherits the parent's"
        );
        let sooner = now + Duration::seconds(3);
        assert_eq!(
            expiry_within_parent(Some(sooner), Some(&parent), now),
            Ok(Some(sooner))
        );
        assert_eq!(
            expiry_within_parent(Some(later), Some(&parent), now),
            Err(ApiKeyInputError::OutlivesCreator { max_seconds: 5 })
        );
        let lasting = ParentKey {
            expires_at: None,
            ..parent
        };
        assert_eq!(
            expiry_within_parent(Some(later), Some(&lasting), now),
            Ok(Some(later))
        );
    }
}
