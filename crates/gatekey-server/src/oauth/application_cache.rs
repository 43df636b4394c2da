//! A short-lived cache of applications by client id, so that authenticating a client at the
//! token and introspection endpoints costs a hash and a map lookup rather than a query.
//!
//! Bounded: at most [`MAX_ENTRIES`] applications, each trusted for the credential TTL (a
//! [`ClockedCache`]). Client ids that name no application are never cached, so made-up ids
//! cannot fill it.
//!
//! Changes reach it like revocations reach the credential cache: an application's
//! invalidation (written on update, secret rotation and deletion) evicts it on the server that
//! wrote it at once and on the others when the feed arrives. Until then, a secret that fails
//! against a cached entry is checked once more against the database, so a secret rotated
//! elsewhere works at once.

use std::sync::Arc;

use gatekey_core::oauth::application::Application;
use gatekey_core::oauth::store::ApplicationStore;
use gatekey_core::store::{Invalidation, StoreResult};
use gatekey_store::SqlStore;

use crate::clocked_cache::{CacheTrust, ClockedCache, Invalidated};

/// Applications kept at most.
pub const MAX_ENTRIES: u64 = 10_000;

impl Invalidated<String> for Arc<Application> {
    fn concerned_by(invalidation: &Invalidation) -> bool {
        matches!(invalidation, Invalidation::Application(_))
    }

    fn stale_after(&self, _: &String, invalidation: &Invalidation) -> bool {
        *invalidation == Invalidation::Application(self.id)
    }
}

/// Applications by client id.
#[derive(Debug)]
pub struct ApplicationCache(ClockedCache<String, Arc<Application>>);

impl ApplicationCache {
    /// A cache trusting entries as `trust` says.
    pub fn new(trust: CacheTrust) -> Self {
        Self(ClockedCache::new(MAX_ENTRIES, trust))
    }

    /// The live application with this client id, from the cache or the database.
    pub async fn get(
        &self,
        store: &SqlStore,
        client_id: &str,
    ) -> StoreResult<Option<Arc<Application>>> {
        match self.0.get(client_id) {
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
        let started = self.0.generation();
        let found = store.application_by_client_id(client_id).await?;
        let Some(app) = found.map(Arc::new) else {
            return Ok(None);
        };
        self.0.insert(client_id.to_owned(), app.clone(), started);
        Ok(Some(app))
    }

    /// Evicts the applications the invalidations name.
    pub fn invalidate(&self, invalidations: &[Invalidation]) {
        self.0.invalidate(invalidations);
    }

    /// How many applications are held.
    pub fn entry_count(&self) -> u64 {
        self.0.len()
    }
}
