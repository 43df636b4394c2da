//! The guess throttles (`login_throttle`), counted in Redis: one sorted set per
//! subject and per client address, holding a member per guess scored by when it was
//! reserved. A guess being checked is a member `p:<id>`; a wrong one becomes `f:<id>` and stays
//! until it leaves the window. Reserving is one script that drops what left the window, counts
//! what is left against the limit and adds the new member, atomically, so that guesses from
//! every replica share one limit.
//!
//! Settling (right, wrong, not checked) is a second script, sent without waiting: its callers
//! are not async, and a settle that never arrives leaves the member counted until the window
//! passes, which is the safe side (a guess dropped unsettled counts as wrong anyway).
//!
//! Subjects and addresses are stored as SHA-256 digests: no email or address is written to
//! Redis.

use std::sync::Arc;

use time::OffsetDateTime;

use super::{SharedRedis, Unshared};

/// How a shared throttle counts: guesses per subject and per address within a window.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GuessLimits {
    /// Guesses per subject within the window (failures plus guesses being checked).
    pub per_subject: u32,
    /// Guesses per client address within the window; `None` counts no addresses.
    pub per_address: Option<u32>,
    /// The window, in seconds.
    pub window: u64,
}

/// A guess refused by the shared count.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refused {
    /// The subject's limit refused it; seconds to wait.
    BySubject(u64),
    /// The address's limit refused it; seconds to wait.
    ByAddress(u64),
}

/// `KEYS`: the subject's set, then (optional) the address's set. `ARGV`: now and the window
/// (milliseconds), the subject's and the address's limits, the new guess's id. Returns
/// `{0, 0}` when reserved, else `{1 (subject) or 2 (address), milliseconds to wait}`.
const RESERVE_SCRIPT: &str = r"
local now = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
local function wait(key, limit)
  redis.call('ZREMRANGEBYSCORE', key, '-inf', now - window)
  local entries = redis.call('ZRANGE', key, 0, -1, 'WITHSCORES')
  if #entries / 2 < limit then return -1 end
  local failures, oldest = 0, nil
  for i = 1, #entries, 2 do
    if string.sub(entries[i], 1, 2) == 'f:' then
      failures = failures + 1
      local at = tonumber(entries[i + 1])
      if oldest == nil or at < oldest then oldest = at end
    end
  end
  if failures >= limit then return oldest + window - now end
  return 1000
end
if #KEYS == 2 then
  local address = wait(KEYS[2], tonumber(ARGV[4]))
  if address >= 0 then return {2, address} end
end
local subject = wait(KEYS[1], tonumber(ARGV[3]))
if subject >= 0 then return {1, subject} end
for i = 1, #KEYS do
  redis.call('ZADD', KEYS[i], now, 'p:' .. ARGV[5])
  redis.call('PEXPIRE', KEYS[i], window)
end
return {0, 0}
";

/// `KEYS` as reserved. `ARGV`: the guess's id, the outcome (0: not checked, 1: wrong, 2: right
/// and the subject's failures forgiven, 3: right), when it was reserved (milliseconds).
const SETTLE_SCRIPT: &str = r"
local outcome = ARGV[2]
for i = 1, #KEYS do
  local removed = redis.call('ZREM', KEYS[i], 'p:' .. ARGV[1])
  if outcome == '1' and removed == 1 then
    redis.call('ZADD', KEYS[i], tonumber(ARGV[3]), 'f:' .. ARGV[1])
  end
end
if outcome == '2' then
  for _, member in ipairs(redis.call('ZRANGE', KEYS[1], 0, -1)) do
    if string.sub(member, 1, 2) == 'f:' then redis.call('ZREM', KEYS[1], member) end
  end
end
return 0
";

/// How a shared guess ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// The secret was never checked: the slot is given back.
    NotChecked = 0,
    /// The secret was wrong.
    Wrong = 1,
    /// The secret was right, and the subject's failures are forgiven.
    RightForgiving = 2,
    /// The secret was right; the failures stay.
    Right = 3,
}

/// One throttle's guesses, counted in Redis.
pub struct SharedGuesses {
    redis: Arc<SharedRedis>,
    kind: &'static str,
    limits: GuessLimits,
    reserve: redis::Script,
    settle: Arc<redis::Script>,
}

impl std::fmt::Debug for SharedGuesses {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SharedGuesses")
            .field("kind", &self.kind)
            .finish_non_exhaustive()
    }
}

/// A guess reserved in Redis.
#[derive(Debug)]
pub struct SharedAttempt {
    redis: Arc<SharedRedis>,
    settle: Arc<redis::Script>,
    keys: Vec<String>,
    id: i64,
    reserved_at: i64,
}

impl SharedGuesses {
    /// The guesses of the throttle `kind` (a word in the keys), with `limits`.
    pub fn new(redis: Arc<SharedRedis>, kind: &'static str, limits: GuessLimits) -> Self {
        Self {
            redis,
            kind,
            limits,
            reserve: redis::Script::new(RESERVE_SCRIPT),
            settle: Arc::new(redis::Script::new(SETTLE_SCRIPT)),
        }
    }

    /// Reserves a guess of `subject` from the address counted as `address`, or says how long
    /// to wait; `Err(Unshared)` when Redis could not count it.
    pub async fn reserve(
        &self,
        subject: &[u8; 32],
        address: Option<&[u8; 32]>,
        now: OffsetDateTime,
    ) -> Result<Result<SharedAttempt, Refused>, Unshared> {
        let hex = |digest: &[u8; 32]| {
            digest
                .iter()
                .map(|byte| format!("{byte:02x}"))
                .collect::<String>()
        };
        let mut keys = vec![self
            .redis
            .key("guess", self.kind, &format!(":s:{}", hex(subject)))];
        let ip_limit = match (address, self.limits.per_address) {
            (Some(address), Some(limit)) => {
                keys.push(
                    self.redis
                        .key("guess", self.kind, &format!(":a:{}", hex(address))),
                );
                limit
            }
            _ => 0,
        };
        let now_millis = i64::try_from(now.unix_timestamp_nanos() / 1_000_000).unwrap_or(0);
        let window = i64::try_from(self.limits.window.saturating_mul(1000)).unwrap_or(i64::MAX);
        let id = rand::random::<i64>() & i64::MAX;
        let args = [
            now_millis,
            window,
            i64::from(self.limits.per_subject),
            i64::from(ip_limit),
            id,
        ];
        let key_refs: Vec<&str> = keys.iter().map(String::as_str).collect();
        let (refused, wait_millis): (i64, i64) = self
            .redis
            .run(&self.reserve, &key_refs, &args)
            .await
            .map_err(|Unshared| self.redis.fell_back())?;
        let retry_after = u64::try_from((wait_millis + 999) / 1000)
            .unwrap_or(1)
            .max(1);
        Ok(match refused {
            0 => Ok(SharedAttempt {
                redis: self.redis.clone(),
                settle: self.settle.clone(),
                keys,
                id,
                reserved_at: now_millis,
            }),
            2 => Err(Refused::ByAddress(retry_after)),
            _ => Err(Refused::BySubject(retry_after)),
        })
    }
}

impl SharedAttempt {
    /// Settles the guess, without waiting for Redis.
    pub fn settle(self, outcome: Outcome) {
        // Outside a runtime (a test dropping an attempt late) nothing can be sent; the member
        // then counts until the window passes.
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return;
        };
        runtime.spawn(async move {
            let keys: Vec<&str> = self.keys.iter().map(String::as_str).collect();
            let args = [self.id, outcome as i64, self.reserved_at];
            // A failure is the breaker's to log; the member then stays until the window passes
            // (not a fallback: nothing is counted here instead).
            let _: Result<i64, Unshared> = self.redis.run(&self.settle, &keys, &args).await;
        });
    }
}
