//! When the JWKS is fetched. It is kept and used offline; a token naming a `kid` the kept set
//! does not have makes the verifier fetch it again, since gatekey publishes a new key before
//! it signs with it. Fetches are at least `refetch_floor` apart, whatever triggers them, so a
//! flood of tokens with made-up `kid`s costs gatekey one request per floor, not one per token.
//! A set older than `max_age` is fetched again on its next use (a retired key then stops
//! verifying); if that fetch fails, the old set serves on.

use std::sync::{Arc, RwLock};
use std::time::{Duration, SystemTime};

use jsonwebtoken::Algorithm;
use tokio::sync::Mutex;

use crate::clock::Clock;
use crate::jwks::{KeySet, VerificationKey};
use crate::response_body::get_bounded;
use crate::{TokenRefusal, VerifyError};

/// The last fetch tried: when, and whether it failed.
#[derive(Debug, Clone, Copy)]
struct Attempt {
    at: SystemTime,
    failed: bool,
}

/// The kept key set and the rules for fetching it again.
pub(crate) struct KeyCache {
    http: reqwest::Client,
    clock: Arc<dyn Clock>,
    refetch_floor: Duration,
    max_age: Duration,
    /// The kept set and when it was fetched.
    kept: RwLock<Option<(Arc<KeySet>, SystemTime)>>,
    /// Held while fetching, so concurrent misses make one request.
    last_attempt: Mutex<Option<Attempt>>,
}

impl std::fmt::Debug for KeyCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeyCache")
            .field("refetch_floor", &self.refetch_floor)
            .field("max_age", &self.max_age)
            .finish_non_exhaustive()
    }
}

/// What the kept set says about a key.
enum Kept {
    Fresh(Arc<VerificationKey>),
    Stale(Arc<VerificationKey>),
    Missing,
}

impl KeyCache {
    /// A cache fetching through `http`, at most once per `refetch_floor`, trusting a set for
    /// `max_age`.
    pub(crate) fn new(
        http: reqwest::Client,
        clock: Arc<dyn Clock>,
        refetch_floor: Duration,
        max_age: Duration,
    ) -> Self {
        Self {
            http,
            clock,
            refetch_floor,
            max_age,
            kept: RwLock::new(None),
            last_attempt: Mutex::new(None),
        }
    }

    /// The key `kid` of algorithm `alg` from the set at `jwks_uri`: the kept one, or one
    /// fetched now if the floor allows.
    pub(crate) async fn key(
        &self,
        jwks_uri: &str,
        kid: &str,
        alg: Algorithm,
    ) -> Result<Arc<VerificationKey>, VerifyError> {
        if let Kept::Fresh(key) = self.kept_key(kid, alg) {
            return Ok(key);
        }
        let mut last_attempt = self.last_attempt.lock().await;
        // Another task may have fetched while this one waited for the lock.
        let stale = match self.kept_key(kid, alg) {
            Kept::Fresh(key) => return Ok(key),
            Kept::Stale(key) => Some(key),
            Kept::Missing => None,
        };
        let now = self.clock.now();
        if let Some(attempt) = *last_attempt {
            if now < attempt.at + self.refetch_floor {
                return match (stale, attempt.failed) {
                    (Some(key), _) => Ok(key),
                    (None, true) => Err(VerifyError::Unavailable(
                        "the JWKS could not be fetched a moment ago".into(),
                    )),
                    (None, false) => Err(TokenRefusal::UnknownKey.into()),
                };
            }
        }
        self.refetch(jwks_uri, kid, alg, stale, &mut last_attempt)
            .await
    }

    async fn refetch(
        &self,
        jwks_uri: &str,
        kid: &str,
        alg: Algorithm,
        stale: Option<Arc<VerificationKey>>,
        last_attempt: &mut Option<Attempt>,
    ) -> Result<Arc<VerificationKey>, VerifyError> {
        let now = self.clock.now();
        let fetched = self.fetch(jwks_uri).await;
        *last_attempt = Some(Attempt {
            at: now,
            failed: fetched.is_err(),
        });
        match (fetched, stale) {
            (Ok(set), _) => {
                let key = set.find(kid, alg);
                if let Ok(mut kept) = self.kept.write() {
                    *kept = Some((Arc::new(set), now));
                }
                key.ok_or(TokenRefusal::UnknownKey.into())
            }
            (Err(detail), Some(key)) => {
                tracing::warn!(error = %detail, "the JWKS could not be refreshed; the kept keys serve on");
                Ok(key)
            }
            (Err(detail), None) => Err(VerifyError::Unavailable(detail)),
        }
    }

    fn kept_key(&self, kid: &str, alg: Algorithm) -> Kept {
        let Ok(kept) = self.kept.read() else {
            return Kept::Missing;
        };
        match kept.as_ref() {
            Some((set, fetched_at)) => match set.find(kid, alg) {
                Some(key) if self.clock.now() < *fetched_at + self.max_age => Kept::Fresh(key),
                Some(key) => Kept::Stale(key),
                None => Kept::Missing,
            },
            None => Kept::Missing,
        }
    }

    async fn fetch(&self, jwks_uri: &str) -> Result<KeySet, String> {
        let body = get_bounded(&self.http, jwks_uri).await?;
        KeySet::from_json(&body).map_err(|detail| format!("GET {jwks_uri}: {detail}"))
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use super::*;

    struct Manual(Mutex<SystemTime>);

    impl Clock for Manual {
        fn now(&self) -> SystemTime {
            *self.0.lock().unwrap()
        }
    }

    #[tokio::test]
    async fn a_failed_fetch_is_not_retried_within_the_floor() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let closed = format!("http://{}/oauth/jwks", listener.local_addr().unwrap());
        drop(listener);
        let start = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000);
        let clock = Arc::new(Manual(Mutex::new(start)));
        let floor = Duration::from_secs(30);
        let cache = KeyCache::new(reqwest::Client::new(), clock.clone(), floor, floor * 100);

        let unavailable = |result: Result<_, VerifyError>| match result {
            Err(VerifyError::Unavailable(detail)) => detail,
            other => panic!("{:?}", other.map(|_| ())),
        };
        let first = unavailable(cache.key(&closed, "k", Algorithm::EdDSA).await);
        assert!(first.starts_with("GET "), "the fetch was tried: {first}");
        let again = unavailable(cache.key(&closed, "k", Algorithm::EdDSA).await);
        assert!(again.contains("a moment ago"), "not tried again: {again}");
        *clock.0.lock().unwrap() = start + floor;
        let later = unavailable(cache.key(&closed, "k", Algorithm::EdDSA).await);
        assert!(
            later.starts_with("GET "),
            "tried once the floor has passed: {later}"
        );
    }
}
