//! A short-lived cache of applications by client id, so that authenticating a client at the
//! token and introspection endpoints costs a hash and a map lookup rather than a query.
//!
//! Bounded: at most [`MAX_ENTRIES`] applications, each trusted for the credential TTL (a `moka`
//! cache, which evicts by recency and frequency instead of scanning). Client ids that name no
//! application are never cached, so made-up ids cannot fill it.
//!
//! Changes reach it like revocations reach the credential cache: an application's
//! invalidation (written on update, secret rotation and deletion) evicts it on every server.
//! Until the feed arrives, a secret that fails against a cached entry is checked once more
//! against the database, so a freshly rotated secret works at once.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use gatekey_core::oauth::application::Application;
use gatekey_core::oauth::store::ApplicationStore;
use gatekey_core::store::{Invalidation, StoreResult};
use gatekey_store::SqlStore;
use moka::sync::Cache;

/// Applications kept at most.
pub const MAX_ENTRIES: u64 = 10_000;

/// Applications by client id.
pub struct ApplicationCache {
    entries: Cache<String, Arc<Application>>,
    ttl: Duration,
    /// Bumped by every invalidation. A load caches what it read only if no invalidation came in
    /// since it started; holding the lock makes that check and the insert one step.
    generation: Mutex<u64>,
}

/// Counts only: the cache's own `Debug` would print every entry.
impl std::fmt::Debug for ApplicationCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ApplicationCache")
            .field("entries", &self.entries.entry_count())
            .finish_non_exhaustive()
    }
}

impl ApplicationCache {
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

    fn generation(&self) -> std::sync::MutexGuard<'_, u64> {
        self.generation.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The live application with this client id, from the cache or the database.
    pub async fn get(
        &self,
        store: &SqlStore,
        client_id: &str,
    ) -> StoreResult<Option<Arc<Application>>> {
        match self.entries.get(client_id) {
            Some(app) => Ok(Some(app)),
            None => self.load(store, client_id).await,
        }
    }

    /// Reads the application from the database and caches it (unless an invalidation raced).
    pub async fn load(
        &self,
        store: &SqlStore,
        client_id: &str,
    ) -> StoreResult<Option<Arc<Application>>> {
        let started = *self.generation();
        let Some(app) = store
            .application_by_client_id(client_id)
            .await?
            .map(Arc::new)
        else {
            return Ok(None);
        };
        let generation = self.generation();
        if *generation == started && !self.ttl.is_zero() {
            self.entries.insert(client_id.to_owned(), app.clone());
        }
        Ok(Some(app))
    }

    /// Evicts the applications the invalidations name.
    pub fn invalidate(&self, invalidations: &[Invalidation]) {
        let ids: Vec<i64> = invalidations
            .iter()
            .filter_map(|i| match i {
                Invalidation::Application(id) => Some(*id),
                _ => None,
            })
            .collect();
        if ids.is_empty() {
            return;
        }
        let mut generation = self.generation();
        *generation += 1;
        // Entries stored before this call and matching are gone for every later read.
        if self
            .entries
            .invalidate_entries_if(move |_, app| ids.contains(&app.id))
            .is_err()
        {
            self.entries.invalidate_all();
        }
    }
}
