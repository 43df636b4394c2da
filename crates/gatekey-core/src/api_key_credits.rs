//! Spending a key's credits exactly, on any number of servers, without a database write per
//! request: each server takes a *lease* of credits from the database (one short transaction
//! that locks the key's row), spends it in memory, and gives back what it did not spend. The
//! database never holds more than was not leased, so no two servers can spend the same
//! credit: credits may be under-spent (a server killed with its lease unspent loses it) but
//! never over-spent.
//!
//! A refill replaces the balance at 00:00 UTC each day or on the first of each month, when
//! the next lease is taken. Setting the balance (a refill, an administrator's change) bumps
//! the key's credit *generation*: a lease of an older generation is dropped, not given back,
//! since the balance it was taken from no longer exists.

use std::future::Future;

use time::{Date, Month, OffsetDateTime, Time};

use crate::api_key_usage::{CreditRefill, RefillInterval};
use crate::store::StoreResult;

/// The largest lease taken at once.
pub const MAX_LEASE: i64 = 1_000;

/// How many credits a server leases when it needs `needed` and the database holds
/// `remaining`: a tenth of what is left (at least 1, at most [`MAX_LEASE`]), or `needed` if
/// more, and never more than is left. A tenth keeps the credits a server can strand small
/// next to what others may still spend.
pub fn lease_size(remaining: i64, needed: i64) -> i64 {
    (remaining / 10)
        .clamp(1, MAX_LEASE)
        .max(needed)
        .min(remaining)
        .max(0)
}

/// The refill period `at` falls in: the day, or the month (UTC), as a number that grows with
/// time.
fn period(interval: RefillInterval, at: OffsetDateTime) -> i64 {
    let at = at.to_offset(time::UtcOffset::UTC);
    match interval {
        RefillInterval::Daily => i64::from(at.date().to_julian_day()),
        RefillInterval::Monthly => i64::from(at.year()) * 12 + i64::from(u8::from(at.month())),
    }
}

/// Whether a balance refilled at `refilled_at` (never, if `None`) is due for `refill` at
/// `now`: a later day or month has begun since.
pub fn refill_due(
    refill: CreditRefill,
    refilled_at: Option<OffsetDateTime>,
    now: OffsetDateTime,
) -> bool {
    refilled_at.is_none_or(|at| period(refill.interval, now) > period(refill.interval, at))
}

/// When the next refill after `now` happens: the next 00:00 UTC, or the first of the next
/// month at 00:00 UTC.
pub fn next_refill_at(interval: RefillInterval, now: OffsetDateTime) -> OffsetDateTime {
    let today = now.to_offset(time::UtcOffset::UTC).date();
    let next = match interval {
        RefillInterval::Daily => today.next_day(),
        RefillInterval::Monthly => {
            let (year, month) = match today.month() {
                Month::December => (today.year() + 1, Month::January),
                month => (today.year(), month.next()),
            };
            Date::from_calendar_date(year, month, 1).ok()
        }
    };
    next.map_or(now, |date| date.with_time(Time::MIDNIGHT).assume_utc())
}

/// A key's credits as the lease transaction reads them under the row's lock.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StoredBalance {
    /// What the database holds; `None` is unlimited.
    pub remaining: Option<i64>,
    /// The refill, if any.
    pub refill: Option<CreditRefill>,
    /// When the balance was last refilled.
    pub refilled_at: Option<OffsetDateTime>,
    /// The balance's generation (see the module's documentation).
    pub generation: i64,
}

/// Unspent credits a server gives back, of the generation it leased them in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UnspentLease {
    /// The key.
    pub key_id: i64,
    /// How many credits.
    pub credits: i64,
    /// The generation they were leased in.
    pub generation: i64,
}

/// What a lease transaction writes and answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LeasePlan {
    /// Credits handed to the server.
    pub granted: i64,
    /// What the database holds afterwards.
    pub remaining: i64,
    /// The refill, if any.
    pub refill: Option<CreditRefill>,
    /// When the balance was last refilled, after this transaction.
    pub refilled_at: Option<OffsetDateTime>,
    /// The generation afterwards; the lease belongs to it.
    pub generation: i64,
    /// Whether this transaction refilled the balance.
    pub refilled: bool,
}

/// The outcome of asking for a lease.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LeaseOutcome {
    /// The key has unlimited credits: nothing to lease or count.
    Unlimited,
    /// A lease (possibly of zero credits: the key has none left).
    Leased(LeasePlan),
}

/// Plans one lease transaction on `balance` at `now`: first the unspent credits `returned`
/// are added back if they are of the current generation (dropped otherwise), then a due
/// refill replaces the balance (and bumps the generation), then [`lease_size`] credits, for a
/// request needing `needed`, are taken out.
pub fn plan_lease(
    balance: StoredBalance,
    returned: Option<UnspentLease>,
    needed: i64,
    now: OffsetDateTime,
) -> LeaseOutcome {
    let Some(mut remaining) = balance.remaining else {
        return LeaseOutcome::Unlimited;
    };
    if let Some(unspent) = returned.filter(|r| r.generation == balance.generation) {
        remaining = remaining.saturating_add(unspent.credits.max(0));
    }
    let mut plan = LeasePlan {
        granted: 0,
        remaining,
        refill: balance.refill,
        refilled_at: balance.refilled_at,
        generation: balance.generation,
        refilled: false,
    };
    if let Some(refill) = balance.refill {
        if refill_due(refill, balance.refilled_at, now) {
            plan.remaining = refill.amount;
            plan.refilled_at = Some(now);
            plan.generation = balance.generation.wrapping_add(1);
            plan.refilled = true;
        }
    }
    plan.granted = lease_size(plan.remaining, needed.max(1));
    plan.remaining -= plan.granted;
    LeaseOutcome::Leased(plan)
}

/// The storage side of credit leases.
pub trait CreditLeaseStore: Send + Sync {
    /// In one transaction holding the key's row lock: gives back `returned` (if of the current
    /// generation), applies a due refill, and leases credits for a request needing `needed`
    /// ([`plan_lease`]). `None` when no such key exists.
    fn lease_credits(
        &self,
        key_id: i64,
        returned: Option<UnspentLease>,
        needed: i64,
        now: OffsetDateTime,
    ) -> impl Future<Output = StoreResult<Option<LeaseOutcome>>> + Send;
    /// Gives back unspent credits, each only into the generation it was leased in (dropped
    /// otherwise, and for a key whose credits are now unlimited).
    fn return_credits(
        &self,
        unspent: &[UnspentLease],
    ) -> impl Future<Output = StoreResult<()>> + Send;
}

#[cfg(test)]
mod tests {
    use time::macros::datetime;

    use super::*;

    const DAILY: CreditRefill = CreditRefill {
        amount: 50,
        interval: RefillInterval::Daily,
    };
    const MONTHLY: CreditRefill = CreditRefill {
        amount: 500,
        interval: RefillInterval::Monthly,
    };

    fn balance(remaining: Option<i64>) -> StoredBalance {
        StoredBalance {
            remaining,
            refill: None,
            refilled_at: None,
            generation: 3,
        }
    }

    #[test]
    fn a_lease_is_a_tenth_within_bounds() {
        assert_eq!(lease_size(100, 1), 10);
        assert_eq!(lease_size(9, 1), 1);
        assert_eq!(lease_size(1, 1), 1);
        assert_eq!(lease_size(0, 1), 0);
        assert_eq!(lease_size(1_000_000, 1), MAX_LEASE);
        assert_eq!(
            lease_size(100, 30),
            30,
            "a costly request gets what it needs"
        );
        assert_eq!(lease_size(5, 30), 5, "never more than is left");
    }

    #[test]
    fn leases_of_100_credits_hand_out_exactly_100() {
        let now = datetime!(2030-05-10 12:00 UTC);
        let mut stored = balance(Some(100));
        let mut handed = 0;
        loop {
            let LeaseOutcome::Leased(plan) = plan_lease(stored, None, 1, now) else {
                panic!("credited");
            };
            if plan.granted == 0 {
                break;
            }
            handed += plan.granted;
            stored.remaining = Some(plan.remaining);
        }
        assert_eq!(handed, 100);
        assert_eq!(stored.remaining, Some(0));
    }

    #[test]
    fn unlimited_keys_lease_nothing() {
        let now = datetime!(2030-05-10 12:00 UTC);
        assert_eq!(
            plan_lease(balance(None), None, 1, now),
            LeaseOutcome::Unlimited
        );
    }

    #[test]
    fn a_return_counts_only_in_its_generation() {
        let now = datetime!(2030-05-10 12:00 UTC);
        let stored = balance(Some(0));
        let current = UnspentLease {
            key_id: 1,
            credits: 7,
            generation: 3,
        };
        let LeaseOutcome::Leased(plan) = plan_lease(stored, Some(current), 1, now) else {
            panic!("credited");
        };
        assert_eq!((plan.granted, plan.remaining), (1, 6));
        let stale = UnspentLease {
            generation: 2,
            ..current
        };
        let LeaseOutcome::Leased(plan) = plan_lease(stored, Some(stale), 1, now) else {
            panic!("credited");
        };
        assert_eq!((plan.granted, plan.remaining), (0, 0), "dropped, not added");
    }

    #[test]
    fn a_refill_replaces_the_balance_once_per_period() {
        let noon = datetime!(2030-05-10 12:00 UTC);
        let stored = StoredBalance {
            remaining: Some(3),
            refill: Some(DAILY),
            refilled_at: Some(datetime!(2030-05-10 00:30 UTC)),
            generation: 3,
        };
        let LeaseOutcome::Leased(same_day) = plan_lease(stored, None, 1, noon) else {
            panic!("credited");
        };
        assert!(!same_day.refilled);
        assert_eq!((same_day.granted, same_day.remaining), (1, 2));
        let next_day = datetime!(2030-05-11 00:00 UTC);
        let LeaseOutcome::Leased(refilled) = plan_lease(stored, None, 1, next_day) else {
            panic!("credited");
        };
        assert!(refilled.refilled);
        assert_eq!((refilled.granted, refilled.remaining), (5, 45));
        assert_eq!(refilled.generation, 4);
        assert_eq!(refilled.refilled_at, Some(next_day));
        let old_lease = UnspentLease {
            key_id: 1,
            credits: 2,
            generation: 3,
        };
        let LeaseOutcome::Leased(replaced) = plan_lease(stored, Some(old_lease), 1, next_day)
        else {
            panic!("credited");
        };
        assert_eq!(
            replaced.remaining + replaced.granted,
            50,
            "unspent credits do not carry over a refill"
        );
    }

    #[test]
    fn refills_fall_on_utc_days_and_months() {
        let refilled = Some(datetime!(2030-01-31 23:59 UTC));
        assert!(!refill_due(
            MONTHLY,
            refilled,
            datetime!(2030-01-31 23:59:59 UTC)
        ));
        assert!(refill_due(
            MONTHLY,
            refilled,
            datetime!(2030-02-01 00:00 UTC)
        ));
        assert!(refill_due(DAILY, refilled, datetime!(2030-02-01 00:00 UTC)));
        assert!(refill_due(DAILY, None, datetime!(2030-02-01 00:00 UTC)));
        assert!(
            !refill_due(DAILY, refilled, datetime!(2030-01-31 10:00 UTC)),
            "a clock behind the last refill does not refill"
        );
        assert_eq!(
            next_refill_at(RefillInterval::Daily, datetime!(2030-12-31 08:00 UTC)),
            datetime!(2031-01-01 00:00 UTC)
        );
        assert_eq!(
            next_refill_at(RefillInterval::Monthly, datetime!(2030-12-15 08:00 UTC)),
            datetime!(2031-01-01 00:00 UTC)
        );
        assert_eq!(
            next_refill_at(RefillInterval::Monthly, datetime!(2030-02-15 08:00 +02:00)),
            datetime!(2030-03-01 00:00 UTC)
        );
    }
}
