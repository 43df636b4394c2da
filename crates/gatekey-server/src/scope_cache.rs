//! What the roles hold in each account (the built-in scopes and the scope catalogue, with the
//! account's own mappings), kept for the credential TTL so that checking a credential, showing
//! a consent page or answering a token request reads no catalogue from the database.
//!
//! A change to the catalogue invalidates every account's entry; a change to one account's
//! mapping invalidates that account's. Both come from the store's writes on this server at
//! once, and from the invalidation feed for writes of other servers and operator commands,
//! like every other cache ([`ClockedCache`]). The credentials checked under a mapping are
//! invalidated by the same changes (see `auth::cache`).

use std::sync::Arc;

use gatekey_core::role_scopes::AccountScopes;
use gatekey_core::scope_catalogue::{ScopeCatalogue, ScopeStore};
use gatekey_core::store::{Invalidation, StoreResult};
use gatekey_store::SqlStore;

use crate::clocked_cache::{CacheTrust, ClockedCache, Invalidated};

/// Accounts whose mappings are kept at most.
pub const MAX_ACCOUNTS: u64 = 10_000;

impl Invalidated<()> for Arc<ScopeCatalogue> {
    fn concerned_by(invalidation: &Invalidation) -> bool {
        *invalidation == Invalidation::ScopeCatalogue
    }

    fn stale_after(&self, _: &(), _: &Invalidation) -> bool {
        true
    }
}

impl Invalidated<i64> for Arc<AccountScopes> {
    fn concerned_by(invalidation: &Invalidation) -> bool {
        matches!(
            invalidation,
            Invalidation::ScopeCatalogue | Invalidation::AccountScopes(_)
        )
    }

    fn stale_after(&self, account_id: &i64, invalidation: &Invalidation) -> bool {
        match invalidation {
            Invalidation::AccountScopes(id) => id == account_id,
            _ => true,
        }
    }
}

/// The catalogue, and what the roles hold in each account.
#[derive(Debug)]
pub struct ScopeCache {
    catalogue: ClockedCache<(), Arc<ScopeCatalogue>>,
    accounts: ClockedCache<i64, Arc<AccountScopes>>,
}

impl ScopeCache {
    /// A cache trusting entries as `trust` says.
    pub fn new(trust: CacheTrust) -> Self {
        Self {
            catalogue: ClockedCache::new(1, trust.clone()),
            accounts: ClockedCache::new(MAX_ACCOUNTS, trust),
        }
    }

    /// The scope catalogue.
    pub async fn catalogue(&self, store: &SqlStore) -> StoreResult<Arc<ScopeCatalogue>> {
        if let Some(catalogue) = self.catalogue.get(&()) {
            return Ok(catalogue);
        }
        let started = self.catalogue.generation();
        let catalogue = Arc::new(ScopeCatalogue::new(store.scope_catalogue().await?));
        self.catalogue.insert((), catalogue.clone(), started);
        Ok(catalogue)
    }

    /// What the roles hold in `account_id`.
    pub async fn of_account(
        &self,
        store: &SqlStore,
        account_id: i64,
    ) -> StoreResult<Arc<AccountScopes>> {
        if let Some(scopes) = self.accounts.get(&account_id) {
            return Ok(scopes);
        }
        // Read before the catalogue, so that a catalogue change during the load (which bumps
        // this cache's generation too) keeps the result out of the cache.
        let started = self.accounts.generation();
        let catalogue = self.catalogue(store).await?;
        let overrides = store.role_overrides(account_id).await?;
        let scopes = Arc::new(AccountScopes::new(catalogue, &overrides));
        self.accounts.insert(account_id, scopes.clone(), started);
        Ok(scopes)
    }

    /// Evicts what the invalidations make stale.
    pub fn invalidate(&self, invalidations: &[Invalidation]) {
        self.catalogue.invalidate(invalidations);
        self.accounts.invalidate(invalidations);
    }
}
