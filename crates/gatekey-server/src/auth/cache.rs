//! The credential cache: a checked API key or OAuth access token is trusted for a short time
//! without asking the database again, so the check on every request is a hash and a map lookup.
//!
//! Revocation stays immediate: the revoking server evicts at once, other servers evict when the
//! invalidation feed reaches them (a `NOTIFY` on PostgreSQL, a poll otherwise). A generation
//! counter stops a lookup that raced an invalidation from caching what it read.

use std::collections::HashMap;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use gatekey_core::clock::{from_millis, to_millis};
use gatekey_core::principal::Principal;
use gatekey_core::secret::TokenHash;
use gatekey_core::store::Invalidation;
use time::OffsetDateTime;

/// Entries kept before the cache is emptied and starts over.
const MAX_ENTRIES: usize = 100_000;

/// What a cached credential is, with the ids that invalidations name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CredentialSource {
    /// An API key.
    ApiKey {
        /// The key's id.
        key_id: i64,
    },
    /// An OAuth access token.
    AccessToken {
        /// The token's id.
        token_id: i64,
        /// Its refresh family, if it has one.
        family_id: Option<i64>,
        /// The grant it hangs off.
        grant_id: i64,
        /// The application it was issued to.
        application_id: i64,
        /// When it was issued, for introspection's `iat`.
        issued_at: time::OffsetDateTime,
    },
}

impl CredentialSource {
    /// Whether `invalidation` makes this credential stale. A user's invalidation is checked by
    /// the caller, from the principal.
    fn made_stale_by(&self, invalidation: &Invalidation) -> bool {
        match (*self, *invalidation) {
            (Self::ApiKey { key_id }, Invalidation::ApiKey(id)) => key_id == id,
            (Self::AccessToken { token_id, .. }, Invalidation::AccessToken(id)) => token_id == id,
            (Self::AccessToken { family_id, .. }, Invalidation::Family(id)) => {
                family_id == Some(id)
            }
            (Self::AccessToken { grant_id, .. }, Invalidation::Grant(id)) => grant_id == id,
            (Self::AccessToken { application_id, .. }, Invalidation::Application(id)) => {
                application_id == id
            }
            _ => false,
        }
    }
}

/// A checked credential.
#[derive(Debug)]
pub struct CachedKey {
    /// Who the credential acts as.
    pub principal: Arc<Principal>,
    /// What it is.
    pub source: CredentialSource,
    fetched_at: Instant,
    /// Last use, in milliseconds; 0 when never used since cached.
    last_used: AtomicI64,
    /// The last use already written to the database.
    last_flushed: AtomicI64,
}

impl CachedKey {
    /// Records a use; a single atomic store, no lock and no database write. Only API keys
    /// keep a `last_used_at`; uses of other credentials are not written.
    pub fn touch(&self, now: OffsetDateTime) {
        self.last_used.store(to_millis(now), Ordering::Relaxed);
    }

    fn unflushed_use(&self) -> Option<(i64, OffsetDateTime)> {
        let CredentialSource::ApiKey { key_id } = self.source else {
            return None;
        };
        let used = self.last_used.load(Ordering::Relaxed);
        let flushed = self.last_flushed.swap(used, Ordering::Relaxed);
        (used > flushed).then(|| (key_id, from_millis(used)))
    }
}

/// The cache of checked credentials.
#[derive(Debug)]
pub struct CredentialCache {
    entries: RwLock<HashMap<TokenHash, Arc<CachedKey>>>,
    ttl: Duration,
    generation: AtomicU64,
    /// Uses of keys evicted before their use was written.
    pending_usage: Mutex<Vec<(i64, OffsetDateTime)>>,
}

impl CredentialCache {
    /// A cache trusting entries for `ttl`.
    pub fn new(ttl: Duration) -> Self {
        Self {
            entries: RwLock::new(HashMap::new()),
            ttl,
            generation: AtomicU64::new(0),
            pending_usage: Mutex::new(Vec::new()),
        }
    }

    /// The entry for `hash` if it is still fresh.
    pub fn get(&self, hash: &TokenHash) -> Option<Arc<CachedKey>> {
        let entries = self.entries.read().unwrap_or_else(|p| p.into_inner());
        entries
            .get(hash)
            .filter(|entry| entry.fetched_at.elapsed() < self.ttl)
            .cloned()
    }

    /// The current generation; pass it to [`Self::insert`] after reading the database.
    pub fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }

    /// Caches a checked key, unless an invalidation happened since `generation` was read.
    pub fn insert(
        &self,
        hash: TokenHash,
        principal: Arc<Principal>,
        key_id: i64,
        generation: u64,
    ) -> Arc<CachedKey> {
        self.insert_checked(
            hash,
            principal,
            CredentialSource::ApiKey { key_id },
            generation,
        )
    }

    /// Caches a checked credential of any kind, unless an invalidation happened since
    /// `generation` was read.
    pub fn insert_checked(
        &self,
        hash: TokenHash,
        principal: Arc<Principal>,
        source: CredentialSource,
        generation: u64,
    ) -> Arc<CachedKey> {
        let entry = Arc::new(CachedKey {
            principal,
            source,
            fetched_at: Instant::now(),
            last_used: AtomicI64::new(0),
            last_flushed: AtomicI64::new(0),
        });
        let mut entries = self.entries.write().unwrap_or_else(|p| p.into_inner());
        if self.generation.load(Ordering::Acquire) == generation {
            if entries.len() >= MAX_ENTRIES {
                self.drain_usage(entries.drain().map(|(_, e)| e));
            }
            if let Some(previous) = entries.insert(hash, entry.clone()) {
                self.drain_usage(std::iter::once(previous));
            }
        }
        entry
    }

    /// Evicts every entry an invalidation makes stale.
    pub fn invalidate(&self, invalidations: &[Invalidation]) {
        if invalidations.is_empty() {
            return;
        }
        let mut entries = self.entries.write().unwrap_or_else(|p| p.into_inner());
        self.generation.fetch_add(1, Ordering::AcqRel);
        let mut evicted = Vec::new();
        entries.retain(|_, entry| {
            let stale = invalidations.iter().any(|inv| match inv {
                Invalidation::User(id) => entry.principal.user.id == *id,
                other => entry.source.made_stale_by(other),
            });
            if stale {
                evicted.push(entry.clone());
            }
            !stale
        });
        self.drain_usage(evicted.into_iter());
    }

    /// Evicts everything: used when the invalidation feed may have been missed.
    pub fn clear(&self) {
        let mut entries = self.entries.write().unwrap_or_else(|p| p.into_inner());
        self.generation.fetch_add(1, Ordering::AcqRel);
        self.drain_usage(entries.drain().map(|(_, e)| e));
    }

    /// Takes every use not yet written to the database.
    pub fn take_usage(&self) -> Vec<(i64, OffsetDateTime)> {
        let mut usage =
            std::mem::take(&mut *self.pending_usage.lock().unwrap_or_else(|p| p.into_inner()));
        let entries = self.entries.read().unwrap_or_else(|p| p.into_inner());
        usage.extend(entries.values().filter_map(|e| e.unflushed_use()));
        usage
    }

    /// Puts back uses that could not be written.
    pub fn requeue_usage(&self, usage: Vec<(i64, OffsetDateTime)>) {
        self.pending_usage
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .extend(usage);
    }

    fn drain_usage(&self, evicted: impl Iterator<Item = Arc<CachedKey>>) {
        let used: Vec<_> = evicted.filter_map(|e| e.unflushed_use()).collect();
        if !used.is_empty() {
            self.pending_usage
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .extend(used);
        }
    }
}
