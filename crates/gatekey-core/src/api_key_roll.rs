//! Rolling an API key: a new secret for the same key record (its id, name, scopes, expiry,
//! owner and the keys created with it stay), while the replaced secret keeps working for a
//! grace period the caller chooses, from none to [`MAX_ROLL_GRACE`], so that whatever uses it
//! can move to the new one without downtime.
//!
//! One replaced secret is kept: rolling again during a grace period ends the older secret at
//! once, so at most two secrets of a key work at any time (as with an application's client
//! secret). A roll is not a revocation: the keys created with the rolled key keep working,
//! and a leaked key is revoked, not rolled.
//!
//! Who may roll which key is the handler's rule for the caller, with one more check here for
//! an API key doing it ([`RollingKey`]): it may roll only itself and the keys created with it
//! (directly or through other keys), which are revoked with it anyway, so a roll never hands
//! whoever holds a key a secret that outlives that key's revocation; and it must present its
//! current secret, so that whoever holds a secret replaced by a roll cannot roll the key again
//! and lock its owner out during the grace.

use time::{Duration, OffsetDateTime};

use crate::api_key::ApiKey;
use crate::audit::{Actor, AuditAction, AuditEntry};
use crate::secret::{Secret, SecretKind};
use crate::store::{ApiKeyStore, KeyRoll, KeyRollOutcome, RollingKey, StoreError};
use crate::user::User;

/// The longest grace a replaced secret may get: 7 days.
pub const MAX_ROLL_GRACE: Duration = Duration::days(7);

/// How long the replaced secret keeps working, checked: from zero (it stops at once) to
/// [`MAX_ROLL_GRACE`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RollGrace(Duration);

/// A grace outside zero to [`MAX_ROLL_GRACE`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the grace period must be from 0 to 604800 seconds (7 days)")]
pub struct RollGraceError;

impl RollGrace {
    /// No grace: the replaced secret stops at once.
    pub const NONE: Self = Self(Duration::ZERO);

    /// A grace of `duration`, if it is within bounds.
    pub fn new(duration: Duration) -> Result<Self, RollGraceError> {
        if duration.is_negative() || duration > MAX_ROLL_GRACE {
            return Err(RollGraceError);
        }
        Ok(Self(duration))
    }

    /// A grace of `seconds`, if it is within bounds.
    pub fn from_seconds(seconds: i64) -> Result<Self, RollGraceError> {
        Self::new(Duration::seconds(seconds))
    }

    /// The grace.
    pub fn duration(self) -> Duration {
        self.0
    }
}

/// Why a key was not rolled.
#[derive(Debug, thiserror::Error)]
pub enum RollApiKeyError {
    /// The key is revoked: it stays dead.
    #[error("the key is revoked; a revoked key cannot be rolled")]
    Revoked,
    /// The key has expired: rolling would not make it work again.
    #[error("the key has expired; an expired key cannot be rolled")]
    Expired,
    /// The key's user is disabled.
    #[error("the user is disabled")]
    UserDisabled,
    /// The API key used is neither the rolled key nor one it descends from, or it was
    /// presented with a secret a roll has replaced.
    #[error("an API key may roll only itself and the keys created with it, and only with its current secret")]
    NotRollableWith,
    /// The key no longer exists.
    #[error("no such API key")]
    NotFound,
    /// Storage failed.
    #[error(transparent)]
    Store(StoreError),
}

/// Gives `key` (held by `holder`) a new secret, returned once; the replaced secret works until
/// `now + grace` (or the key's own expiry, if sooner). `rolled_with` is the API key the caller
/// authenticated with, if any (see the module documentation). The roll is audited as
/// `api_key.rolled` with the grace and both display prefixes.
pub async fn roll_api_key<S: ApiKeyStore>(
    store: &S,
    now: OffsetDateTime,
    key: &ApiKey,
    holder: &User,
    grace: RollGrace,
    rolled_with: Option<RollingKey>,
    actor: &Actor,
) -> Result<(ApiKey, Secret), RollApiKeyError> {
    if key.revoked_at.is_some() {
        return Err(RollApiKeyError::Revoked);
    }
    if !key.is_usable_at(now) {
        return Err(RollApiKeyError::Expired);
    }
    if holder.is_disabled() {
        return Err(RollApiKeyError::UserDisabled);
    }
    let secret = Secret::generate(SecretKind::ApiKey);
    let previous_until = previous_secret_until(key, now, grace);
    let audit = AuditEntry::new(now, actor, AuditAction::ApiKeyRolled, "api_key")
        .detail(roll_detail(key, now, &secret, grace, previous_until));
    let roll = KeyRoll {
        key_id: key.id,
        hash: secret.hash(),
        display_prefix: secret.display_prefix(),
        at: now,
        previous_until,
        rolled_with,
    };
    match store.roll_api_key(roll, audit).await {
        Ok(KeyRollOutcome::Rolled(rolled)) => Ok((rolled, secret)),
        Ok(KeyRollOutcome::Unusable(current)) if current.revoked_at.is_some() => {
            Err(RollApiKeyError::Revoked)
        }
        Ok(KeyRollOutcome::Unusable(_)) => Err(RollApiKeyError::Expired),
        Ok(KeyRollOutcome::NotRollableWith) => Err(RollApiKeyError::NotRollableWith),
        Err(StoreError::NotFound) => Err(RollApiKeyError::NotFound),
        Err(error) => Err(RollApiKeyError::Store(error)),
    }
}

/// Until when the secret replaced by a roll at `now` keeps working: `now + grace`, or the key's
/// own expiry if that comes first; `None` (it stops at once) for no grace.
pub fn previous_secret_until(
    key: &ApiKey,
    now: OffsetDateTime,
    grace: RollGrace,
) -> Option<OffsetDateTime> {
    if grace == RollGrace::NONE {
        return None;
    }
    let until = now + grace.duration();
    Some(key.expires_at.map_or(until, |at| at.min(until)))
}

/// The audit detail of a roll: the grace and both display prefixes, never a secret.
fn roll_detail(
    key: &ApiKey,
    now: OffsetDateTime,
    secret: &Secret,
    grace: RollGrace,
    previous_until: Option<OffsetDateTime>,
) -> String {
    let old = &key.display_prefix;
    let new = secret.display_prefix();
    let seconds = grace.duration().whole_seconds();
    let mut detail = format!("secret {old}… replaced by {new}…; grace {seconds} s");
    match previous_until {
        Some(_) => detail.push_str(&format!(", {old}… keeps working until then")),
        None => detail.push_str(&format!(", {old}… stopped at once")),
    }
    if let Some(older) = key
        .previous_display_prefix
        .as_ref()
        .filter(|_| key.previous_secret_until(now).is_some())
    {
        detail.push_str(&format!("; {older}… from the last roll stopped"));
    }
    detail
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_grace_runs_from_none_to_seven_days() {
        assert_eq!(RollGrace::from_seconds(0), Ok(RollGrace::NONE));
        assert!(RollGrace::from_seconds(604_800).is_ok());
        assert_eq!(RollGrace::from_seconds(604_801), Err(RollGraceError));
        assert_eq!(RollGrace::from_seconds(-1), Err(RollGraceError));
        assert_eq!(RollGrace::from_seconds(i64::MAX), Err(RollGraceError));
    }

    #[test]
    fn a_replaced_secret_never_outlives_its_key() {
        let now = OffsetDateTime::UNIX_EPOCH + Duration::days(20_000);
        let mut key = ApiKey {
            id: 1,
            membership_id: 1,
            user_id: 1,
            account_id: 1,
            name: "k".into(),
            display_prefix: "gk_key_abcdefgh".into(),
            previous_secret_expires_at: None,
            previous_display_prefix: None,
            scopes: crate::scope::ScopeSet::ALL,
            created_at: now,
            last_used_at: None,
            last_used_ip: None,
            expires_at: None,
            revoked_at: None,
            parent_key_id: None,
            meta: None,
            limits: Default::default(),
            credits: None,
        };
        let day = RollGrace::new(Duration::days(1)).unwrap();
        assert_eq!(previous_secret_until(&key, now, RollGrace::NONE), None);
        assert_eq!(
            previous_secret_until(&key, now, day),
            Some(now + Duration::days(1))
        );
        key.expires_at = Some(now + Duration::hours(2));
        assert_eq!(previous_secret_until(&key, now, day), key.expires_at);
    }
}
