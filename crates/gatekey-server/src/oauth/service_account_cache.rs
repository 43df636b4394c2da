//! What `client_credentials` needs besides the client, cached per application: its service
//! account (and role), the standing grant tokens hang off, and the account's slug. Without it
//! each issuance would read three rows before writing one.
//!
//! Entries are evicted by the invalidation feed when the application changes, the service
//! account is disabled, or the grant is revoked, exactly as cached credentials are.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use gatekey_core::oauth::grant::Grant;
use gatekey_core::store::Invalidation;
use gatekey_core::user::Member;

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
#[derive(Debug)]
pub struct ServiceAccountCache {
    entries: RwLock<HashMap<i64, (Arc<ServiceAccountContext>, Instant)>>,
    ttl: Duration,
    generation: AtomicU64,
}

impl ServiceAccountCache {
    /// A cache trusting entries for `ttl`.
    pub fn new(ttl: Duration) -> Self {
        Self {
            entries: RwLock::new(HashMap::new()),
            ttl,
            generation: AtomicU64::new(0),
        }
    }

    /// The context of `application_id`, if cached and fresh.
    pub fn get(&self, application_id: i64) -> Option<Arc<ServiceAccountContext>> {
        let entries = self.entries.read().unwrap_or_else(|p| p.into_inner());
        entries
            .get(&application_id)
            .filter(|(_, at)| at.elapsed() < self.ttl)
            .map(|(c, _)| c.clone())
    }

    /// The generation to pass to [`Self::insert`] after reading the database.
    pub fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }

    /// Caches a context unless an invalidation came in since `generation`.
    pub fn insert(
        &self,
        application_id: i64,
        context: Arc<ServiceAccountContext>,
        generation: u64,
    ) {
        let mut entries = self.entries.write().unwrap_or_else(|p| p.into_inner());
        if self.generation.load(Ordering::Acquire) == generation {
            if entries.len() >= 10_000 {
                entries.clear();
            }
            entries.insert(application_id, (context, Instant::now()));
        }
    }

    /// Evicts contexts the invalidations make stale.
    pub fn invalidate(&self, invalidations: &[Invalidation]) {
        let stale = |app_id: i64, c: &ServiceAccountContext| {
            invalidations.iter().any(|i| match *i {
                Invalidation::Application(id) => id == app_id,
                Invalidation::User(id) => id == c.member.user.id,
                Invalidation::Grant(id) => id == c.grant.id,
                _ => false,
            })
        };
        let mut entries = self.entries.write().unwrap_or_else(|p| p.into_inner());
        self.generation.fetch_add(1, Ordering::AcqRel);
        entries.retain(|app_id, (c, _)| !stale(*app_id, c));
    }
}
