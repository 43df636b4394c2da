//! Limits shared by three replicas through Redis (`rate_limit.backend = "redis"`, see
//! docs/configuration.md, "Replicas"), each replica a `gatekey serve` of its own on one
//! PostgreSQL database: an account gets its limit in total, not per replica; sign-in throttles
//! count every replica's failures; with Redis stopped mid-load each replica counts on its own
//! (no 5xx, `gatekey_shared_limits_fallbacks_total` grows on `/metrics`) and counting is shared
//! again soon after Redis is back.
//!
//! Each test runs its own `redis-server` on a free port; without `redis-server` on the PATH the
//! tests are skipped with a note, unless `GATEKEY_TEST_REDIS` (set by CI) makes that a failure.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use gatekey_server::testing::RedisServer;

use crate::fixtures::{seed_owner_key, set_password};
use crate::replica_set::{
    clear_of_minute_edge, fresh_account_key, postgres_database, ReplicaSet, StopFlag,
};
use crate::web::{browser, csrf_token};

/// The counter of fallbacks to per-process counting.
const FALLBACKS_METRIC: &str = "gatekey_shared_limits_fallbacks_total";

/// Whether the tests can run: `redis-server` is installed, or CI says it must be.
fn redis_available() -> bool {
    let installed = std::process::Command::new("redis-server")
        .arg("--version")
        .output()
        .is_ok_and(|output| output.status.success());
    if !installed {
        assert!(
            std::env::var_os("GATEKEY_TEST_REDIS").is_none(),
            "GATEKEY_TEST_REDIS is set but redis-server is not installed"
        );
        eprintln!("redis-server is not installed; the shared-limit replica tests are skipped");
    }
    installed
}

/// The settings that share limits through `redis`, then `limits`.
fn shared_through(redis: &RedisServer, limits: &[(&str, &str)]) -> Vec<(String, String)> {
    let mut envs = vec![
        ("GATEKEY_RATE_LIMIT__BACKEND".to_owned(), "redis".to_owned()),
        ("GATEKEY_RATE_LIMIT__REDIS_URL".to_owned(), redis.url()),
    ];
    envs.extend(
        limits
            .iter()
            .map(|(name, value)| ((*name).to_owned(), (*value).to_owned())),
    );
    envs
}

/// Borrows `envs` as [`ReplicaSet::start`] takes them.
fn borrowed(envs: &[(String, String)]) -> Vec<(&str, &str)> {
    envs.iter()
        .map(|(name, value)| (name.as_str(), value.as_str()))
        .collect()
}

/// Whether `counted` is within 5 % of `limit` (and at least within one request of it).
fn within_five_percent(counted: usize, limit: usize) -> bool {
    counted.abs_diff(limit) <= (limit / 20).max(1)
}

/// `GET /api/v1/me` with `key`: the status and the `X-Ratelimit-Reset` it carried.
async fn me(http: &reqwest::Client, url: &str, key: &str) -> (u16, Option<String>) {
    let answer = http
        .get(format!("{url}/api/v1/me"))
        .bearer_auth(key)
        .send()
        .await
        .expect("the replica answers");
    let reset = answer
        .headers()
        .get("x-ratelimit-reset")
        .and_then(|value| value.to_str().ok())
        .map(str::to_owned);
    (answer.status().as_u16(), reset)
}

/// Sends `per_replica` requests with `key` to each replica, one replica after the other in
/// turn; how many each answered 200, and how many 429. Panics on any other status.
async fn round_robin(urls: &[String], key: &str, per_replica: usize) -> Vec<(usize, usize)> {
    let http = reqwest::Client::new();
    let mut counts = vec![(0, 0); urls.len()];
    for _ in 0..per_replica {
        for (url, (ok, limited)) in urls.iter().zip(&mut counts) {
            match me(&http, url, key).await.0 {
                200 => *ok += 1,
                429 => *limited += 1,
                status => panic!("{url} answered {status}"),
            }
        }
    }
    counts
}

/// The sum of `FALLBACKS_METRIC` over its label sets on `url`'s `/metrics` (0 when absent).
async fn fallbacks(url: &str) -> f64 {
    let text = reqwest::get(format!("{url}/metrics"))
        .await
        .expect("/metrics answers")
        .text()
        .await
        .expect("its text");
    text.lines()
        .filter(|line| !line.starts_with('#'))
        .filter_map(|line| {
            let name_end = line.find(['{', ' '])?;
            if &line[..name_end] != FALLBACKS_METRIC {
                return None;
            }
            let after_labels = line.rfind('}').map_or(name_end, |end| end + 1);
            line[after_labels..]
                .split_whitespace()
                .next()?
                .parse::<f64>()
                .ok()
        })
        .fold(0.0, |total, value| total + value)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_account_gets_its_limit_in_total_across_replicas() {
    if !redis_available() {
        return;
    }
    let Some(db) = postgres_database().await else {
        return;
    };
    seed_owner_key(&db.url);
    let key = fresh_account_key(&db.url, "hammered");
    let redis = RedisServer::start().await;
    const PER_MINUTE: usize = 300;
    let per_minute = PER_MINUTE.to_string();
    let envs = shared_through(
        &redis,
        &[
            ("GATEKEY_RATE_LIMIT__PER_MINUTE", &per_minute),
            ("GATEKEY_RATE_LIMIT__PER_SECOND", "0"),
        ],
    );
    let set = ReplicaSet::start(db, 3, &borrowed(&envs)).await;

    // Two seconds of load inside one wall-clock minute, the window the limit counts in.
    let load_time = Duration::from_secs(2);
    clear_of_minute_edge(load_time + Duration::from_secs(1)).await;
    let (stop, answers) = (StopFlag::default(), Arc::new(Mutex::new(Vec::new())));
    let mut load = Vec::new();
    for (replica, url) in set.urls.iter().enumerate() {
        for _ in 0..2 {
            let (http, url, key) = (reqwest::Client::new(), url.clone(), key.clone());
            let (stop, answers) = (stop.clone(), answers.clone());
            load.push(tokio::spawn(async move {
                let mut got = Vec::new();
                while !stop.stopped() {
                    let (status, reset) = me(&http, &url, &key).await;
                    got.push((replica, status, reset));
                }
                answers.lock().unwrap().extend(got);
            }));
        }
    }
    tokio::time::sleep(load_time).await;
    stop.stop();
    for task in load {
        task.await.unwrap();
    }
    let answers = answers.lock().unwrap().clone();

    let mut resets: Vec<_> = answers
        .iter()
        .filter_map(|(_, status, reset)| (*status == 200).then_some(reset.clone()).flatten())
        .collect();
    resets.sort();
    resets.dedup();
    assert!(resets.len() <= 1, "the load crossed a window: {resets:?}");
    let others: Vec<_> = answers
        .iter()
        .filter(|(_, status, _)| ![200, 429].contains(status))
        .collect();
    assert!(others.is_empty(), "neither 200 nor 429: {others:?}");
    let ok = answers
        .iter()
        .filter(|(_, status, _)| *status == 200)
        .count();
    let per_replica: Vec<usize> = (0..3)
        .map(|replica| {
            answers
                .iter()
                .filter(|(r, status, _)| *r == replica && *status == 200)
                .count()
        })
        .collect();
    eprintln!(
        "shared per-minute limit {PER_MINUTE}: {} requests in {load_time:?}, {ok} answered 200 \
         ({per_replica:?} by replica)",
        answers.len()
    );
    assert!(
        answers.len() > 2 * PER_MINUTE,
        "the load went past the limit"
    );
    assert!(
        within_five_percent(ok, PER_MINUTE),
        "{ok} requests were let through for a limit of {PER_MINUTE} across the replicas"
    );
    set.stop().await;
}

/// One sign-in with `email` and `password` on `url`, from the client address `ip` (as the
/// trusted proxy in front reports it); the status (401 wrong, 429 throttled, 303 signed in).
async fn sign_in_from(url: &str, ip: &str, email: &str, password: &str) -> u16 {
    let http = browser();
    let page = http
        .get(format!("{url}/login"))
        .header("x-forwarded-for", ip)
        .send()
        .await
        .expect("the login page answers")
        .text()
        .await
        .expect("its text");
    let form = [
        ("email", email),
        ("password", password),
        ("csrf_token", &csrf_token(&page)),
    ];
    http.post(format!("{url}/login"))
        .header("x-forwarded-for", ip)
        .form(&form)
        .send()
        .await
        .expect("the login form answers")
        .status()
        .as_u16()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sign_in_throttles_count_failures_on_every_replica() {
    if !redis_available() {
        return;
    }
    let Some(db) = postgres_database().await else {
        return;
    };
    seed_owner_key(&db.url);
    let password = "correct horse battery staple";
    assert!(set_password(&db.url, "ada@acme.test", password)
        .status
        .success());
    let redis = RedisServer::start().await;
    const PER_EMAIL: usize = 4;
    const PER_IP: usize = 6;
    let (per_email, per_ip) = (PER_EMAIL.to_string(), PER_IP.to_string());
    let envs = shared_through(
        &redis,
        &[
            ("GATEKEY_LOGIN__MAX_FAILURES_PER_EMAIL", &per_email),
            ("GATEKEY_LOGIN__MAX_FAILURES_PER_IP", &per_ip),
            ("GATEKEY_LOGIN__FAILURE_WINDOW", "300"),
            // The test stands for the proxy in front and names each guess's address.
            ("GATEKEY_HTTP__TRUST_FORWARDED_FOR", "true"),
        ],
    );
    let set = ReplicaSet::start(db, 3, &borrowed(&envs)).await;

    // One email, wrong passwords from a new address each time, spread over the replicas: the
    // email's limit is reached in total. Counted per replica, all twelve would be evaluated.
    let mut statuses = Vec::new();
    for n in 0..12 {
        let url = &set.urls[n % 3];
        let ip = format!("10.0.0.{}", n + 1);
        statuses.push(sign_in_from(url, &ip, "ada@acme.test", "wrong").await);
    }
    let mut expected = vec![401; PER_EMAIL];
    expected.resize(12, 429);
    assert_eq!(statuses, expected, "wrong passwords for one email");
    for url in &set.urls {
        let status = sign_in_from(url, "10.0.1.1", "ada@acme.test", password).await;
        assert_eq!(
            status, 429,
            "{url} lets the right password be guessed again"
        );
    }

    // One address, a different unknown email each time: the address's limit holds in total.
    let mut statuses = Vec::new();
    for n in 0..12 {
        let url = &set.urls[n % 3];
        let email = format!("guess{n}@acme.test");
        statuses.push(sign_in_from(url, "10.9.9.9", &email, "wrong").await);
    }
    let mut expected = vec![401; PER_IP];
    expected.resize(12, 429);
    assert_eq!(statuses, expected, "wrong guesses from one address");
    set.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_redis_each_replica_counts_alone_and_shares_again_after() {
    if !redis_available() {
        return;
    }
    let Some(db) = postgres_database().await else {
        return;
    };
    seed_owner_key(&db.url);
    // A fresh account for each count, so no count inherits another's requests.
    let keys: Vec<String> = (0..16)
        .map(|n| fresh_account_key(&db.url, &format!("count-{n}")))
        .collect();
    let mut keys = keys.into_iter();
    let mut fresh_key = move || keys.next().expect("a fresh account is left");
    let background_key = fresh_key();
    let mut redis = RedisServer::start().await;
    const LIMIT: usize = 30;
    let limit = LIMIT.to_string();
    let envs = shared_through(
        &redis,
        &[
            ("GATEKEY_RATE_LIMIT__PER_MINUTE", &limit),
            ("GATEKEY_RATE_LIMIT__PER_SECOND", "0"),
        ],
    );
    let set = ReplicaSet::start(db, 3, &borrowed(&envs)).await;
    // Each count below takes well under a second; none may straddle two minute windows.
    let margin = Duration::from_secs(1);

    // Background load on every replica, through the whole test: never a 5xx.
    let (stop, answers) = (StopFlag::default(), Arc::new(Mutex::new(Vec::new())));
    let mut load = Vec::new();
    for url in &set.urls {
        let (http, url, key) = (reqwest::Client::new(), url.clone(), background_key.clone());
        let (stop, answers) = (stop.clone(), answers.clone());
        load.push(tokio::spawn(async move {
            let mut got = Vec::new();
            while !stop.stopped() {
                got.push(me(&http, &url, &key).await.0);
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
            answers.lock().unwrap().extend(got);
        }));
    }

    // Shared: the account gets its limit once across the three.
    clear_of_minute_edge(margin).await;
    let counts = round_robin(&set.urls, &fresh_key(), LIMIT).await;
    let ok: usize = counts.iter().map(|(ok, _)| ok).sum();
    assert!(within_five_percent(ok, LIMIT), "shared: {counts:?}");
    let mut before = Vec::new();
    for url in &set.urls {
        before.push(fallbacks(url).await);
    }

    // Redis gone mid-load: every replica counts the limit on its own.
    redis.stop();
    clear_of_minute_edge(margin).await;
    let counts = round_robin(&set.urls, &fresh_key(), LIMIT + LIMIT / 2).await;
    for (url, (ok, _)) in set.urls.iter().zip(&counts) {
        assert!(
            within_five_percent(*ok, LIMIT),
            "{url} let {ok} through on its own without Redis: {counts:?}"
        );
    }
    for (url, before) in set.urls.iter().zip(&before) {
        let after = fallbacks(url).await;
        assert!(
            after > *before,
            "{url}: {FALLBACKS_METRIC} went from {before} to {after} while Redis was stopped"
        );
    }

    // Redis back: counting is shared again within a few seconds.
    redis.resume().await;
    let restarted = Instant::now();
    let shared_again = loop {
        clear_of_minute_edge(margin).await;
        let probe_started = restarted.elapsed();
        let counts = round_robin(&set.urls, &fresh_key(), LIMIT).await;
        let ok: usize = counts.iter().map(|(ok, _)| ok).sum();
        if within_five_percent(ok, LIMIT) {
            break (probe_started, restarted.elapsed());
        }
        assert!(
            restarted.elapsed() < Duration::from_secs(5),
            "still counting per replica 5 s after Redis came back: {counts:?}"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    };
    stop.stop();
    for task in load {
        task.await.unwrap();
    }
    let answers = answers.lock().unwrap().clone();
    let failed: Vec<_> = answers.iter().filter(|status| **status >= 500).collect();
    eprintln!(
        "Redis stopped and started again under load: shared again by the count that started \
         {:?} and ended {:?} after the restart; \
         background load {} requests, {} 5xx",
        shared_again.0,
        shared_again.1,
        answers.len(),
        failed.len()
    );
    assert!(failed.is_empty(), "answers of 5xx: {failed:?}");
    set.stop().await;
}
