//! Fixed one-second, one-minute and one-hour windows counted in Redis, by one Lua script that
//! reads the windows, grants what fits under every limit and adds it, atomically. A window
//! whose limit is 0 is neither read nor written.
//!
//! Checks of one subject are batched, the way the token endpoint batches its writes: while a
//! call for a subject is in flight, further checks of that subject wait and go together in the
//! next call, which asks for as many requests as are waiting. A busy account or key costs
//! Redis one call per round trip per replica, not one per request, and the count stays exact:
//! the script grants the first `n` that fit and refuses the rest.

use std::sync::{Arc, Mutex, PoisonError};

use gatekey_core::api_key_usage::KeyLimits;
use moka::policy::EvictionPolicy;
use moka::sync::Cache;
use time::OffsetDateTime;
use tokio::sync::oneshot;

use super::{SharedRedis, Unshared};

/// Subjects batched at once; an idle subject is forgotten after a minute.
const MAX_SUBJECTS: u64 = 100_000;

/// `KEYS`: the second, minute and hour windows. `ARGV`: requests asked, then the per-second,
/// per-minute and per-hour limits (0: off). Returns the requests granted and the windows'
/// counts before.
const WINDOWS_SCRIPT: &str = r"
local asked = tonumber(ARGV[1])
local granted = asked
local counts = {0, 0, 0}
local ttl = {2, 61, 3601}
for i = 1, 3 do
  local limit = tonumber(ARGV[i + 1])
  if limit > 0 then
    counts[i] = tonumber(redis.call('GET', KEYS[i]) or '0')
    granted = math.min(granted, math.max(limit - counts[i], 0))
  end
end
if granted > 0 then
  for i = 1, 3 do
    if tonumber(ARGV[i + 1]) > 0 then
      if redis.call('INCRBY', KEYS[i], granted) == granted then redis.call('EXPIRE', KEYS[i], ttl[i]) end
    end
  end
end
return {granted, counts[1], counts[2], counts[3]}
";

/// Limits per window; 0 turns a window off.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct WindowLimits {
    /// Requests per wall-clock second.
    pub per_second: u32,
    /// Requests per wall-clock minute.
    pub per_minute: u32,
    /// Requests per wall-clock hour.
    pub per_hour: u32,
}

impl From<&KeyLimits> for WindowLimits {
    /// An API key's own limits; a window it has no limit for is off.
    fn from(limits: &KeyLimits) -> Self {
        Self {
            per_second: limits.per_second.unwrap_or(0),
            per_minute: limits.per_minute.unwrap_or(0),
            per_hour: limits.per_hour.unwrap_or(0),
        }
    }
}

impl WindowLimits {
    /// Whether every window is off.
    pub fn is_off(&self) -> bool {
        self.per_second == 0 && self.per_minute == 0 && self.per_hour == 0
    }
}

/// One request's count: whether it was granted, and the windows' counts after it (or, when
/// refused, as they stand). A window that is off counts 0.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counted {
    /// Whether the request fits under every limit.
    pub granted: bool,
    /// Requests counted in the second window.
    pub second: u32,
    /// Requests counted in the minute window.
    pub minute: u32,
    /// Requests counted in the hour window.
    pub hour: u32,
}

/// A check waiting for the next call: when, under which limits, and where the answer goes.
type Waiting = (
    OffsetDateTime,
    WindowLimits,
    oneshot::Sender<Result<Counted, Unshared>>,
);

#[derive(Default)]
struct Batch {
    waiting: Vec<Waiting>,
    flying: bool,
}

/// The windows of one kind of subject (accounts, API keys), counted in Redis.
pub struct SharedWindows {
    redis: Arc<SharedRedis>,
    kind: &'static str,
    script: Arc<redis::Script>,
    batches: Cache<i64, Arc<Mutex<Batch>>>,
}

impl std::fmt::Debug for SharedWindows {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SharedWindows")
            .field("kind", &self.kind)
            .finish_non_exhaustive()
    }
}

impl SharedWindows {
    /// Windows of `kind` (a word in the keys), counted in `redis`.
    pub fn new(redis: Arc<SharedRedis>, kind: &'static str) -> Self {
        Self {
            redis,
            kind,
            script: Arc::new(redis::Script::new(WINDOWS_SCRIPT)),
            batches: Cache::builder()
                .max_capacity(MAX_SUBJECTS)
                .time_to_idle(std::time::Duration::from_secs(60))
                .eviction_policy(EvictionPolicy::lru())
                .build(),
        }
    }

    /// Counts one request of `subject` at `now` under `limits`, with the other replicas'
    /// requests. Checks batched together are counted under the limits of the latest.
    pub async fn count(
        self: &Arc<Self>,
        subject: i64,
        limits: WindowLimits,
        now: OffsetDateTime,
    ) -> Result<Counted, Unshared> {
        let (sender, answer) = oneshot::channel();
        let batch = self.batches.get_with(subject, Arc::default);
        let lead = {
            let mut waiting = lock(&batch);
            waiting.waiting.push((now, limits, sender));
            !std::mem::replace(&mut waiting.flying, true)
        };
        if lead {
            // A task of its own: the request that started the flight may be cancelled, the
            // others still wait for its answer.
            tokio::spawn(self.clone().fly(subject, batch));
        }
        answer
            .await
            .unwrap_or(Err(Unshared))
            .map_err(|Unshared| self.redis.fell_back())
    }

    async fn fly(self: Arc<Self>, subject: i64, batch: Arc<Mutex<Batch>>) {
        loop {
            let waiting = {
                let mut batch = lock(&batch);
                if batch.waiting.is_empty() {
                    batch.flying = false;
                    return;
                }
                std::mem::take(&mut batch.waiting)
            };
            let now = waiting
                .iter()
                .map(|(at, _, _)| *at)
                .max()
                .unwrap_or(OffsetDateTime::UNIX_EPOCH);
            let limits = waiting
                .last()
                .map(|(_, limits, _)| *limits)
                .unwrap_or_default();
            let asked = i64::try_from(waiting.len()).unwrap_or(i64::MAX);
            let answer = self.ask(subject, asked, limits, now).await;
            for (index, (_, _, sender)) in waiting.into_iter().enumerate() {
                let index = u32::try_from(index).unwrap_or(u32::MAX);
                let _ = sender.send(answer.map(|(granted, before)| {
                    let granted_here = index < granted;
                    let counted = if granted_here { index + 1 } else { granted };
                    let after = |count: u32, limit: u32| {
                        if limit == 0 {
                            0
                        } else {
                            count.saturating_add(counted)
                        }
                    };
                    Counted {
                        granted: granted_here,
                        second: after(before.second, limits.per_second),
                        minute: after(before.minute, limits.per_minute),
                        hour: after(before.hour, limits.per_hour),
                    }
                }));
            }
        }
    }

    /// Asks Redis for `asked` requests under `limits`: how many it granted, and the windows'
    /// counts before.
    async fn ask(
        &self,
        subject: i64,
        asked: i64,
        limits: WindowLimits,
        now: OffsetDateTime,
    ) -> Result<(u32, Counted), Unshared> {
        let second = now.unix_timestamp();
        let minute = second.div_euclid(60);
        let hour = second.div_euclid(3600);
        let subject = subject.to_string();
        let keys = [
            self.redis.key(self.kind, &subject, &format!(":s:{second}")),
            self.redis.key(self.kind, &subject, &format!(":m:{minute}")),
            self.redis.key(self.kind, &subject, &format!(":h:{hour}")),
        ];
        let keys = [keys[0].as_str(), keys[1].as_str(), keys[2].as_str()];
        let args = [
            asked,
            i64::from(limits.per_second),
            i64::from(limits.per_minute),
            i64::from(limits.per_hour),
        ];
        let (granted, second, minute, hour): (i64, i64, i64, i64) =
            self.redis.run(&self.script, &keys, &args).await?;
        let clamp = |value: i64| u32::try_from(value.max(0)).unwrap_or(u32::MAX);
        let before = Counted {
            granted: false,
            second: clamp(second),
            minute: clamp(minute),
            hour: clamp(hour),
        };
        Ok((clamp(granted), before))
    }
}

fn lock(batch: &Mutex<Batch>) -> std::sync::MutexGuard<'_, Batch> {
    batch.lock().unwrap_or_else(PoisonError::into_inner)
}
