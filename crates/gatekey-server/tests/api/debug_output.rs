//! The configuration never prints a database or Redis password in `Debug` output (issue 8,
//! point 10): a configuration logged with `{:?}` would put it wherever logs go.

use gatekey_server::config::RedisUrl;
use gatekey_server::{Config, ConfigOverrides};

const URL: &str = "postgres://gatekey:s3cret-pw@db.internal:5432/gatekey?sslpassword=key-pw";

#[test]
fn the_configuration_hides_the_database_password() {
    let mut config = Config {
        database_url: URL.to_owned(),
        ..Config::default()
    };
    config.rate_limit.redis_url =
        Some(RedisUrl::parse("redis://:redis-pw@cache.internal:6379/0").unwrap());
    for debug in [format!("{config:?}"), format!("{config:#?}")] {
        assert!(
            !debug.contains("s3cret-pw")
                && !debug.contains("key-pw")
                && !debug.contains("redis-pw"),
            "{debug}"
        );
        assert!(
            debug.contains("redis://:***@cache.internal:6379/0"),
            "{debug}"
        );
        assert!(debug.contains("gatekey:***@db.internal:5432"), "{debug}");
        assert!(
            debug.contains("access_token_ttl"),
            "the rest is shown: {debug}"
        );
    }
    let overrides = ConfigOverrides {
        database_url: Some(URL.to_owned()),
        ..ConfigOverrides::default()
    };
    let debug = format!("{overrides:?}");
    assert!(!debug.contains("s3cret-pw"), "{debug}");
    assert!(debug.contains("sslpassword=***"), "{debug}");
}
