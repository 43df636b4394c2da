//! The one cache type of the server, for everything it keeps from the database for a short
//! time: checked credentials, applications, client credentials contexts.
//!
//! An entry is trusted for a TTL measured by the app's [`Clock`], so a test moves a
//! `ManualClock` past it instead of sleeping; past its TTL an entry is as good as absent.
//! No entry is trusted while the invalidation feed has not been read for longer than its bound
//! ([`CacheTrust`]): the cache could then hold a revoked credential without knowing, so every
//! lookup goes to the database until the feed is read again.
//! `moka` bounds the size, evicting by recency and frequency instead of scanning.
//!
//! Invalidations evict what they name, each kind of entry saying which ones make it stale
//! ([`Invalidated`]). A generation counter stops a load that raced an invalidation from
//! caching what it read before the change.

use std::borrow::Borrow;
use std::hash::Hash;
use std::sync::{Arc, Mutex, MutexGuard};

use gatekey_core::store::Invalidation;
use gatekey_core::Clock;
use moka::sync::Cache;
use time::{Duration, OffsetDateTime};

use crate::feed_freshness::FeedFreshness;

/// A kind of cached value that knows which invalidations make it stale.
pub trait Invalidated<K> {
    /// Whether `invalidation` may concern values of this kind at all; others are ignored
    /// without looking at any entry.
    fn concerned_by(invalidation: &Invalidation) -> bool;

    /// Whether `invalidation` makes this value, cached under `key`, stale.
    fn stale_after(&self, key: &K, invalidation: &Invalidation) -> bool;
}

/// How long cached values are trusted: for a TTL by a clock, and, when a feed is given, not at
/// all while the invalidation feed was last read longer ago than its bound.
#[derive(Debug, Clone)]
pub struct CacheTrust {
    ttl: Duration,
    clock: Arc<dyn Clock>,
    feed: Option<(Arc<FeedFreshness>, Duration)>,
}

impl CacheTrust {
    /// Trusts values for `ttl` by `clock` (zero trusts nothing).
    pub fn new(ttl: std::time::Duration, clock: Arc<dyn Clock>) -> Self {
        Self {
            ttl: Duration::try_from(ttl).unwrap_or(Duration::MAX),
            clock,
            feed: None,
        }
    }

    /// Trusts nothing while `feed` was last read longer than `max_staleness` ago.
    pub fn while_feed_read_within(
        self,
        feed: Arc<FeedFreshness>,
        max_staleness: std::time::Duration,
    ) -> Self {
        let bound = Duration::try_from(max_staleness).unwrap_or(Duration::MAX);
        Self {
            feed: Some((feed, bound)),
            ..self
        }
    }

    /// Whether a value stored at `stored_at` may be used now.
    fn trusts(&self, stored_at: OffsetDateTime) -> bool {
        let now = self.clock.now();
        let fresh_feed = self
            .feed
            .as_ref()
            .is_none_or(|(feed, bound)| feed.age(now) <= *bound);
        fresh_feed && now - stored_at < self.ttl
    }
}

/// A value with the time it was stored, by the app's clock.
#[derive(Clone)]
struct Stamped<V> {
    value: V,
    stored_at: OffsetDateTime,
}

/// The cache's generation when a load started; see [`ClockedCache::insert`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Generation(u64);

/// A bounded cache whose entries are trusted as its [`CacheTrust`] says.
pub struct ClockedCache<K, V> {
    entries: Cache<K, Stamped<V>>,
    trust: CacheTrust,
    /// Bumped by every invalidation that concerns this cache. Holding the lock makes the
    /// check in [`Self::insert`] and the insert one step.
    generation: Mutex<u64>,
}

/// Counts only: the cache's own `Debug` would print every entry.
impl<K, V> std::fmt::Debug for ClockedCache<K, V> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClockedCache")
            .field("entries", &self.entries.entry_count())
            .field("ttl", &self.trust.ttl)
            .finish_non_exhaustive()
    }
}

impl<K, V> ClockedCache<K, V>
where
    K: Hash + Eq + Send + Sync + 'static,
    V: Invalidated<K> + Clone + Send + Sync + 'static,
{
    /// A cache of at most `max_entries`, trusting them as `trust` says.
    pub fn new(max_entries: u64, trust: CacheTrust) -> Self {
        Self::build(max_entries, trust, |_| {})
    }

    /// Like [`Self::new`], calling `on_removal` with every value that leaves the cache:
    /// evicted for room, replaced, or invalidated.
    pub fn with_removal_listener(
        max_entries: u64,
        trust: CacheTrust,
        on_removal: impl Fn(V) + Send + Sync + 'static,
    ) -> Self {
        Self::build(max_entries, trust, on_removal)
    }

    fn build(
        max_entries: u64,
        trust: CacheTrust,
        on_removal: impl Fn(V) + Send + Sync + 'static,
    ) -> Self {
        Self {
            entries: Cache::builder()
                .max_capacity(max_entries)
                .support_invalidation_closures()
                .eviction_listener(move |_, stamped: Stamped<V>, _| on_removal(stamped.value))
                .build(),
            trust,
            generation: Mutex::new(0),
        }
    }

    fn generation_lock(&self) -> MutexGuard<'_, u64> {
        self.generation.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The value under `key`, if stored less than the TTL ago by the clock and the invalidation
    /// feed is current.
    pub fn get<Q>(&self, key: &Q) -> Option<V>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        let stamped = self.entries.get(key)?;
        self.trust
            .trusts(stamped.stored_at)
            .then_some(stamped.value)
    }

    /// The current generation; read it before loading from the database, and pass it to
    /// [`Self::insert`].
    pub fn generation(&self) -> Generation {
        Generation(*self.generation_lock())
    }

    /// Stores `value` under `key`, unless an invalidation concerning this cache came in since
    /// `since` was read: what was loaded may predate it. Returns whether it was stored.
    pub fn insert(&self, key: K, value: V, since: Generation) -> bool {
        let generation = self.generation_lock();
        if *generation != since.0 {
            return false;
        }
        let stored_at = self.trust.clock.now();
        self.entries.insert(key, Stamped { value, stored_at });
        true
    }

    /// Evicts every entry the invalidations make stale. Entries stored before this call are
    /// gone for every later read.
    pub fn invalidate(&self, invalidations: &[Invalidation]) {
        let relevant: Vec<Invalidation> = invalidations
            .iter()
            .filter(|i| V::concerned_by(i))
            .copied()
            .collect();
        if relevant.is_empty() {
            return;
        }
        let mut generation = self.generation_lock();
        *generation += 1;
        let stale = move |key: &K, stamped: &Stamped<V>| {
            relevant.iter().any(|i| stamped.value.stale_after(key, i))
        };
        if self.entries.invalidate_entries_if(stale).is_err() {
            self.entries.invalidate_all();
        }
    }

    /// Every value still held, fresh or not; values invalidated are handed to the removal
    /// listener first.
    pub fn values(&self) -> Vec<V> {
        self.entries.run_pending_tasks();
        self.entries
            .iter()
            .map(|(_, stamped)| stamped.value)
            .collect()
    }

    /// How many entries are held, after pending evictions.
    pub fn len(&self) -> u64 {
        self.entries.run_pending_tasks();
        self.entries.entry_count()
    }

    /// Whether no entry is held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use gatekey_core::ManualClock;

    use super::*;

    /// A value stale after the invalidation of its user.
    #[derive(Debug, Clone, PartialEq)]
    struct OfUser(i64);

    impl Invalidated<u32> for OfUser {
        fn concerned_by(invalidation: &Invalidation) -> bool {
            matches!(invalidation, Invalidation::User(_))
        }

        fn stale_after(&self, _: &u32, invalidation: &Invalidation) -> bool {
            *invalidation == Invalidation::User(self.0)
        }
    }

    fn cache(ttl_secs: u64) -> (ClockedCache<u32, OfUser>, Arc<ManualClock>) {
        let clock = Arc::new(ManualClock::new(OffsetDateTime::UNIX_EPOCH));
        let trust = CacheTrust::new(std::time::Duration::from_secs(ttl_secs), clock.clone());
        let cache = ClockedCache::new(100, trust);
        (cache, clock)
    }

    #[test]
    fn an_entry_expires_when_the_clock_passes_its_ttl() {
        let (cache, clock) = cache(60);
        cache.insert(1, OfUser(7), cache.generation());
        clock.advance(Duration::seconds(59));
        assert_eq!(cache.get(&1), Some(OfUser(7)), "fresh until its TTL");
        clock.advance(Duration::seconds(1));
        assert_eq!(cache.get(&1), None, "absent once the clock reaches its TTL");
    }

    #[test]
    fn a_zero_ttl_trusts_nothing() {
        let (cache, _) = cache(0);
        cache.insert(1, OfUser(7), cache.generation());
        assert_eq!(cache.get(&1), None);
    }

    #[test]
    fn invalidations_evict_what_they_name_and_nothing_else() {
        let (cache, _) = cache(60);
        cache.insert(1, OfUser(7), cache.generation());
        cache.insert(2, OfUser(8), cache.generation());
        cache.invalidate(&[Invalidation::User(7), Invalidation::ApiKey(8)]);
        assert_eq!(cache.get(&1), None);
        assert_eq!(cache.get(&2), Some(OfUser(8)));
    }

    #[test]
    fn a_load_that_raced_an_invalidation_is_not_cached() {
        let (cache, _) = cache(60);
        let before = cache.generation();
        cache.invalidate(&[Invalidation::User(9)]);
        assert!(!cache.insert(1, OfUser(7), before));
        assert_eq!(cache.get(&1), None);
    }

    #[test]
    fn an_invalidation_of_another_kind_does_not_hold_loads_back() {
        let (cache, _) = cache(60);
        let before = cache.generation();
        cache.invalidate(&[Invalidation::Session(1)]);
        assert!(cache.insert(1, OfUser(7), before));
    }

    #[test]
    fn removed_values_reach_the_listener() {
        let clock = Arc::new(ManualClock::new(OffsetDateTime::UNIX_EPOCH));
        let removed = Arc::new(Mutex::new(Vec::new()));
        let seen = removed.clone();
        let cache = ClockedCache::with_removal_listener(
            100,
            CacheTrust::new(std::time::Duration::from_secs(60), clock),
            move |value: OfUser| seen.lock().expect("lock").push(value.0),
        );
        cache.insert(1, OfUser(7), cache.generation());
        cache.insert(1, OfUser(8), cache.generation());
        cache.invalidate(&[Invalidation::User(8)]);
        assert!(cache.values().is_empty());
        assert_eq!(*removed.lock().expect("lock"), [7, 8]);
    }

    #[test]
    fn the_cache_is_bounded() {
        let (cache, _) = cache(60);
        for key in 0..300 {
            cache.insert(key, OfUser(1), cache.generation());
        }
        assert!(cache.len() <= 100);
    }

    #[test]
    fn nothing_is_trusted_while_the_feed_is_older_than_its_bound() {
        let clock = Arc::new(ManualClock::new(OffsetDateTime::UNIX_EPOCH));
        let feed = Arc::new(FeedFreshness::new(clock.now()));
        let trust = CacheTrust::new(std::time::Duration::from_secs(60), clock.clone())
            .while_feed_read_within(feed.clone(), std::time::Duration::from_secs(5));
        let cache = ClockedCache::new(100, trust);
        cache.insert(1, OfUser(7), cache.generation());
        clock.advance(Duration::seconds(5));
        assert_eq!(
            cache.get(&1),
            Some(OfUser(7)),
            "the feed is 5 s old: trusted"
        );
        clock.advance(Duration::milliseconds(1));
        assert_eq!(cache.get(&1), None, "past the bound: not trusted");
        feed.read_at(clock.now());
        assert_eq!(cache.get(&1), Some(OfUser(7)), "the feed was read again");
    }
}
