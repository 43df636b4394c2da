//! Metering a request: the API key's own rate limits, its account's, and the key's credits,
//! in that order, in one place for the REST API, the forward-auth endpoint and the verify
//! API. A request a limit refuses spends no credit; the account's limit is not counted for a
//! request the key's own limit refuses (so that one limited key cannot use up its account's
//! limit), while a request the account's limit refuses has been counted by the key's.

pub mod credits;
pub mod policy;

use gatekey_core::principal::Principal;
use time::OffsetDateTime;

use self::credits::Spend;
use self::policy::KeyPolicy;
use crate::error::ApiError;
use crate::rate_limit::RateDecision;
use crate::state::AppState;

/// What metering decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// The request may go on.
    Allowed,
    /// A rate limit refused it (`rate` says which).
    RateLimited,
    /// The key has no credits left for it.
    UsageExceeded {
        /// When the key is next refilled, if it is.
        refill_at: Option<OffsetDateTime>,
    },
}

/// The outcome of metering one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Admission {
    /// The limit the `X-Ratelimit-*` headers describe: the one that refused, or the tightest
    /// (fewest requests left) of the key's and the account's.
    pub rate: RateDecision,
    /// The decision.
    pub verdict: Verdict,
    /// For a key with credits: what is left as this server knows it (see [`Spend::Spent`]).
    pub credits_remaining: Option<i64>,
}

impl Admission {
    /// The refusal to answer, if the request may not go on: `429 rate_limited` or
    /// `429 usage_exceeded`, each with `Retry-After` when a wait helps.
    pub fn refusal(&self, now: OffsetDateTime) -> Option<ApiError> {
        match self.verdict {
            Verdict::Allowed => None,
            Verdict::RateLimited => Some(ApiError::rate_limited(self.rate.retry_after)),
            Verdict::UsageExceeded { refill_at } => Some(ApiError::usage_exceeded(
                refill_at.map(|at| seconds_until(now, at)),
            )),
        }
    }
}

/// Whole seconds from `now` until `at`, at least 1.
fn seconds_until(now: OffsetDateTime, at: OffsetDateTime) -> u64 {
    let seconds = (at - now).whole_seconds() + i64::from((at - now).subsec_nanoseconds() > 0);
    u64::try_from(seconds).unwrap_or(1).max(1)
}

/// Meters one request of `principal`, whose credential is an API key with `policy` when it
/// has one, costing `cost` credits (0: free). Storage failing while credits are leased is
/// `503`.
pub async fn admit(
    state: &AppState,
    principal: &Principal,
    policy: Option<&KeyPolicy>,
    cost: u32,
) -> Result<Admission, ApiError> {
    let now = state.clock.now();
    let limited = policy.filter(|p| !p.limits.is_empty());
    let key_rate = match limited {
        Some(policy) => {
            let decision = state
                .rate_limiter
                .check_key(policy.key_id, &policy.limits, now)
                .await;
            if !decision.allowed {
                state.metrics.rate_limited(&principal.account.slug);
                return Ok(Admission {
                    rate: decision,
                    verdict: Verdict::RateLimited,
                    credits_remaining: None,
                });
            }
            Some(decision)
        }
        None => None,
    };
    let account_rate = state.rate_limiter.check(principal.account.id, now).await;
    if !account_rate.allowed {
        state.metrics.rate_limited(&principal.account.slug);
        return Ok(Admission {
            rate: account_rate,
            verdict: Verdict::RateLimited,
            credits_remaining: None,
        });
    }
    let rate = key_rate.map_or(account_rate, |key| account_rate.tighter(key));
    let admission = |verdict, credits_remaining| Admission {
        rate,
        verdict,
        credits_remaining,
    };
    let Some(policy) = policy.filter(|p| p.credited && cost > 0) else {
        return Ok(admission(Verdict::Allowed, None));
    };
    let spent = state
        .credits
        .spend(&state.store, policy.key_id, i64::from(cost), now)
        .await?;
    Ok(match spent {
        Spend::Spent { remaining } => admission(Verdict::Allowed, Some(remaining)),
        Spend::Unlimited => admission(Verdict::Allowed, None),
        Spend::Exhausted { refill_at } => {
            state.metrics.usage_exceeded();
            admission(Verdict::UsageExceeded { refill_at }, Some(0))
        }
    })
}
