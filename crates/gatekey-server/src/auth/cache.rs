//! The credential cache: a checked API key or OAuth access token is trusted for a short time
//! without asking the database again, so the check on every request is a hash and a map lookup.
//!
//! Revocation stays immediate: a write on this server evicts as it commits (the store tells
//! the caches), other servers evict when the invalidation feed reaches them (a `NOTIFY` on
//! PostgreSQL, a poll otherwise).
//!
//! Uses of API keys are counted here, without a database write, and written in batches as
//! `last_used_at` and `last_used_ip`; a use of a key leaving the cache is kept until the next
//! batch.

use std::net::IpAddr;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use gatekey_core::clock::{from_millis, to_millis};
use gatekey_core::principal::Principal;
use gatekey_core::secret::{Secret, SecretKind, TokenHash};
use gatekey_core::store::{Invalidation, KeyUse};
use time::OffsetDateTime;

use crate::clocked_cache::{CacheTrust, ClockedCache, Generation, Invalidated};
use crate::error::ApiError;
use crate::metering::policy::KeyPolicy;
use crate::metrics::{CredentialOutcome, Metrics};

/// Credentials kept at most.
pub const MAX_ENTRIES: u64 = 100_000;

/// What a cached credential is, with the ids that invalidations name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CredentialSource {
    /// An API key.
    ApiKey {
        /// The key's id.
        key_id: i64,
        /// When it was created, for introspection's `iat`.
        created_at: time::OffsetDateTime,
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
        /// The resource servers it is for (RFC 8707); empty for any, gatekey's API included.
        audience: std::sync::Arc<[String]>,
    },
}

impl CredentialSource {
    /// Whether `invalidation` names this credential itself (a user's is checked by the
    /// caller, from the principal).
    fn named_by(&self, invalidation: &Invalidation) -> bool {
        match (self, *invalidation) {
            (Self::ApiKey { key_id, .. }, Invalidation::ApiKey(id)) => *key_id == id,
            (Self::AccessToken { token_id, .. }, Invalidation::AccessToken(id)) => *token_id == id,
            (Self::AccessToken { family_id, .. }, Invalidation::Family(id)) => {
                *family_id == Some(id)
            }
            (Self::AccessToken { grant_id, .. }, Invalidation::Grant(id)) => *grant_id == id,
            (Self::AccessToken { application_id, .. }, Invalidation::Application(id)) => {
                *application_id == id
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
    /// For an API key with meta, limits or credits of its own: those, as read with the key.
    pub policy: Option<Arc<KeyPolicy>>,
    /// Last use, in milliseconds; 0 when never used since cached.
    last_used: AtomicI64,
    /// The last use already written to the database.
    last_flushed: AtomicI64,
    /// The client address of a recent use.
    last_ip: Mutex<Option<IpAddr>>,
    /// [`address_mark`] of `last_ip`, so that a use from the address kept takes no lock.
    last_ip_mark: AtomicU64,
}

impl CachedKey {
    /// Records a use from `ip`: an atomic store, and an atomic load when the address is the
    /// one kept. Another address is kept unless another request is keeping its own at this
    /// very moment (the lock is never waited for), so the address written is that of a use
    /// within the flush interval. No database write. Only API keys keep a `last_used_at`;
    /// uses of other credentials are not written.
    pub fn touch(&self, now: OffsetDateTime, ip: Option<IpAddr>) {
        self.last_used.store(to_millis(now), Ordering::Relaxed);
        let Some(ip) = ip else {
            return;
        };
        let mark = address_mark(ip);
        if self.last_ip_mark.load(Ordering::Relaxed) == mark {
            return;
        }
        if let Ok(mut last_ip) = self.last_ip.try_lock() {
            *last_ip = Some(ip);
            self.last_ip_mark.store(mark, Ordering::Relaxed);
        }
    }

    fn unflushed_use(&self) -> Option<KeyUse> {
        let CredentialSource::ApiKey { key_id, .. } = self.source else {
            return None;
        };
        let used = self.last_used.load(Ordering::Relaxed);
        let flushed = self.last_flushed.swap(used, Ordering::Relaxed);
        (used > flushed).then(|| KeyUse {
            key_id,
            at: from_millis(used),
            ip: *self.last_ip.lock().unwrap_or_else(|p| p.into_inner()),
        })
    }
}

impl Invalidated<TokenHash> for Arc<CachedKey> {
    fn concerned_by(invalidation: &Invalidation) -> bool {
        !matches!(invalidation, Invalidation::Session(_))
    }

    fn stale_after(&self, _: &TokenHash, invalidation: &Invalidation) -> bool {
        match invalidation {
            Invalidation::User(id) => self.principal.user.id == *id,
            // What the role holds was read with the credential.
            Invalidation::ScopeCatalogue => true,
            Invalidation::AccountScopes(id) => self.principal.account.id == *id,
            other => self.source.named_by(other),
        }
    }
}

/// What the cache knows of a presented credential.
#[derive(Debug)]
pub enum CacheLookup {
    /// Checked recently and still good. Its use is not recorded here: the caller that
    /// authenticates with it does ([`CachedKey::touch`]); introspection does not.
    Cached(Arc<CachedKey>),
    /// Not cached: check it against the database, then [`CredentialCache::insert`] it.
    Missing {
        /// The credential's hash.
        hash: TokenHash,
        /// Pass to [`CredentialCache::insert`].
        generation: Generation,
    },
}

/// A 64-bit mark of an address, never 0 (the mark of no address): an IPv4 address exactly, an
/// IPv6 address folded. Two IPv6 addresses sharing a mark only leave the older one kept.
fn address_mark(ip: IpAddr) -> u64 {
    match ip {
        IpAddr::V4(v4) => (1 << 32) | u64::from(u32::from(v4)),
        IpAddr::V6(v6) => {
            let bits = u128::from(v6);
            // Truncation is the folding: the high half, then the low half.
            ((bits >> 64) as u64 ^ bits as u64) | (1 << 63)
        }
    }
}

/// Uses of keys that left the cache before their use was written.
type PendingUsage = Arc<Mutex<Vec<KeyUse>>>;

/// The cache of checked credentials.
#[derive(Debug)]
pub struct CredentialCache {
    entries: ClockedCache<TokenHash, Arc<CachedKey>>,
    pending_usage: PendingUsage,
}

impl CredentialCache {
    /// A cache trusting entries as `trust` says.
    pub fn new(trust: CacheTrust) -> Self {
        let pending_usage = PendingUsage::default();
        let on_removal = {
            let pending = pending_usage.clone();
            move |entry: Arc<CachedKey>| {
                if let Some(used) = entry.unflushed_use() {
                    lock(&pending).push(used);
                }
            }
        };
        Self {
            entries: ClockedCache::with_removal_listener(MAX_ENTRIES, trust, on_removal),
            pending_usage,
        }
    }

    /// Parses `presented` as a credential of `kind` and looks it up. A cached credential past
    /// its own expiry is refused, as the database check would. Counts the check's outcome when
    /// it ends here.
    pub fn look_up(
        &self,
        kind: SecretKind,
        presented: &str,
        now: OffsetDateTime,
        metrics: &Metrics,
    ) -> Result<CacheLookup, ApiError> {
        let Ok(secret) = Secret::parse(kind, presented) else {
            metrics.credential_check(CredentialOutcome::Malformed);
            return Err(ApiError::invalid_token("the credential is malformed"));
        };
        self.look_up_hash(secret.hash(), now, metrics)
    }

    /// Like [`Self::look_up`], for a credential already hashed: a JWT access token, which has
    /// no `gk_` checksum to check first.
    pub fn look_up_hash(
        &self,
        hash: TokenHash,
        now: OffsetDateTime,
        metrics: &Metrics,
    ) -> Result<CacheLookup, ApiError> {
        let Some(entry) = self.entries.get(&hash) else {
            let generation = self.entries.generation();
            return Ok(CacheLookup::Missing { hash, generation });
        };
        if entry.principal.expires_at.is_some_and(|at| at <= now) {
            metrics.credential_check(CredentialOutcome::Expired);
            return Err(ApiError::invalid_token("the credential has expired"));
        }
        metrics.credential_check(CredentialOutcome::CacheHit);
        Ok(CacheLookup::Cached(entry))
    }

    /// The entry for `hash` if it is still fresh.
    pub fn get(&self, hash: &TokenHash) -> Option<Arc<CachedKey>> {
        self.entries.get(hash)
    }

    /// Caches a checked credential, unless an invalidation happened since `generation` was
    /// read; returns the entry either way.
    pub fn insert(
        &self,
        hash: TokenHash,
        principal: Arc<Principal>,
        source: CredentialSource,
        generation: Generation,
    ) -> Arc<CachedKey> {
        self.insert_with_policy(hash, principal, source, None, generation)
    }

    /// Like [`Self::insert`], for an API key with meta, limits or credits of its own.
    pub fn insert_with_policy(
        &self,
        hash: TokenHash,
        principal: Arc<Principal>,
        source: CredentialSource,
        policy: Option<KeyPolicy>,
        generation: Generation,
    ) -> Arc<CachedKey> {
        let entry = Arc::new(CachedKey {
            principal,
            source,
            policy: policy.map(Arc::new),
            last_used: AtomicI64::new(0),
            last_flushed: AtomicI64::new(0),
            last_ip: Mutex::new(None),
            last_ip_mark: AtomicU64::new(0),
        });
        self.entries.insert(hash, entry.clone(), generation);
        entry
    }

    /// Evicts every entry an invalidation makes stale.
    pub fn invalidate(&self, invalidations: &[Invalidation]) {
        self.entries.invalidate(invalidations);
    }

    /// How many credentials are held.
    pub fn entry_count(&self) -> u64 {
        self.entries.len()
    }

    /// Takes every use not yet written to the database.
    pub fn take_usage(&self) -> Vec<KeyUse> {
        let held = self.entries.values();
        let mut usage = std::mem::take(&mut *lock(&self.pending_usage));
        usage.extend(held.iter().filter_map(|e| e.unflushed_use()));
        usage
    }

    /// Puts back uses that could not be written.
    pub fn requeue_usage(&self, usage: Vec<KeyUse>) {
        lock(&self.pending_usage).extend(usage);
    }
}

fn lock(pending: &PendingUsage) -> std::sync::MutexGuard<'_, Vec<KeyUse>> {
    pending.lock().unwrap_or_else(|p| p.into_inner())
}

#[cfg(test)]
mod tests {
    use gatekey_core::account::Account;
    use gatekey_core::audit::CredentialRef;
    use gatekey_core::role::Role;
    use gatekey_core::scope::ScopeSet;
    use gatekey_core::user::{User, UserKind};
    use gatekey_core::ManualClock;

    use super::*;

    const START: OffsetDateTime = OffsetDateTime::UNIX_EPOCH;

    fn principal(user_id: i64) -> Arc<Principal> {
        Arc::new(Principal {
            user: Arc::new(User {
                id: user_id,
                email: format!("user{user_id}@acme.test"),
                name: "User".into(),
                kind: UserKind::Person,
                password_hash: None,
                disabled_at: None,
                created_at: START,
                must_change_password: false,
            }),
            account: Arc::new(Account {
                id: 1,
                slug: "acme".into(),
                name: "Acme".into(),
                created_at: START,
            }),
            membership_id: user_id,
            role: Role::Member,
            role_scopes: Role::Member.scopes(),
            credential: CredentialRef::Anonymous,
            credential_scopes: ScopeSet::ALL,
            expires_at: None,
        })
    }

    fn hash(n: u8) -> TokenHash {
        TokenHash::from_bytes([n; 32])
    }

    fn cache() -> (CredentialCache, Arc<ManualClock>) {
        let clock = Arc::new(ManualClock::new(START));
        (
            CredentialCache::new(CacheTrust::new(
                std::time::Duration::from_secs(60),
                clock.clone(),
            )),
            clock,
        )
    }

    fn api_key(key_id: i64) -> CredentialSource {
        CredentialSource::ApiKey {
            key_id,
            created_at: START,
        }
    }

    fn token(
        token_id: i64,
        family_id: i64,
        grant_id: i64,
        application_id: i64,
    ) -> CredentialSource {
        CredentialSource::AccessToken {
            token_id,
            family_id: Some(family_id),
            grant_id,
            application_id,
            issued_at: START,
            audience: Vec::new().into(),
        }
    }

    #[test]
    fn an_entry_expires_when_the_clock_passes_the_ttl() {
        let (cache, clock) = cache();
        let key = hash(1);
        let source = api_key(1);
        cache.insert(key, principal(1), source, cache.entries.generation());
        clock.advance(time::Duration::seconds(59));
        assert!(cache.get(&key).is_some());
        clock.advance(time::Duration::seconds(1));
        assert!(cache.get(&key).is_none());
    }

    #[test]
    fn each_invalidation_evicts_the_credentials_it_names() {
        let (cache, _) = cache();
        let entries = [
            (hash(1), 10, api_key(1)),
            (hash(2), 20, token(2, 200, 2000, 20_000)),
            (hash(3), 30, token(3, 300, 3000, 30_000)),
            (hash(4), 40, token(4, 400, 4000, 40_000)),
            (hash(5), 50, token(5, 500, 5000, 50_000)),
            (hash(6), 60, token(6, 600, 6000, 60_000)),
            (hash(7), 70, api_key(7)),
        ];
        for (key, user, source) in &entries {
            cache.insert(
                *key,
                principal(*user),
                source.clone(),
                cache.entries.generation(),
            );
        }
        cache.invalidate(&[
            Invalidation::ApiKey(1),
            Invalidation::AccessToken(2),
            Invalidation::Family(300),
            Invalidation::Grant(4000),
            Invalidation::Application(50_000),
            Invalidation::User(60),
            Invalidation::Session(7),
        ]);
        let cached: Vec<bool> = entries
            .iter()
            .map(|(key, _, _)| cache.get(key).is_some())
            .collect();
        assert_eq!(cached, [false, false, false, false, false, false, true]);
    }

    #[test]
    fn a_change_to_what_roles_hold_evicts_the_credentials_checked_under_it() {
        let (cache, _) = cache();
        let key = api_key(1);
        cache.insert(
            hash(1),
            principal(1),
            key.clone(),
            cache.entries.generation(),
        );
        cache.invalidate(&[Invalidation::AccountScopes(2)]);
        assert!(cache.get(&hash(1)).is_some(), "another account's mapping");
        cache.invalidate(&[Invalidation::AccountScopes(1)]);
        assert!(cache.get(&hash(1)).is_none(), "its account's mapping");
        cache.insert(hash(1), principal(1), key, cache.entries.generation());
        cache.invalidate(&[Invalidation::ScopeCatalogue]);
        assert!(cache.get(&hash(1)).is_none(), "the catalogue");
    }

    #[test]
    fn a_use_is_written_once_even_after_its_key_left_the_cache() {
        let (cache, _) = cache();
        let (kept, evicted) = (hash(1), hash(2));
        let used_at = START + time::Duration::seconds(5);
        let ip: Option<IpAddr> = "203.0.113.7".parse().ok();
        for (key, id) in [(&kept, 1), (&evicted, 2)] {
            let source = api_key(id);
            let entry = cache.insert(*key, principal(id), source, cache.entries.generation());
            entry.touch(used_at, ip);
        }
        cache.invalidate(&[Invalidation::ApiKey(2)]);
        let mut usage = cache.take_usage();
        usage.sort_unstable();
        let used = |key_id| KeyUse {
            key_id,
            at: used_at,
            ip,
        };
        assert_eq!(usage, [used(1), used(2)]);
        assert!(cache.take_usage().is_empty(), "each use is taken once");
    }

    #[test]
    fn the_address_of_the_latest_use_is_written_and_kept_when_unknown() {
        let (cache, _) = cache();
        let entry = cache.insert(
            hash(1),
            principal(1),
            api_key(1),
            cache.entries.generation(),
        );
        let (first, second): (Option<IpAddr>, Option<IpAddr>) =
            ("192.0.2.1".parse().ok(), "2001:db8::7".parse().ok());
        entry.touch(START + time::Duration::seconds(1), first);
        entry.touch(START + time::Duration::seconds(2), second);
        assert_eq!(cache.take_usage()[0].ip, second);
        entry.touch(START + time::Duration::seconds(3), None);
        assert_eq!(
            cache.take_usage()[0].ip,
            second,
            "a use without a known address keeps the last one"
        );
        entry.touch(START + time::Duration::seconds(4), first);
        assert_eq!(cache.take_usage()[0].ip, first, "back to the first address");
    }

    #[test]
    fn address_marks_tell_addresses_apart_and_are_never_zero() {
        let marks: Vec<u64> = [
            "0.0.0.0",
            "192.0.2.1",
            "192.0.2.2",
            "::",
            "::1",
            "2001:db8::1",
        ]
        .iter()
        .map(|text| address_mark(text.parse().unwrap()))
        .collect();
        assert!(marks.iter().all(|mark| *mark != 0), "{marks:?}");
        let mut distinct = marks.clone();
        distinct.sort_unstable();
        distinct.dedup();
        assert_eq!(distinct.len(), marks.len(), "{marks:?}");
    }

    #[test]
    fn uses_of_access_tokens_are_not_written() {
        let (cache, _) = cache();
        let entry = cache.insert(
            hash(1),
            principal(1),
            token(1, 1, 1, 1),
            cache.entries.generation(),
        );
        entry.touch(START, None);
        assert!(cache.take_usage().is_empty());
    }
}
