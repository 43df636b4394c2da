//! Guessing protection for secrets a person or program types: passwords, device user codes,
//! client secrets. Failures are counted per subject (an email, a user, a client) and per client
//! IP over a sliding window. An attempt takes its slot *before* the secret is checked and
//! settles it afterwards, so concurrent guesses cannot all pass the check before any failure is
//! recorded: at most `limit` guesses per subject are ever evaluated in a window.
//!
//! The client IP is checked first, and a subject is only looked at (and only remembered) once
//! the IP has a slot: a request refused by the IP limit costs the subject map nothing. IPv6
//! addresses count per /64 ([`counting_key`]).
//!
//! The maps are bounded caches: an entry idle for the whole window is dropped (all its failures
//! are older than the window anyway). The subject map holds at most [`MAX_TRACKED`] subjects and
//! then fails closed: a guess for a subject it does not know yet is refused until entries
//! expire, rather than evicting a subject whose failures must still count. The IP map evicts the
//! least recently used address past [`MAX_TRACKED`] (the subject limit still holds).
//!
//! Counted in this process, or, with `rate_limit.backend = "redis"`, in Redis for every
//! replica together ([`crate::shared_limits::guesses`]); while Redis fails, in this process.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, MutexGuard};

use moka::policy::EvictionPolicy;
use moka::sync::Cache;
use sha2::{Digest, Sha256};
use time::{Duration, OffsetDateTime};

use crate::client_address::counting_key;
use crate::config::LoginConfig;
use crate::metrics::GuessCounters;
use crate::shared_limits::guesses::{GuessLimits, Outcome, Refused, SharedAttempt, SharedGuesses};
use crate::shared_limits::SharedRedis;

/// Most subjects (or IPs) one counter keeps; about 200 bytes each.
pub const MAX_TRACKED: u64 = 100_000;

/// How a throttle counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ThrottleLimits {
    /// Guesses allowed per subject within the window (failures plus attempts in flight).
    pub per_subject: u32,
    /// Guesses allowed per client IP within the window; `None` counts no IPs.
    pub per_ip: Option<u32>,
    /// The window, in seconds.
    pub window: u64,
    /// Whether a success forgets the subject's failures. Right for passwords and client
    /// secrets (whoever knows the secret need not guess it); wrong for device user codes, where
    /// entering one's own valid code must not buy more guesses at others'.
    pub forgive_on_success: bool,
}

impl ThrottleLimits {
    /// The sign-in limits of the configuration.
    pub fn login(config: &LoginConfig) -> Self {
        Self {
            per_subject: config.max_failures_per_email,
            per_ip: Some(config.max_failures_per_ip),
            window: config.failure_window,
            forgive_on_success: true,
        }
    }
}

/// A refusal: how long until a guess may be tried again, and which limit refused it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Throttled {
    /// Seconds to wait.
    pub retry_after: u64,
    /// The limit that refused.
    pub by: RefusedBy,
}

/// Which limit refused a guess: callers key their once-per-window audit by it, so that a flood
/// of distinct subjects refused by one address's limit writes one event, not one per subject.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RefusedBy {
    /// The subject's own limit: the subject has failures (or guesses in flight) in the window.
    Subject,
    /// The client IP's limit.
    Address,
    /// The subject map is full and the subject is new to it.
    Capacity,
}

impl RefusedBy {
    /// Every limit.
    pub const ALL: [Self; 3] = [Self::Subject, Self::Address, Self::Capacity];

    /// The name of the limit, as metrics label it.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Subject => "subject",
            Self::Address => "address",
            Self::Capacity => "capacity",
        }
    }
}

/// Counts guesses; see the module documentation.
#[derive(Debug)]
pub struct GuessThrottle {
    limits: ThrottleLimits,
    window: Duration,
    subjects: Counter,
    ips: Option<Counter>,
    counters: Option<GuessCounters>,
    shared: Option<SharedGuesses>,
}

/// One reserved guess. Settle it with [`Attempt::succeeded`], [`Attempt::failed`] or
/// [`Attempt::not_evaluated`]; dropped unsettled (the request was cancelled while the secret
/// was being checked) it counts as a failure, so cancelling cannot buy free guesses.
#[derive(Debug)]
#[must_use = "an attempt must be settled"]
pub struct Attempt {
    slots: Reserved,
    forgive_on_success: bool,
    settled: bool,
    counters: Option<GuessCounters>,
}

/// Where a guess holds its slots.
#[derive(Debug)]
enum Reserved {
    /// In this process's counters.
    Local {
        subject: Arc<Mutex<Slots>>,
        ip: Option<Arc<Mutex<Slots>>>,
        reserved_at: OffsetDateTime,
    },
    /// In Redis; taken out when settled.
    Shared(Option<SharedAttempt>),
}

#[derive(Debug)]
struct Counter {
    limit: u32,
    /// How many keys a counter that fails closed holds before it refuses new ones.
    full_at: Option<u64>,
    entries: Cache<[u8; 32], Arc<Mutex<Slots>>>,
}

#[derive(Debug, Default)]
struct Slots {
    failures: VecDeque<OffsetDateTime>,
    in_flight: u32,
}

impl GuessThrottle {
    /// A throttle with these limits.
    pub fn new(limits: ThrottleLimits) -> Self {
        Self::with_capacity(limits, MAX_TRACKED)
    }

    fn with_capacity(limits: ThrottleLimits, capacity: u64) -> Self {
        let idle = std::time::Duration::from_secs(limits.window.max(1));
        Self {
            window: Duration::seconds(i64::try_from(limits.window).unwrap_or(i64::MAX / 2)),
            subjects: Counter::new(limits.per_subject, idle, capacity, true),
            ips: limits
                .per_ip
                .map(|limit| Counter::new(limit, idle, capacity, false)),
            limits,
            counters: None,
            shared: None,
        }
    }

    /// Counts this throttle's guesses in `redis`, with every replica's, under the name `kind`.
    pub fn shared_in(mut self, redis: Option<&Arc<SharedRedis>>, kind: &'static str) -> Self {
        let limits = GuessLimits {
            per_subject: self.limits.per_subject,
            per_address: self.limits.per_ip,
            window: self.limits.window,
        };
        self.shared = redis.map(|redis| SharedGuesses::new(redis.clone(), kind, limits));
        self
    }

    /// Counts this throttle's failures and refusals into `counters`.
    pub fn counted_by(mut self, counters: GuessCounters) -> Self {
        for by in RefusedBy::ALL {
            counters.start_at_zero(by.as_str());
        }
        self.counters = Some(counters);
        self
    }

    /// The reservation of [`Self::reserve`], which also counts its refusals.
    fn try_reserve(
        &self,
        subject: &str,
        ip: Option<&str>,
        now: OffsetDateTime,
    ) -> Result<Attempt, Throttled> {
        let ip = match (&self.ips, ip) {
            (Some(ips), Some(ip)) => {
                let key = key("ip", &counting_key(ip).to_string());
                let slots = ips
                    .reserve(key, self.window, now)
                    .map_err(|throttled| Throttled {
                        by: RefusedBy::Address,
                        ..throttled
                    })?;
                Some(slots)
            }
            _ => None,
        };
        let subject = match self
            .subjects
            .reserve(key("subject", subject), self.window, now)
        {
            Ok(subject) => subject,
            Err(throttled) => {
                if let Some(ip) = &ip {
                    release(ip);
                }
                return Err(throttled);
            }
        };
        Ok(self.attempt(Reserved::Local {
            subject,
            ip,
            reserved_at: now,
        }))
    }

    fn attempt(&self, slots: Reserved) -> Attempt {
        Attempt {
            slots,
            forgive_on_success: self.limits.forgive_on_success,
            settled: false,
            counters: self.counters.clone(),
        }
    }

    /// The reservation in Redis, when the throttle is shared and Redis answers.
    async fn try_reserve_shared(
        &self,
        subject: &str,
        ip: Option<&str>,
        now: OffsetDateTime,
    ) -> Option<Result<Attempt, Throttled>> {
        let shared = self.shared.as_ref()?;
        let address = match (&self.ips, ip) {
            (Some(_), Some(ip)) => Some(key("ip", &counting_key(ip).to_string())),
            _ => None,
        };
        let reserved = shared
            .reserve(&key("subject", subject), address.as_ref(), now)
            .await
            .ok()?;
        Some(match reserved {
            Ok(attempt) => Ok(self.attempt(Reserved::Shared(Some(attempt)))),
            Err(Refused::BySubject(retry_after)) => Err(Throttled {
                retry_after,
                by: RefusedBy::Subject,
            }),
            Err(Refused::ByAddress(retry_after)) => Err(Throttled {
                retry_after,
                by: RefusedBy::Address,
            }),
        })
    }

    /// Reserves one guess for `subject` from `ip` at `now`, or says how long to wait. The IP
    /// takes its slot first; the subject is not touched when the IP is refused.
    /// Shared throttles ask Redis, and count in this process when Redis fails.
    pub async fn reserve(
        &self,
        subject: &str,
        ip: Option<&str>,
        now: OffsetDateTime,
    ) -> Result<Attempt, Throttled> {
        let reserved = match self.try_reserve_shared(subject, ip, now).await {
            Some(reserved) => reserved,
            None => self.try_reserve(subject, ip, now),
        };
        if let (Err(throttled), Some(counters)) = (&reserved, &self.counters) {
            counters.refused(throttled.by.as_str());
        }
        reserved
    }
}

impl Attempt {
    /// The secret was right.
    pub fn succeeded(mut self) {
        self.settled = true;
        match &mut self.slots {
            Reserved::Local { subject, ip, .. } => {
                let mut subject = lock(subject);
                subject.in_flight = subject.in_flight.saturating_sub(1);
                if self.forgive_on_success {
                    subject.failures.clear();
                }
                drop(subject);
                if let Some(ip) = ip {
                    release(ip);
                }
            }
            Reserved::Shared(attempt) => {
                if let Some(attempt) = attempt.take() {
                    attempt.settle(if self.forgive_on_success {
                        Outcome::RightForgiving
                    } else {
                        Outcome::Right
                    });
                }
            }
        }
    }

    /// The secret was wrong: the reserved slot becomes a failure until the window passes.
    pub fn failed(mut self) {
        self.settled = true;
        self.record_failure();
    }

    /// The secret was never checked (the server was busy, or storage failed): the slot is
    /// given back.
    pub fn not_evaluated(mut self) {
        self.settled = true;
        match &mut self.slots {
            Reserved::Local { subject, ip, .. } => {
                release(subject);
                if let Some(ip) = ip {
                    release(ip);
                }
            }
            Reserved::Shared(attempt) => {
                if let Some(attempt) = attempt.take() {
                    attempt.settle(Outcome::NotChecked);
                }
            }
        }
    }

    fn record_failure(&mut self) {
        if let Some(counters) = &self.counters {
            counters.failed();
        }
        match &mut self.slots {
            Reserved::Local {
                subject,
                ip,
                reserved_at,
            } => {
                for slots in std::iter::once(&*subject).chain(ip.iter()) {
                    let mut slots = lock(slots);
                    slots.in_flight = slots.in_flight.saturating_sub(1);
                    slots.failures.push_back(*reserved_at);
                }
            }
            Reserved::Shared(attempt) => {
                if let Some(attempt) = attempt.take() {
                    attempt.settle(Outcome::Wrong);
                }
            }
        }
    }
}

impl Drop for Attempt {
    fn drop(&mut self) {
        if !self.settled {
            self.record_failure();
        }
    }
}

impl Counter {
    /// A counter of at most `capacity` keys. One that fails closed refuses new keys when full;
    /// the others evict the least recently used key.
    fn new(limit: u32, idle: std::time::Duration, capacity: u64, fail_closed: bool) -> Self {
        Self {
            limit,
            full_at: fail_closed.then_some(capacity),
            entries: Cache::builder()
                // A counter that fails closed refuses new keys at `capacity`; the cache's own
                // bound sits above it, so concurrent admissions never make it evict.
                .max_capacity(if fail_closed {
                    capacity.saturating_mul(2)
                } else {
                    capacity
                })
                .time_to_idle(idle)
                // LRU admits every new entry; the default (TinyLFU) may refuse to admit a
                // subject while the cache is full, which would leave that subject uncounted.
                .eviction_policy(EvictionPolicy::lru())
                .build(),
        }
    }

    fn reserve(
        &self,
        key: [u8; 32],
        window: Duration,
        now: OffsetDateTime,
    ) -> Result<Arc<Mutex<Slots>>, Throttled> {
        let entry = match self.entries.get(&key) {
            Some(entry) => entry,
            None => {
                if let Some(full_at) = self.full_at {
                    // Bring the count up to date (expired entries leave) before trusting it.
                    self.entries.run_pending_tasks();
                    if self.entries.entry_count() >= full_at {
                        return Err(Throttled {
                            retry_after: u64::try_from(window.whole_seconds()).unwrap_or(1).max(1),
                            by: RefusedBy::Capacity,
                        });
                    }
                }
                self.entries.get_with(key, Arc::default)
            }
        };
        let mut slots = lock(&entry);
        while slots.failures.front().is_some_and(|at| *at + window <= now) {
            slots.failures.pop_front();
        }
        let used =
            u64::try_from(slots.failures.len()).unwrap_or(u64::MAX) + u64::from(slots.in_flight);
        if used >= u64::from(self.limit) {
            // Failures alone fill the limit: wait for the oldest to leave the window. Otherwise
            // guesses in flight hold the rest, and they settle within a second.
            let retry_after = match slots.failures.front() {
                Some(oldest) if slots.failures.len() >= self.limit as usize => {
                    u64::try_from((*oldest + window - now).whole_seconds()).unwrap_or(0)
                }
                _ => 1,
            };
            return Err(Throttled {
                retry_after: retry_after.max(1),
                by: RefusedBy::Subject,
            });
        }
        slots.in_flight += 1;
        drop(slots);
        Ok(entry)
    }
}

fn release(slots: &Mutex<Slots>) {
    let mut slots = lock(slots);
    slots.in_flight = slots.in_flight.saturating_sub(1);
}

fn lock(slots: &Mutex<Slots>) -> MutexGuard<'_, Slots> {
    slots
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// A fixed-size key, so that a huge made-up email costs no more memory than a short one.
fn key(kind: &str, value: &str) -> [u8; 32] {
    let mut digest = Sha256::new();
    digest.update(kind.as_bytes());
    digest.update([0]);
    digest.update(value.as_bytes());
    digest.finalize().into()
}

impl Throttled {
    /// The key a once-per-window audit of this refusal goes under: the subject when its own
    /// limit refused, else the client address (or one key for a full map), so that refusals
    /// of many subjects from one address, or of new subjects while the map is full, are
    /// audited once per window rather than once per subject.
    pub fn audit_key(&self, subject: &str, ip: Option<&str>) -> String {
        match (self.by, ip) {
            (RefusedBy::Address, Some(ip)) => format!("address {}", counting_key(ip)),
            (RefusedBy::Capacity, _) => "capacity".to_owned(),
            _ => format!("subject {subject}"),
        }
    }
}

/// Says yes the first time a key is seen within a window, and no until the window has passed:
/// for audit events that must not be flooded (one per client per window, say).
#[derive(Debug)]
pub struct FirstInWindow {
    seen: Cache<[u8; 32], ()>,
}

impl FirstInWindow {
    /// Remembers keys for `window` seconds, at most [`MAX_TRACKED`] of them.
    pub fn new(window: u64) -> Self {
        Self {
            seen: Cache::builder()
                .max_capacity(MAX_TRACKED)
                .time_to_live(std::time::Duration::from_secs(window.max(1)))
                .eviction_policy(EvictionPolicy::lru())
                .build(),
        }
    }

    /// Whether `value` is new in the window; the first caller of several racing gets `true`.
    pub fn first(&self, value: &str) -> bool {
        self.seen
            .entry(key("first", value))
            .or_insert_with(|| ())
            .is_fresh()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn throttle(per_subject: u32, per_ip: u32) -> GuessThrottle {
        GuessThrottle::new(ThrottleLimits {
            per_subject,
            per_ip: Some(per_ip),
            window: 60,
            forgive_on_success: true,
        })
    }

    #[test]
    fn locks_after_the_limit_and_unlocks_after_the_window() {
        let throttle = throttle(2, 10);
        let t0 = OffsetDateTime::UNIX_EPOCH;
        throttle
            .try_reserve("a@x.io", Some("1.2.3.4"), t0)
            .unwrap()
            .failed();
        let later = t0 + Duration::seconds(10);
        throttle
            .try_reserve("a@x.io", Some("1.2.3.4"), later)
            .unwrap()
            .failed();
        assert_eq!(
            throttle.try_reserve("a@x.io", None, later).err(),
            Some(Throttled {
                retry_after: 50,
                by: RefusedBy::Subject
            })
        );
        throttle
            .try_reserve("b@x.io", Some("1.2.3.4"), t0)
            .unwrap()
            .not_evaluated();
        throttle
            .try_reserve("a@x.io", None, t0 + Duration::seconds(61))
            .unwrap()
            .succeeded();
    }

    #[test]
    fn guesses_in_flight_hold_their_slots() {
        let throttle = throttle(3, 100);
        let now = OffsetDateTime::UNIX_EPOCH;
        let held: Vec<Attempt> = (0..3)
            .map(|_| throttle.try_reserve("a@x.io", None, now).unwrap())
            .collect();
        assert_eq!(
            throttle.try_reserve("a@x.io", None, now).err(),
            Some(Throttled {
                retry_after: 1,
                by: RefusedBy::Subject
            }),
            "a fourth guess waits while three are being checked"
        );
        let mut held = held.into_iter();
        held.next().unwrap().not_evaluated();
        let fourth = throttle.try_reserve("a@x.io", None, now).unwrap();
        drop(held);
        drop(fourth);
        assert_eq!(
            throttle.try_reserve("a@x.io", None, now).err(),
            Some(Throttled {
                retry_after: 60,
                by: RefusedBy::Subject
            }),
            "guesses dropped unsettled count as failures"
        );
    }

    #[test]
    fn the_ip_limit_holds_across_subjects_and_success_forgives_the_subject() {
        let throttle = throttle(2, 3);
        let now = OffsetDateTime::UNIX_EPOCH;
        throttle
            .try_reserve("a", Some("192.0.2.1"), now)
            .unwrap()
            .failed();
        throttle
            .try_reserve("a", Some("192.0.2.1"), now)
            .unwrap()
            .succeeded();
        throttle
            .try_reserve("b", Some("192.0.2.1"), now)
            .unwrap()
            .failed();
        throttle
            .try_reserve("c", Some("192.0.2.1"), now)
            .unwrap()
            .failed();
        assert!(throttle.try_reserve("d", Some("192.0.2.1"), now).is_err());
        assert!(throttle.try_reserve("d", Some("192.0.2.2"), now).is_ok());
        let a = throttle.try_reserve("a", None, now);
        assert!(a.is_ok(), "the success cleared a's failures");
        a.unwrap().not_evaluated();
    }

    #[test]
    fn without_forgiveness_a_success_keeps_the_failures() {
        let throttle = GuessThrottle::new(ThrottleLimits {
            per_subject: 2,
            per_ip: None,
            window: 60,
            forgive_on_success: false,
        });
        let now = OffsetDateTime::UNIX_EPOCH;
        throttle.try_reserve("u", None, now).unwrap().failed();
        throttle.try_reserve("u", None, now).unwrap().succeeded();
        throttle.try_reserve("u", None, now).unwrap().failed();
        assert!(throttle.try_reserve("u", None, now).is_err());
    }

    #[test]
    fn the_counter_is_bounded_and_keeps_the_recent_subjects() {
        let counter = Counter::new(1, std::time::Duration::from_secs(60), 100, false);
        let now = OffsetDateTime::UNIX_EPOCH;
        let window = Duration::seconds(60);
        for n in 0..1_000 {
            let slots = counter
                .reserve(key("s", &n.to_string()), window, now)
                .unwrap();
            lock(&slots).in_flight = 0;
            lock(&slots).failures.push_back(now);
        }
        counter.entries.run_pending_tasks();
        assert!(
            counter.entries.entry_count() <= 100,
            "{}",
            counter.entries.entry_count()
        );
        assert!(
            counter.reserve(key("s", "999"), window, now).is_err(),
            "the most recent subject is still counted"
        );
    }

    #[test]
    fn a_refusal_by_the_ip_limit_leaves_the_subjects_alone() {
        let throttle = throttle(5, 1);
        let now = OffsetDateTime::UNIX_EPOCH;
        throttle
            .try_reserve("victim", Some("192.0.2.1"), now)
            .unwrap()
            .failed();
        for n in 0..50 {
            assert!(throttle
                .try_reserve(&format!("random{n}"), Some("192.0.2.1"), now)
                .is_err());
        }
        throttle.subjects.entries.run_pending_tasks();
        assert_eq!(
            throttle.subjects.entries.entry_count(),
            1,
            "refused guesses add no subjects"
        );
    }

    #[test]
    fn a_full_subject_map_refuses_new_subjects_and_keeps_the_failures() {
        let throttle = GuessThrottle::with_capacity(
            ThrottleLimits {
                per_subject: 2,
                per_ip: Some(1),
                window: 60,
                forgive_on_success: true,
            },
            10,
        );
        let now = OffsetDateTime::UNIX_EPOCH;
        for _ in 0..2 {
            throttle.try_reserve("victim", None, now).unwrap().failed();
        }
        for n in 0..9 {
            let ip = format!("192.0.2.{n}");
            throttle
                .try_reserve(&format!("other{n}"), Some(&ip), now)
                .unwrap()
                .failed();
        }
        for n in 0..50 {
            let ip = format!("198.51.100.{n}");
            assert!(
                throttle
                    .try_reserve(&format!("new{n}"), Some(&ip), now)
                    .is_err(),
                "the map is full: new subjects wait"
            );
        }
        assert!(
            throttle
                .try_reserve("victim", Some("203.0.113.1"), now)
                .is_err(),
            "the victim's failures still count"
        );
    }

    #[test]
    fn an_ipv6_subscriber_block_counts_as_one_ip() {
        let throttle = throttle(10, 2);
        let now = OffsetDateTime::UNIX_EPOCH;
        throttle
            .try_reserve("a", Some("2001:db8:1:2::1"), now)
            .unwrap()
            .failed();
        throttle
            .try_reserve("b", Some("2001:db8:1:2::2"), now)
            .unwrap()
            .failed();
        assert!(throttle
            .try_reserve("c", Some("2001:db8:1:2:ffff::3"), now)
            .is_err());
        assert!(throttle
            .try_reserve("c", Some("2001:db8:1:3::1"), now)
            .is_ok());
    }

    #[test]
    fn refusals_say_which_limit_refused() {
        let throttle = throttle(1, 2);
        let now = OffsetDateTime::UNIX_EPOCH;
        throttle
            .try_reserve("a", Some("192.0.2.1"), now)
            .unwrap()
            .failed();
        let by_subject = throttle
            .try_reserve("a", Some("192.0.2.1"), now)
            .unwrap_err();
        assert_eq!(by_subject.by, RefusedBy::Subject);
        throttle
            .try_reserve("b", Some("192.0.2.1"), now)
            .unwrap()
            .failed();
        let by_address = throttle
            .try_reserve("c", Some("192.0.2.1"), now)
            .unwrap_err();
        assert_eq!(by_address.by, RefusedBy::Address);
        assert_eq!(
            by_address.audit_key("c", Some("192.0.2.1")),
            throttle
                .try_reserve("d", Some("192.0.2.1"), now)
                .unwrap_err()
                .audit_key("d", Some("192.0.2.1")),
            "distinct subjects refused by one address share one audit key"
        );
        assert_ne!(
            by_subject.audit_key("a", Some("192.0.2.1")),
            by_subject.audit_key("b", Some("192.0.2.1"))
        );
    }

    #[test]
    fn first_in_window_says_yes_once() {
        let first = FirstInWindow::new(60);
        assert!(first.first("client"));
        assert!(!first.first("client"));
        assert!(first.first("other"));
    }
}
