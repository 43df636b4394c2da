//! What `client_credentials` needs besides the client, cached per application: its service
//! account (and role), the standing grant tokens hang off, and the account's slug. Without it
//! each issuance would read three rows before writing one.
//!
//! Bounded: at most [`MAX_ENTRIES`] applications, each trusted for the credential TTL (a `moka`
//! cache). Entries are evicted by the invalidation feed when the application changes, the
//! service account is disabled, or the grant is revoked, exactly as cached credentials are.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use gatekey_core::oauth::grant::Grant;
use gatekey_core::store::Invalidation;
use gatekey_core::user::Member;
use moka::sync::Cache;

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

/// Contexts by application id.
pub struct ServiceAccountCache {
    entries: Cache<i64, Arc<ServiceAccountContext>>,
    ttl: Duration,
    /// Bumped by every invalidation; see [`Self::insert`].
    generation: Mutex<u64>,
}

/// Counts only: the cache's own `Debug` would print every entry.
impl std::fmt::Debug for ServiceAccountCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServiceAccountCache")
            .field("entries", &self.entries.entry_count())
            .finish_non_exhaustive()
    }
}

impl ServiceAccountCache {
    /// A cache trusting entries for `ttl` (zero caches nothing).
    pub fn new(ttl: Duration) -> Self {
        Self {
            entries: Cache::builder()
                .max_capacity(MAX_ENTRIES)
                .time_to_live(ttl.max(Duration::from_millis(1)))
                .support_invalidation_closures()
                .build(),
            ttl,
            generation: Mutex::new(0),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, u64> {
        self.generation.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The context of `application_id`, if cached and fresh.
    pub fn get(&self, application_id: i64) -> Option<Arc<ServiceAccountContext>> {
        self.entries.get(&application_id)
    }

    /// The generation to pass to [`Self::insert`] after reading the database.
    pub fn generation(&self) -> u64 {
        *self.lock()
    }

    /// Caches a context unless an invalidation came in since `generation`.
    pub fn insert(
        &self,
        application_id: i64,
        context: Arc<ServiceAccountContext>,
        generation: u64,
    ) {
        let current = self.lock();
        if *current == generation && !self.ttl.is_zero() {
            self.entries.insert(application_id, context);
        }
    }

    /// Evicts contexts the invalidations make stale.
    pub fn invalidate(&self, invalidations: &[Invalidation]) {
        let relevant: Vec<Invalidation> = invalidations
            .iter()
            .filter(|i| {
                matches!(
                    i,
                    Invalidation::Application(_) | Invalidation::User(_) | Invalidation::Grant(_)
                )
            })
            .copied()
            .collect();
        if relevant.is_empty() {
            return;
        }
        let mut generation = self.lock();
        *generation += 1;
        let stale = move |app_id: &i64, c: &Arc<ServiceAccountContext>| {
            relevant.iter().any(|i| match *i {
                Invalidation::Application(id) => id == *app_id,
                Invalidation::User(id) => id == c.member.user.id,
                Invalidation::Grant(id) => id == c.grant.id,
                _ => false,
            })
        };
        if self.entries.invalidate_entries_if(stale).is_err() {
            self.entries.invalidate_all();
        }
    }
}

#[cfg(test)]
mod tests {
    use gatekey_core::role::Role;
    use gatekey_core::scope::ScopeSet;
    use gatekey_core::user::{Membership, User, UserKind};
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

    #[test]
    fn invalidations_evict_what_they_name_and_nothing_else() {
        let cache = ServiceAccountCache::new(Duration::from_secs(60));
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
        let cache = ServiceAccountCache::new(Duration::from_secs(60));
        let before = cache.generation();
        cache.invalidate(&[Invalidation::Application(1)]);
        cache.insert(1, context(1), before);
        assert!(cache.get(1).is_none());
    }

    #[test]
    fn the_cache_is_bounded() {
        let cache = ServiceAccountCache::new(Duration::from_secs(60));
        let shared = context(1);
        for app in 0..(MAX_ENTRIES as i64 * 3) {
            cache.insert(app, shared.clone(), cache.generation());
        }
        cache.entries.run_pending_tasks();
        assert!(cache.entries.entry_count() <= MAX_ENTRIES);
    }
}
