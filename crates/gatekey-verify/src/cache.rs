//! The one cache type of the crate, for checked JWTs and introspection answers alike: keyed by
//! the SHA-256 of the credential, bounded in entries, each entry trusted until a deadline read
//! on the verifier's [`Clock`] (so a test moves its clock instead of sleeping). `moka` bounds
//! the size, evicting by recency and frequency, and drops entries past `max_lifetime` on its
//! own so memory is reclaimed even for credentials never seen again.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use moka::sync::Cache;

use crate::clock::Clock;
use crate::secret::CredentialDigest;
use crate::Caller;

/// Checked callers by credential digest, each until its own deadline.
#[derive(Clone)]
pub(crate) struct CallerCache {
    entries: Option<Cache<CredentialDigest, (Arc<Caller>, SystemTime)>>,
    clock: Arc<dyn Clock>,
}

impl std::fmt::Debug for CallerCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CallerCache")
            .field("entries", &self.entries.as_ref().map(Cache::entry_count))
            .finish_non_exhaustive()
    }
}

impl CallerCache {
    /// A cache of at most `capacity` entries, none kept by `moka` longer than `max_lifetime`.
    /// A capacity or lifetime of zero keeps nothing.
    pub(crate) fn new(capacity: u64, max_lifetime: Duration, clock: Arc<dyn Clock>) -> Self {
        let entries = (capacity > 0 && !max_lifetime.is_zero()).then(|| {
            Cache::builder()
                .max_capacity(capacity)
                .time_to_live(max_lifetime)
                .build()
        });
        Self { entries, clock }
    }

    /// The caller cached for `digest`, unless its deadline has passed by the clock.
    pub(crate) fn get(&self, digest: &CredentialDigest) -> Option<Arc<Caller>> {
        let entries = self.entries.as_ref()?;
        let (caller, until) = entries.get(digest)?;
        if self.clock.now() < until {
            Some(caller)
        } else {
            entries.invalidate(digest);
            None
        }
    }

    /// Keeps `caller` for `digest` until `until`; a deadline already past keeps nothing.
    pub(crate) fn insert(&self, digest: CredentialDigest, caller: Arc<Caller>, until: SystemTime) {
        if let Some(entries) = &self.entries {
            if self.clock.now() < until {
                entries.insert(digest, (caller, until));
            }
        }
    }

    /// The clock deadlines are read on.
    pub(crate) fn now(&self) -> SystemTime {
        self.clock.now()
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use super::*;
    use crate::caller::{CallerAccount, CallerUser, CheckedBy, Credential, CredentialKind};

    struct Manual(Mutex<SystemTime>);

    impl Clock for Manual {
        fn now(&self) -> SystemTime {
            *self.0.lock().unwrap()
        }
    }

    fn caller() -> Arc<Caller> {
        Arc::new(Caller {
            user: CallerUser { id: 1, email: None },
            account: CallerAccount {
                slug: "acme".into(),
                id: None,
            },
            role: None,
            scopes: vec![],
            credential: Credential {
                kind: CredentialKind::OAuth,
                id: None,
                client_id: None,
                checked_by: CheckedBy::Signature,
            },
            expires_at: None,
        })
    }

    #[test]
    fn entries_are_trusted_until_their_deadline_by_the_clock() {
        let start = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000);
        let clock = Arc::new(Manual(Mutex::new(start)));
        let cache = CallerCache::new(10, Duration::from_secs(3600), clock.clone());
        let key = CredentialDigest::of("token");
        cache.insert(key, caller(), start + Duration::from_secs(5));
        assert!(cache.get(&key).is_some());
        *clock.0.lock().unwrap() = start + Duration::from_secs(5);
        assert!(cache.get(&key).is_none());
        cache.insert(key, caller(), start);
        assert!(cache.get(&key).is_none(), "a past deadline keeps nothing");
    }

    #[test]
    fn a_zero_capacity_keeps_nothing() {
        let cache = CallerCache::new(0, Duration::from_secs(5), Arc::new(crate::SystemClock));
        let key = CredentialDigest::of("token");
        cache.insert(key, caller(), SystemTime::now() + Duration::from_secs(5));
        assert!(cache.get(&key).is_none());
    }
}
