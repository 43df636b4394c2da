//! A short-lived cache of applications by client id, so that authenticating a client at the
//! token and introspection endpoints costs a hash and a map lookup rather than a query.
//!
//! Changes reach it like revocations reach the credential cache: an application's
//! invalidation (written on update, secret rotation and deletion) evicts it on every server.
//! Until the feed arrives, a secret that fails against a cached entry is checked once more
//! against the database, so a freshly rotated secret works at once.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use gatekey_core::oauth::application::Application;
use gatekey_core::oauth::store::ApplicationStore;
use gatekey_core::store::{Invalidation, StoreResult};
use gatekey_store::SqlStore;

/// Entries kept before the cache starts over.
const MAX_ENTRIES: usize = 10_000;

/// Applications by client id.
#[derive(Debug)]
pub struct ApplicationCache {
    entries: RwLock<HashMap<String, (Arc<Application>, Instant)>>,
    ttl: Duration,
    generation: AtomicU64,
}

impl ApplicationCache {
    /// A cache trusting entries for `ttl`.
    pub fn new(ttl: Duration) -> Self {
        Self {
            entries: RwLock::new(HashMap::new()),
            ttl,
            generation: AtomicU64::new(0),
        }
    }

    fn cached(&self, client_id: &str) -> Option<Arc<Application>> {
        let entries = self.entries.read().unwrap_or_else(|p| p.into_inner());
        entries
            .get(client_id)
            .filter(|(_, at)| at.elapsed() < self.ttl)
            .map(|(app, _)| app.clone())
    }

    /// The live application with this client id, from the cache or the database.
    pub async fn get(
        &self,
        store: &SqlStore,
        client_id: &str,
    ) -> StoreResult<Option<Arc<Application>>> {
        match self.cached(client_id) {
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
        let generation = self.generation.load(Ordering::Acquire);
        let Some(app) = store
            .application_by_client_id(client_id)
            .await?
            .map(Arc::new)
        else {
            return Ok(None);
        };
        let mut entries = self.entries.write().unwrap_or_else(|p| p.into_inner());
        if self.generation.load(Ordering::Acquire) == generation {
            if entries.len() >= MAX_ENTRIES {
                entries.clear();
            }
            entries.insert(client_id.to_owned(), (app.clone(), Instant::now()));
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
        let mut entries = self.entries.write().unwrap_or_else(|p| p.into_inner());
        self.generation.fetch_add(1, Ordering::AcqRel);
        entries.retain(|_, (app, _)| !ids.contains(&app.id));
    }
}
