//! Fixed one-minute and one-second windows counted in Redis, by one Lua script that reads
//! both windows, grants what fits under both limits and adds it, atomically.
//!
//! Checks of one subject are batched, the way the token endpoint batches its writes: while a
//! call for a subject is in flight, further checks of that subject wait and go together in the
//! next call, which asks for as many requests as are waiting. A busy account costs Redis one
//! call per round trip per replica, not one per request, and the count stays exact: the
//! script grants the first `n` that fit and refuses the rest.

use std::sync::{Arc, Mutex, PoisonError};

use moka::policy::EvictionPolicy;
use moka::sync::Cache;
use time::OffsetDateTime;
use tokio::sync::oneshot;

use super::{SharedRedis, Unshared};

/// Subjects batched at once; an idle subject is forgotten after a minute.
const MAX_SUBJECTS: u64 = 100_000;

/// `KEYS`: the minute window, the second window. `ARGV`: requests asked, per-minute limit,
/// per-second limit (0: off). Returns the requests granted and the windows' counts before.
const WINDOWS_SCRIPT: &str = r"
local asked = tonumber(ARGV[1])
local per_minute = tonumber(ARGV[2])
local per_second = tonumber(ARGV[3])
local minute = tonumber(redis.call('GET', KEYS[1]) or '0')
local second = tonumber(redis.call('GET', KEYS[2]) or '0')
local granted = asked
if per_minute > 0 then granted = math.min(granted, math.max(per_minute - minute, 0)) end
if per_second > 0 then granted = math.min(granted, math.max(per_second - second, 0)) end
if granted > 0 then
  if redis.call('INCRBY', KEYS[1], granted) == granted then redis.call('EXPIRE', KEYS[1], 61) end
  if redis.call('INCRBY', KEYS[2], granted) == granted then redis.call('EXPIRE', KEYS[2], 2) end
end
return {granted, minute, second}
";

/// One request's count: whether it was granted, and the windows' counts after it (or, when
/// refused, as they stand).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Counted {
    /// Whether the request fits under both limits.
    pub granted: bool,
    /// Requests counted in the minute window.
    pub minute: u32,
    /// Requests counted in the second window.
    pub second: u32,
}

#[derive(Default)]
struct Batch {
    waiting: Vec<(OffsetDateTime, oneshot::Sender<Result<Counted, Unshared>>)>,
    flying: bool,
}

/// The windows of one kind of subject (accounts), counted in Redis.
pub struct SharedWindows {
    redis: Arc<SharedRedis>,
    kind: &'static str,
    per_minute: u32,
    per_second: u32,
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
    /// Windows of `kind` (a word in the keys) with these limits, counted in `redis`.
    pub fn new(
        redis: Arc<SharedRedis>,
        kind: &'static str,
        per_minute: u32,
        per_second: u32,
    ) -> Self {
        Self {
            redis,
            kind,
            per_minute,
            per_second,
            script: Arc::new(redis::Script::new(WINDOWS_SCRIPT)),
            batches: Cache::builder()
                .max_capacity(MAX_SUBJECTS)
                .time_to_idle(std::time::Duration::from_secs(60))
                .eviction_policy(EvictionPolicy::lru())
                .build(),
        }
    }

    /// Counts one request of `subject` at `now`, with the other replicas' requests.
    pub async fn count(
        self: &Arc<Self>,
        subject: i64,
        now: OffsetDateTime,
    ) -> Result<Counted, Unshared> {
        let (sender, answer) = oneshot::channel();
        let batch = self.batches.get_with(subject, Arc::default);
        let lead = {
            let mut waiting = lock(&batch);
            waiting.waiting.push((now, sender));
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
                .map(|(at, _)| *at)
                .max()
                .unwrap_or(OffsetDateTime::UNIX_EPOCH);
            let asked = i64::try_from(waiting.len()).unwrap_or(i64::MAX);
            let answer = self.ask(subject, asked, now).await;
            for (index, (_, sender)) in waiting.into_iter().enumerate() {
                let index = u32::try_from(index).unwrap_or(u32::MAX);
                let _ = sender.send(answer.map(|(granted, minute, second)| {
                    let granted_here = index < granted;
                    let counted = if granted_here { index + 1 } else { granted };
                    Counted {
                        granted: granted_here,
                        minute: minute.saturating_add(counted),
                        second: second.saturating_add(counted),
                    }
                }));
            }
        }
    }

    async fn ask(
        &self,
        subject: i64,
        asked: i64,
        now: OffsetDateTime,
    ) -> Result<(u32, u32, u32), Unshared> {
        let second = now.unix_timestamp();
        let minute = second.div_euclid(60);
        let subject = subject.to_string();
        let keys = [
            self.redis.key(self.kind, &subject, &format!(":m:{minute}")),
            self.redis.key(self.kind, &subject, &format!(":s:{second}")),
        ];
        let keys = [keys[0].as_str(), keys[1].as_str()];
        let args = [
            asked,
            i64::from(self.per_minute),
            i64::from(self.per_second),
        ];
        let (granted, minute, second): (i64, i64, i64) =
            self.redis.run(&self.script, &keys, &args).await?;
        let clamp = |value: i64| u32::try_from(value.max(0)).unwrap_or(u32::MAX);
        Ok((clamp(granted), clamp(minute), clamp(second)))
    }
}

fn lock(batch: &Mutex<Batch>) -> std::sync::MutexGuard<'_, Batch> {
    batch.lock().unwrap_or_else(PoisonError::into_inner)
}
