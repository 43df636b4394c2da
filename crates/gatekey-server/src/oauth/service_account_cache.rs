//! What `client_credentials` needs besides the client, cached per application: its service
//! account (and role), the standing grant tokens hang off, and the account's slug. Without it
//! each issuance would read three rows before writing one.
//!
//! Bounded: at most [`MAX_ENTRIES`] applications, each trusted for the credential TTL (a
//! [`ClockedCache`]). Entries are evicted when the application changes, the service account is
//! disabled, or the grant is revoked, exactly as cached credentials are.

use std::sync::Arc;

use gatekey_core::oauth::grant::Grant;
use gatekey_core::store::Invalidation;
use gatekey_core::user::Member;

use crate::clocked_cache::{CacheTrust, ClockedCache, Generation, Invalidated};

/// Contexts kept at most.
pub const MAX_ENTRIES: u64 = 10_000;

/// A service account ready to receive tokens.
#[derive(Debug)]
pub struct ServiceAccountContext {
    /// The service account and its role.
    pub member: Member,
    /// The grant its tokens hang off.
    pub grant: Grant,
    /// The account's slug, for the token response.
    pub account_slug: String,
}

/// Stale when the application changes, the service account is disabled or changes role, or
/// the grant is revoked.
impl Invalidated<i64> for Arc<ServiceAccountContext> {
    fn concerned_by(invalidation: &Invalidation) -> bool {
        matches!(
            invalidation,
            Invalidation::Application(_) | Invalidation::User(_) | Invalidation::Grant(_)
        )
    }

    fn stale_after(&self, application_id: &i64, invalidation: &Invalidation) -> bool {
        match *invalidation {
            Invalidation::Application(id) => id == *application_id,
            Invalidation::User(id) => id == self.member.user.id,
            Invalidation::Grant(id) => id == self.grant.id,
            _ => false,
        }
    }
}

/// Contexts by application id.
#[derive(Debug)]
pub struct ServiceAccountCache(ClockedCache<i64, Arc<ServiceAccountContext>>);

impl ServiceAccountCache {
    /// A cache trusting entries as `trust` says.
    pub fn new(trust: CacheTrust) -> Self {
        Self(ClockedCache::new(MAX_ENTRIES, trust))
    }

    /// The context of `application_id`, if cached and fresh.
    pub fn get(&self, application_id: i64) -> Option<Arc<ServiceAccountContext>> {
        self.0.get(&application_id)
    }

    /// The generation to pass to [`Self::insert`] after reading the database.
    pub fn generation(&self) -> Generation {
        self.0.generation()
    }

    /// Caches a context unless an invalidation came in since `generation`.
    pub fn insert(
        &self,
        application_id: i64,
        context: Arc<ServiceAccountContext>,
        generation: Generation,
    ) {
        self.0.insert(application_id, context, generation);
    }

    /// Evicts contexts the invalidations make stale.
    pub fn invalidate(&self, invalidations: &[Invalidation]) {
        self.0.invalidate(invalidations);
    }

    /// How many contexts are held.
    pub fn entry_count(&self) -> u64 {
        self.0.len()
    }
}

#[cfg(test)]
mod tests {
    use gatekey_core::role::Role;
    use gatekey_core::scope::ScopeSet;
    use gatekey_core::user::{Membership, User, UserKind};
    use gatekey_core::ManualClock;
    use time::OffsetDateTime;

    use super::*;

    fn context(app_id: i64) -> Arc<ServiceAccountContext> {
        let at = OffsetDateTime::UNIX_EPOCH;
        Arc::new(ServiceAccountContext {
            member: Member {
                user: User {
                    id: 1000 + app_id,
                    email: format!("robot{app_id}@acme.service.invalid"),
                    name: "Robot".into(),
                    kind: UserKind::Service,
                    password_hash: None,
                    disabled_at: None,
                    created_at: at,
                    must_change_password: false,
                },
                membership: Membership {
                    id: app_id,
                    user_id: 1000 + app_id,
                    account_id: 1,
                    role: Role::Member,
                    created_at: at,
                },
            },
            grant: Grant {
                id: 2000 + app_id,
                user_id: 1000 + app_id,
                account_id: 1,
                application_id: app_id,
                scopes: ScopeSet::ALL,
                created_at: at,
                revoked_at: None,
            },
            account_slug: "acme".into(),
        })
    }

    fn cache() -> ServiceAccountCache {
        let clock = Arc::new(ManualClock::new(OffsetDateTime::UNIX_EPOCH));
        ServiceAccountCache::new(CacheTrust::new(std::time::Duration::from_secs(60), clock))
    }

    #[test]
    fn invalidations_evict_what_they_name_and_nothing_else() {
        let cache = cache();
        for app in 1..=4 {
            cache.insert(app, context(app), cache.generation());
        }
        cache.invalidate(&[
            Invalidation::Application(1),
            Invalidation::User(1002),
            Invalidation::Grant(2003),
            Invalidation::Session(4),
        ]);
        let cached: Vec<bool> = (1..=4).map(|app| cache.get(app).is_some()).collect();
        assert_eq!(cached, [false, false, false, true]);
    }

    #[test]
    fn a_load_that_raced_an_invalidation_is_not_cached() {
        let cache = cache();
        let before = cache.generation();
        cache.invalidate(&[Invalidation::Application(1)]);
        cache.insert(1, context(1), before);
        assert!(cache.get(1).is_none());
    }
}
