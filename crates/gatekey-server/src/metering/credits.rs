//! This server's leases of API keys' credits ([`gatekey_core::api_key_credits`]): spent in
//! memory, one lock per key, so that concurrent requests never spend a credit twice, and
//! leased again from the database (one transaction, one request at a time per key) when they
//! run out.
//!
//! What is not spent goes back to the database when the key has been idle for
//! `cache.last_used_flush`, when keys are listed, and when the server stops; a key whose
//! balance was set elsewhere (an invalidation names it) or whose refill period has turned
//! gives its lease back with the next lease, in the same transaction, and the database drops
//! it if the balance's generation changed meanwhile. A server killed with `kill -9` loses its
//! unspent leases: credits are under-spent, never over-spent.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, RwLock};

use gatekey_core::api_key_credits::{
    next_refill_at, refill_due, CreditLeaseStore, LeaseOutcome, UnspentLease,
};
use gatekey_core::api_key_usage::CreditRefill;
use gatekey_core::store::{Invalidation, StoreResult};
use time::{Duration, OffsetDateTime};

/// How long a key found without credits is refused from memory before the database is asked
/// again (another server may have given unspent credits back meanwhile).
const EXHAUSTED_RECHECK: Duration = Duration::seconds(1);

/// The outcome of spending credits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Spend {
    /// Spent. `remaining`: what this server knows is left, its lease and what the database
    /// held at its last lease (other servers' leases are not in it).
    Spent {
        /// Credits left, as this server knows.
        remaining: i64,
    },
    /// Not enough credits left for the cost; `refill_at` is the next refill, if the key has one.
    Exhausted {
        /// When the balance is next refilled.
        refill_at: Option<OffsetDateTime>,
    },
    /// The key's credits are unlimited.
    Unlimited,
}

#[derive(Debug, Default)]
struct LeaseState {
    /// Whether the rest of the state reflects a lease taken from the database.
    synced: bool,
    unlimited: bool,
    /// Credits leased and not yet spent.
    available: i64,
    /// The size of the last lease.
    last_granted: i64,
    generation: i64,
    /// What the database held after the last lease.
    stored_remaining: i64,
    refill: Option<CreditRefill>,
    refilled_at: Option<OffsetDateTime>,
    /// Until when the key is refused from memory for want of credits.
    exhausted_until: Option<OffsetDateTime>,
    /// An invalidation named the key: its balance may have been set elsewhere.
    stale: bool,
    last_spent: Option<OffsetDateTime>,
}

impl LeaseState {
    /// Whether the next spend must see the database first.
    fn must_sync(&self, now: OffsetDateTime) -> bool {
        !self.synced || self.stale || self.refill_turned(now)
    }

    fn refill_turned(&self, now: OffsetDateTime) -> bool {
        self.refill
            .is_some_and(|refill| refill_due(refill, self.refilled_at, now))
    }

    /// Spends from memory, or says what it can without the database; `None` when the
    /// database must be asked.
    fn try_spend(&mut self, cost: i64, now: OffsetDateTime) -> Option<Spend> {
        if self.must_sync(now) {
            return None;
        }
        if self.unlimited {
            return Some(Spend::Unlimited);
        }
        if self.available >= cost {
            self.available -= cost;
            self.last_spent = Some(now);
            return Some(Spend::Spent {
                remaining: self.available + self.stored_remaining,
            });
        }
        if self.exhausted_until.is_some_and(|until| now < until) {
            return Some(self.exhausted(now));
        }
        None
    }

    /// Whether this server's lease is below half of what it was last granted while the
    /// database holds more: time to lease more before it runs out.
    fn running_low(&self) -> bool {
        self.synced
            && !self.unlimited
            && !self.stale
            && self.stored_remaining > 0
            && self.available.saturating_mul(2) < self.last_granted
    }

    fn exhausted(&self, now: OffsetDateTime) -> Spend {
        Spend::Exhausted {
            refill_at: self
                .refill
                .map(|refill| next_refill_at(refill.interval, now)),
        }
    }

    /// Takes the unspent credits out, to give them back.
    fn take_unspent(&mut self, key_id: i64) -> Option<UnspentLease> {
        let credits = std::mem::take(&mut self.available);
        (self.synced && credits > 0).then_some(UnspentLease {
            key_id,
            credits,
            generation: self.generation,
        })
    }
}

#[derive(Debug, Default)]
struct KeyLease {
    state: Mutex<LeaseState>,
    /// Held while a lease is taken, so that one request per key asks the database at a time.
    leasing: tokio::sync::Mutex<()>,
}

impl KeyLease {
    fn state(&self) -> MutexGuard<'_, LeaseState> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// Every lease this server holds, by key id.
#[derive(Debug, Default)]
pub struct CreditLedger {
    leases: RwLock<HashMap<i64, Arc<KeyLease>>>,
}

impl CreditLedger {
    fn lease_of(&self, key_id: i64) -> Arc<KeyLease> {
        if let Some(lease) = self.read().get(&key_id) {
            return lease.clone();
        }
        self.write().entry(key_id).or_default().clone()
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, HashMap<i64, Arc<KeyLease>>> {
        self.leases.read().unwrap_or_else(PoisonError::into_inner)
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, HashMap<i64, Arc<KeyLease>>> {
        self.leases.write().unwrap_or_else(PoisonError::into_inner)
    }

    /// Spends `cost` credits (at least 1) of key `key_id` at `now`: from this server's lease
    /// when it holds enough, else after leasing more from `store`. The request that spends the
    /// lease below half of what was last granted leases more after its own spend, while the
    /// others go on spending what is left, so that a busy key's requests do not all wait on
    /// the database's write every [`MAX_LEASE`](gatekey_core::api_key_credits::MAX_LEASE)
    /// credits.
    pub async fn spend<S: CreditLeaseStore>(
        &self,
        store: &S,
        key_id: i64,
        cost: i64,
        now: OffsetDateTime,
    ) -> StoreResult<Spend> {
        let cost = cost.max(1);
        let lease = self.lease_of(key_id);
        let (spent, running_low) = {
            let mut state = lease.state();
            let spent = state.try_spend(cost, now);
            (spent, state.running_low())
        };
        if let Some(done) = spent {
            if running_low {
                if let Ok(_one_at_a_time) = lease.leasing.try_lock() {
                    // This request has its credits: a failed top-up is left for the request
                    // that finds the lease empty, which sees the error.
                    let _ = Self::lease_more(store, key_id, &lease, 1, now).await;
                }
            }
            return Ok(done);
        }
        let _one_at_a_time = lease.leasing.lock().await;
        if let Some(done) = lease.state().try_spend(cost, now) {
            return Ok(done);
        }
        let found = Self::lease_more(store, key_id, &lease, cost, now).await?;
        let mut state = lease.state();
        if !found {
            // The key is gone: nothing to spend.
            return Ok(Spend::Exhausted { refill_at: None });
        }
        if let Some(done) = state.try_spend(cost, now) {
            return Ok(done);
        }
        state.exhausted_until = Some(now + EXHAUSTED_RECHECK);
        Ok(state.exhausted(now))
    }

    /// Leases credits for a request needing `needed` into `lease`, whose `leasing` lock the
    /// caller holds; `false` when the key is gone.
    async fn lease_more<S: CreditLeaseStore>(
        store: &S,
        key_id: i64,
        lease: &KeyLease,
        needed: i64,
        now: OffsetDateTime,
    ) -> StoreResult<bool> {
        let returned = {
            let mut state = lease.state();
            // What was leased before a change of the balance elsewhere, or before the refill
            // period turned, goes back; the database keeps it only if the balance is the same.
            if state.stale || state.refill_turned(now) {
                state.take_unspent(key_id)
            } else {
                None
            }
        };
        let outcome = store.lease_credits(key_id, returned, needed, now).await?;
        let mut state = lease.state();
        match outcome {
            Some(LeaseOutcome::Leased(plan)) => {
                if plan.generation != state.generation {
                    // Credits of another balance: the database no longer counts them.
                    state.available = 0;
                }
                state.available += plan.granted;
                state.last_granted = plan.granted;
                state.generation = plan.generation;
                state.stored_remaining = plan.remaining;
                state.refill = plan.refill;
                state.refilled_at = plan.refilled_at;
                state.synced = true;
                state.stale = false;
                state.unlimited = false;
                state.exhausted_until = None;
                Ok(true)
            }
            Some(LeaseOutcome::Unlimited) => {
                *state = LeaseState {
                    synced: true,
                    unlimited: true,
                    ..LeaseState::default()
                };
                Ok(true)
            }
            None => Ok(false),
        }
    }

    /// Marks the keys named by `invalidations` stale: their next spend sees the database
    /// first, giving back what this server holds of them.
    pub fn invalidate(&self, invalidations: &[Invalidation]) {
        let leases = self.read();
        for invalidation in invalidations {
            if let Invalidation::ApiKey(id) = invalidation {
                if let Some(lease) = leases.get(id) {
                    lease.state().stale = true;
                }
            }
        }
    }

    /// Takes the unspent credits of keys not spent from since `idle_since` (of every key, when
    /// `None`), to give back to the database, and forgets the keys that hold nothing. A key
    /// whose lease is being taken at this moment is left for the next time.
    pub fn take_unspent(&self, idle_since: Option<OffsetDateTime>) -> Vec<UnspentLease> {
        let mut unspent = Vec::new();
        let mut leases = self.write();
        leases.retain(|key_id, lease| {
            let Ok(_leasing) = lease.leasing.try_lock() else {
                return true;
            };
            let mut state = lease.state();
            let idle = match (idle_since, state.last_spent) {
                (Some(since), Some(last)) => last <= since,
                _ => true,
            };
            if !idle {
                return true;
            }
            unspent.extend(state.take_unspent(*key_id));
            state.synced = false;
            drop(state);
            // Nobody else holds it: a request that wants it now goes through the map, which
            // this holds. Otherwise it stays, empty, for whoever holds it.
            Arc::strong_count(lease) > 1
        });
        unspent
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicI64, Ordering};

    use gatekey_core::api_key_credits::{plan_lease, StoredBalance};

    use super::*;

    /// A store holding one key's balance in memory, counting its lease transactions.
    #[derive(Default)]
    struct MemoryStore {
        balance: Mutex<Option<StoredBalance>>,
        leases: AtomicI64,
    }

    impl MemoryStore {
        fn with(remaining: i64) -> Self {
            Self {
                balance: Mutex::new(Some(StoredBalance {
                    remaining: Some(remaining),
                    refill: None,
                    refilled_at: None,
                    generation: 0,
                })),
                leases: AtomicI64::new(0),
            }
        }

        fn remaining(&self) -> i64 {
            self.balance.lock().unwrap().unwrap().remaining.unwrap()
        }
    }

    impl CreditLeaseStore for MemoryStore {
        async fn lease_credits(
            &self,
            _: i64,
            returned: Option<UnspentLease>,
            needed: i64,
            now: OffsetDateTime,
        ) -> StoreResult<Option<LeaseOutcome>> {
            self.leases.fetch_add(1, Ordering::Relaxed);
            let mut balance = self.balance.lock().unwrap();
            let Some(stored) = *balance else {
                return Ok(None);
            };
            let outcome = plan_lease(stored, returned, needed, now);
            if let LeaseOutcome::Leased(plan) = outcome {
                *balance = Some(StoredBalance {
                    remaining: Some(plan.remaining),
                    refill: plan.refill,
                    refilled_at: plan.refilled_at,
                    generation: plan.generation,
                });
            }
            Ok(Some(outcome))
        }

        async fn return_credits(&self, unspent: &[UnspentLease]) -> StoreResult<()> {
            let mut balance = self.balance.lock().unwrap();
            let stored = balance.as_mut().unwrap();
            for lease in unspent {
                if lease.generation == stored.generation {
                    stored.remaining = stored.remaining.map(|r| r + lease.credits);
                }
            }
            Ok(())
        }
    }

    fn now() -> OffsetDateTime {
        OffsetDateTime::UNIX_EPOCH + Duration::days(20_000)
    }

    #[tokio::test]
    async fn a_thousand_concurrent_spends_of_a_hundred_credits() {
        let store = Arc::new(MemoryStore::with(100));
        let ledger = Arc::new(CreditLedger::default());
        let spends = (0..1_000).map(|_| {
            let (store, ledger) = (store.clone(), ledger.clone());
            tokio::spawn(async move { ledger.spend(&*store, 1, 1, now()).await.unwrap() })
        });
        let mut spent = 0;
        for spend in spends {
            if matches!(spend.await.unwrap(), Spend::Spent { .. }) {
                spent += 1;
            }
        }
        assert_eq!(spent, 100);
        assert_eq!(store.remaining(), 0);
        assert!(
            store.leases.load(Ordering::Relaxed) < 60,
            "leases, not a transaction per request"
        );
    }

    #[tokio::test]
    async fn unspent_credits_go_back_when_idle_and_a_stale_lease_with_the_next() {
        let store = MemoryStore::with(100);
        let ledger = CreditLedger::default();
        let t = now();
        assert_eq!(
            ledger.spend(&store, 1, 1, t).await.unwrap(),
            Spend::Spent { remaining: 99 }
        );
        assert_eq!(store.remaining(), 90);
        assert!(
            ledger
                .take_unspent(Some(t - Duration::seconds(5)))
                .is_empty(),
            "not idle yet"
        );
        let back = ledger.take_unspent(Some(t));
        assert_eq!(back.len(), 1);
        store.return_credits(&back).await.unwrap();
        assert_eq!(store.remaining(), 99);
        ledger.spend(&store, 1, 3, t).await.unwrap();
        assert_eq!(store.remaining(), 90, "9 leased (3 spent, 6 held)");
        ledger.invalidate(&[Invalidation::ApiKey(1)]);
        ledger.spend(&store, 1, 1, t).await.unwrap();
        assert_eq!(
            store.remaining(),
            87,
            "the 6 held came back with the next lease, of 9"
        );
        let held = ledger.take_unspent(None);
        assert_eq!(held.iter().map(|l| l.credits).sum::<i64>(), 8);
    }

    #[tokio::test]
    async fn the_next_lease_is_taken_before_the_last_runs_out() {
        let store = MemoryStore::with(100_000);
        let ledger = CreditLedger::default();
        let t = now();
        ledger.spend(&store, 1, 1, t).await.unwrap();
        assert_eq!(store.leases.load(Ordering::Relaxed), 1);
        assert_eq!(store.remaining(), 99_000, "a lease of 1,000");
        for _ in 0..499 {
            ledger.spend(&store, 1, 1, t).await.unwrap();
        }
        assert_eq!(store.leases.load(Ordering::Relaxed), 1, "500 of 1,000 left");
        assert_eq!(
            ledger.spend(&store, 1, 1, t).await.unwrap(),
            Spend::Spent {
                remaining: 100_000 - 501
            },
            "spent from the old lease, the next one taken after it"
        );
        assert_eq!(store.leases.load(Ordering::Relaxed), 2);
        assert_eq!(store.remaining(), 98_000);
        let held = ledger.take_unspent(None);
        assert_eq!(
            held.iter().map(|l| l.credits).sum::<i64>(),
            499 + 1_000,
            "what was left of the first lease and all of the second"
        );
    }

    #[tokio::test]
    async fn an_exhausted_key_is_refused_from_memory_for_a_moment() {
        let store = MemoryStore::with(1);
        let ledger = CreditLedger::default();
        let t = now();
        assert!(matches!(
            ledger.spend(&store, 1, 1, t).await.unwrap(),
            Spend::Spent { remaining: 0 }
        ));
        assert!(matches!(
            ledger.spend(&store, 1, 1, t).await.unwrap(),
            Spend::Exhausted { refill_at: None }
        ));
        let asked = store.leases.load(Ordering::Relaxed);
        for _ in 0..10 {
            ledger.spend(&store, 1, 1, t).await.unwrap();
        }
        assert_eq!(store.leases.load(Ordering::Relaxed), asked, "no database");
        ledger
            .spend(&store, 1, 1, t + EXHAUSTED_RECHECK)
            .await
            .unwrap();
        assert_eq!(
            store.leases.load(Ordering::Relaxed),
            asked + 1,
            "asked again"
        );
    }
}
