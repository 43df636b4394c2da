//! The verify API's rules (`POST /api/v1/keys/verify`): which verdict a presented key gets,
//! and who may ask about which keys. A service that cannot sit behind the gateway asks
//! gatekey whether a key its caller sent is good, and the check counts as the key's use.
//!
//! Accounts are walled off: an administrator, or an application with the `verify_keys`
//! permission, asks about its own account's keys only. Any other key, in whatever state, is
//! `NOT_FOUND`, exactly as a key that never existed.

use time::OffsetDateTime;

use crate::api_key::ApiKey;
use crate::oauth::application::Application;
use crate::user::User;

/// The verdict on a presented key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VerifyCode {
    /// The key works: the request it came with may go on.
    Valid,
    /// No such key, a malformed one, or another account's.
    NotFound,
    /// The key was revoked.
    Revoked,
    /// The key has expired.
    Expired,
    /// The key's user is disabled.
    Disabled,
    /// A rate limit of the key or its account refuses the request.
    RateLimited,
    /// The key has no credits left.
    UsageExceeded,
}

impl VerifyCode {
    /// The code on the wire.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Valid => "VALID",
            Self::NotFound => "NOT_FOUND",
            Self::Revoked => "REVOKED",
            Self::Expired => "EXPIRED",
            Self::Disabled => "DISABLED",
            Self::RateLimited => "RATE_LIMITED",
            Self::UsageExceeded => "USAGE_EXCEEDED",
        }
    }

    /// Whether the request the key came with may go on.
    pub const fn is_valid(self) -> bool {
        matches!(self, Self::Valid)
    }
}

/// The standing of a stored key of user `user` at `now`, before limits and credits: revoked
/// first (a revoked key stays revoked whatever else), then a disabled user, then expiry.
pub fn key_standing(key: &ApiKey, user: &User, now: OffsetDateTime) -> VerifyCode {
    if key.revoked_at.is_some() {
        VerifyCode::Revoked
    } else if user.is_disabled() {
        VerifyCode::Disabled
    } else if !key.is_usable_at(now) {
        VerifyCode::Expired
    } else {
        VerifyCode::Valid
    }
}

/// Whether `application` may verify keys acting in `account_id`: with the `verify_keys`
/// permission, its own account's only.
pub fn may_verify_keys_of(application: &Application, account_id: i64) -> bool {
    application.verify_keys && application.account_id == account_id
}

/// The verdict shown to a caller of account `caller_account`: a key of another account is
/// `NOT_FOUND` whatever its state, so that the answer tells nothing about it.
pub fn visible_verdict(code: VerifyCode, key_account: i64, caller_account: i64) -> VerifyCode {
    if key_account == caller_account {
        code
    } else {
        VerifyCode::NotFound
    }
}

#[cfg(test)]
mod tests {
    use time::Duration;

    use super::*;
    use crate::oauth::application::ClientType;
    use crate::oauth::fixtures::{app, member, t0};
    use crate::role::Role;
    use crate::scope::ScopeSet;
    use crate::user::UserKind;

    fn key_and_user() -> (ApiKey, User) {
        let key = ApiKey {
            id: 1,
            membership_id: 1,
            user_id: 5,
            account_id: 1,
            name: "k".into(),
            display_prefix: "gk_key_abcdefgh".into(),
            scopes: ScopeSet::ALL,
            created_at: t0(),
            last_used_at: None,
            last_used_ip: None,
            previous_secret_expires_at: None,
            previous_display_prefix: None,
            expires_at: None,
            revoked_at: None,
            parent_key_id: None,
            meta: None,
            limits: Default::default(),
            credits: None,
        };
        (key, member(5, UserKind::Person, Role::Member).user)
    }

    #[test]
    fn another_accounts_key_is_not_found_whatever_its_state() {
        for code in [
            VerifyCode::Valid,
            VerifyCode::Revoked,
            VerifyCode::Expired,
            VerifyCode::Disabled,
            VerifyCode::UsageExceeded,
        ] {
            assert_eq!(visible_verdict(code, 2, 1), VerifyCode::NotFound);
            assert_eq!(visible_verdict(code, 1, 1), code);
        }
    }

    #[test]
    fn verify_keys_covers_the_own_account_only() {
        let mut app = app(1, ClientType::Confidential, vec![]);
        app.account_id = 10;
        assert!(!may_verify_keys_of(&app, 10), "needs the permission");
        app.verify_keys = true;
        assert!(may_verify_keys_of(&app, 10));
        app.introspect_all_accounts = true;
        assert!(
            !may_verify_keys_of(&app, 20),
            "introspecting all accounts does not widen it"
        );
    }

    #[test]
    fn revoked_before_disabled_before_expired() {
        let now = t0() + Duration::days(1);
        let (mut key, mut user) = key_and_user();
        assert_eq!(key_standing(&key, &user, now), VerifyCode::Valid);
        key.expires_at = Some(now);
        assert_eq!(key_standing(&key, &user, now), VerifyCode::Expired);
        user.disabled_at = Some(now);
        assert_eq!(key_standing(&key, &user, now), VerifyCode::Disabled);
        key.revoked_at = Some(now);
        assert_eq!(key_standing(&key, &user, now), VerifyCode::Revoked);
    }
}
