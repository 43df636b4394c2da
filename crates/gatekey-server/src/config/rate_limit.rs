//! `[rate_limit]`: the per-account limits, and where they and the guess throttles are counted
//! (see docs/configuration.md and docs/architecture.md, "What holds across replicas").

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::ConfigError;

/// Per-account rate limits, and the backend that counts them and the guess throttles.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RateLimitConfig {
    /// Requests per minute per account; 0 turns the limit off.
    pub per_minute: u32,
    /// Requests per second per account; 0 turns the limit off.
    pub per_second: u32,
    /// Where limits and throttles are counted: `memory` (each process on its own, the
    /// default) or `redis` (shared by every replica that names the same Redis).
    pub backend: LimitBackend,
    /// The Redis (or Valkey) server of the `redis` backend: `redis://[:password@]host[:port][/db]`
    /// or `redis+unix:///path`.
    pub redis_url: Option<RedisUrl>,
    /// What every key gatekey writes in Redis starts with, so that several installations can
    /// share one server.
    pub redis_key_prefix: String,
    /// Milliseconds one Redis call may take before it counts as failed and the process falls
    /// back to counting on its own.
    pub redis_timeout_ms: u64,
}

impl Default for RateLimitConfig {
    fn default() -> Self {
        Self {
            per_minute: 300,
            per_second: 20,
            backend: LimitBackend::Memory,
            redis_url: None,
            redis_key_prefix: "gatekey".to_owned(),
            redis_timeout_ms: 250,
        }
    }
}

impl RateLimitConfig {
    /// The Redis server to count on, when the backend is `redis`.
    pub fn redis(&self) -> Option<&RedisUrl> {
        match self.backend {
            LimitBackend::Memory => None,
            LimitBackend::Redis => self.redis_url.as_ref(),
        }
    }

    pub(super) fn validate(&self) -> Result<(), ConfigError> {
        let invalid = |message: &str| Err(ConfigError::Invalid(message.to_owned()));
        if self.backend == LimitBackend::Redis && self.redis_url.is_none() {
            return invalid("rate_limit.backend = \"redis\" needs rate_limit.redis_url");
        }
        if self.redis_timeout_ms == 0 {
            return invalid("rate_limit.redis_timeout_ms must be more than 0");
        }
        let prefix_ok = !self.redis_key_prefix.is_empty()
            && self.redis_key_prefix.len() <= 64
            && self
                .redis_key_prefix
                .bytes()
                .all(|byte| byte.is_ascii_alphanumeric() || b"-_.:".contains(&byte));
        if !prefix_ok {
            return invalid(
                "rate_limit.redis_key_prefix must be 1 to 64 letters, digits, '-', '_', '.' or ':'",
            );
        }
        Ok(())
    }
}

/// `rate_limit.backend`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LimitBackend {
    /// Each process counts its own requests and guesses.
    #[default]
    Memory,
    /// Every replica counts in one Redis.
    Redis,
}

/// A Redis URL, checked when the configuration is read. Its password never reaches `Debug`
/// or `Display`.
#[derive(Clone, PartialEq, Eq)]
pub struct RedisUrl(String);

impl RedisUrl {
    /// Checks `url` the way the Redis client will read it.
    pub fn parse(url: &str) -> Result<Self, String> {
        redis::Client::open(url)
            .map(|_| Self(url.to_owned()))
            .map_err(|_| {
                "rate_limit.redis_url is not a Redis URL (redis://[:password@]host[:port][/db] \
                 or redis+unix:///path)"
                    .to_owned()
            })
    }

    /// The URL itself, password included: for connecting only.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

/// The URL with any password replaced by `***`.
impl fmt::Display for RedisUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match url::Url::parse(&self.0) {
            Ok(mut url) if url.password().is_some() => {
                let _ = url.set_password(Some("***"));
                f.write_str(url.as_str())
            }
            Ok(url) => f.write_str(url.as_str()),
            Err(_) => f.write_str("(unreadable Redis URL)"),
        }
    }
}

impl fmt::Debug for RedisUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "RedisUrl({self})")
    }
}

impl Serialize for RedisUrl {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for RedisUrl {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        Self::parse(&text).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_redis_url_hides_its_password() {
        let url = RedisUrl::parse("redis://:hunter2@127.0.0.1:6380/2").unwrap();
        assert_eq!(url.to_string(), "redis://:***@127.0.0.1:6380/2");
        assert!(!format!("{url:?}").contains("hunter2"));
        assert_eq!(url.expose(), "redis://:hunter2@127.0.0.1:6380/2");
    }

    #[test]
    fn what_is_not_a_redis_url_is_refused() {
        for bad in [
            "http://127.0.0.1:6379",
            "redis//nohost",
            "",
            "127.0.0.1:6379",
        ] {
            assert!(RedisUrl::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn the_redis_backend_needs_a_url_and_a_timeout() {
        let mut config = RateLimitConfig {
            backend: LimitBackend::Redis,
            ..RateLimitConfig::default()
        };
        assert!(config.validate().is_err());
        config.redis_url = Some(RedisUrl::parse("redis://127.0.0.1").unwrap());
        assert!(config.validate().is_ok());
        config.redis_timeout_ms = 0;
        assert!(config.validate().is_err());
        config.redis_timeout_ms = 100;
        config.redis_key_prefix = "with space".into();
        assert!(config.validate().is_err());
    }
}
