//! Password hashing off the async threads, with a bound. Each argon2id computation holds
//! 19 MiB for tens of milliseconds; run without a bound on the blocking pool (up to 512
//! threads) a burst of sign-ins for random emails takes hundreds of megabytes. Here at most
//! `max_concurrent` hashes run at once, at most `max_waiting` requests wait for a turn, each for
//! at most `max_wait_ms`; anything beyond is refused at once so the caller can answer `503` with
//! `Retry-After` instead of queueing without bound.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use gatekey_core::password::HashMemory;

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::config::PasswordHashingConfig;

/// Seconds a refused caller is told to wait.
pub const BUSY_RETRY_AFTER: u64 = 1;

/// Runs password hashes with bounded concurrency.
#[derive(Debug)]
pub struct PasswordHashing {
    permits: Arc<Semaphore>,
    /// Working memory, one per slot, allocated on first use and then reused, so memory for
    /// hashing stays at 19 MiB per slot whatever the allocator does.
    memories: Arc<Mutex<Vec<HashMemory>>>,
    waiting: AtomicUsize,
    max_waiting: usize,
    max_wait: Duration,
}

/// Why a hash did not run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum HashingRefused {
    /// Every slot was taken and the wait was full or too long.
    #[error("too many password checks at once")]
    Busy,
    /// The hashing task died (it panicked); nothing was decided.
    #[error("the password check did not finish")]
    Failed,
}

impl PasswordHashing {
    /// A pool sized by `config`; `max_concurrent = 0` means one per CPU core.
    pub fn new(config: &PasswordHashingConfig) -> Self {
        let cores = std::thread::available_parallelism().map_or(1, usize::from);
        let concurrent = match config.max_concurrent {
            0 => cores,
            n => n,
        };
        Self {
            permits: Arc::new(Semaphore::new(concurrent)),
            memories: Arc::default(),
            waiting: AtomicUsize::new(0),
            max_waiting: config.max_waiting,
            max_wait: Duration::from_millis(config.max_wait_ms),
        }
    }

    /// Runs `work` (which hashes or verifies passwords in the memory it is given) on a
    /// blocking thread once a slot is free. The slot is held until `work` returns, even if the
    /// caller stops waiting.
    pub async fn run<T, F>(&self, work: F) -> Result<T, HashingRefused>
    where
        F: FnOnce(&mut HashMemory) -> T + Send + 'static,
        T: Send + 'static,
    {
        let permit = self.acquire().await?;
        let memories = Arc::clone(&self.memories);
        tokio::task::spawn_blocking(move || {
            let _permit = permit;
            let taken = lock(&memories).pop();
            let mut memory = taken.unwrap_or_default();
            let done = work(&mut memory);
            lock(&memories).push(memory);
            done
        })
        .await
        .map_err(|_| HashingRefused::Failed)
    }

    async fn acquire(&self) -> Result<OwnedSemaphorePermit, HashingRefused> {
        if let Ok(permit) = Arc::clone(&self.permits).try_acquire_owned() {
            return Ok(permit);
        }
        let waiting = Waiting::enter(&self.waiting, self.max_waiting)?;
        let permit =
            tokio::time::timeout(self.max_wait, Arc::clone(&self.permits).acquire_owned()).await;
        drop(waiting);
        match permit {
            Ok(Ok(permit)) => Ok(permit),
            _ => Err(HashingRefused::Busy),
        }
    }
}

fn lock(memories: &Mutex<Vec<HashMemory>>) -> std::sync::MutexGuard<'_, Vec<HashMemory>> {
    memories.lock().unwrap_or_else(PoisonError::into_inner)
}

/// One place in the waiting line, given back on drop.
struct Waiting<'a>(&'a AtomicUsize);

impl<'a> Waiting<'a> {
    fn enter(count: &'a AtomicUsize, max: usize) -> Result<Self, HashingRefused> {
        count
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
                (n < max).then_some(n + 1)
            })
            .map(|_| Self(count))
            .map_err(|_| HashingRefused::Busy)
    }
}

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

#[cfg(test)]
mod tests {
    use std::sync::mpsc;

    use super::*;

    #[tokio::test]
    async fn past_the_slots_and_the_line_callers_are_refused_at_once() {
        let pool = Arc::new(PasswordHashing::new(&PasswordHashingConfig {
            max_concurrent: 1,
            max_waiting: 0,
            max_wait_ms: 1_000,
        }));
        let (release, hold) = mpsc::channel::<()>();
        let (started, wait_started) = tokio::sync::oneshot::channel();
        let running = tokio::spawn({
            let pool = Arc::clone(&pool);
            async move {
                pool.run(move |_| {
                    let _ = started.send(());
                    hold.recv().ok()
                })
                .await
            }
        });
        wait_started.await.unwrap();
        assert_eq!(pool.run(|_| ()).await, Err(HashingRefused::Busy));
        release.send(()).unwrap();
        assert_eq!(running.await.unwrap(), Ok(Some(())));
        assert_eq!(pool.run(|_| 7).await, Ok(7), "the slot is free again");
    }
}
