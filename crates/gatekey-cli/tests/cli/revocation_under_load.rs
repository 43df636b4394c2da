//! Three replicas under API-key load: a key revoked on one is refused by the other two within a
//! second, with the default invalidation poll. Prints the p50/p99 of the crossing times.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::fixtures::{create_api_key, seed_owner_key};
use crate::replica_set::{percentile, postgres_database, ReplicaSet, StopFlag};
use crate::web::{me_status, post_json};

/// Keys revoked, one after the other, each on the next replica in turn.
const REVOKED_KEYS: usize = 20;

/// Polls `GET /api/v1/me` on `url` with `key` until it is refused; how long after `started`.
async fn refused_after(http: &reqwest::Client, url: &str, key: &str, started: Instant) -> Duration {
    loop {
        let status = me_status(http, url, key).await;
        if status == 401 {
            return started.elapsed();
        }
        assert_eq!(
            status, 200,
            "{url} answered {status} for a key being revoked"
        );
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "a revocation never reached {url}"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn revocation_crosses_replicas_within_a_second_under_load() {
    let Some(db) = postgres_database().await else {
        return;
    };
    let owner_key = seed_owner_key(&db.url);
    let load_keys: Vec<String> = (0..3)
        .map(|n| {
            let key = create_api_key(
                &db.url,
                ["--email", "ada@acme.test"],
                "acme",
                &format!("load {n}"),
                &[],
            );
            key["secret"].as_str().expect("secret").to_owned()
        })
        .collect();
    // The default invalidation poll, and a cache that would keep a revoked key for a minute
    // without it.
    let envs = [
        ("GATEKEY_CACHE__CREDENTIAL_TTL", "60"),
        ("GATEKEY_CACHE__INVALIDATION_POLL_MS", "250"),
    ];
    let set = ReplicaSet::start(db, 3, &envs).await;
    let http = reqwest::Client::new();

    // Load: two tasks per replica asking who their key is, as fast as they are answered.
    let (stop, answers) = (StopFlag::default(), Arc::new(Mutex::new(Vec::new())));
    let mut load = Vec::new();
    for (url, key) in set.urls.iter().zip(&load_keys) {
        for _ in 0..2 {
            let (http, url, key) = (reqwest::Client::new(), url.clone(), key.clone());
            let (stop, answers) = (stop.clone(), answers.clone());
            load.push(tokio::spawn(async move {
                let mut statuses = Vec::new();
                while !stop.stopped() {
                    statuses.push(me_status(&http, &url, &key).await.as_u16());
                }
                answers.lock().unwrap().extend(statuses);
            }));
        }
    }

    let load_started = Instant::now();
    // From the revocation sent, and from its 204.
    let (mut crossings, mut after_answer) = (Vec::new(), Vec::new());
    for n in 0..REVOKED_KEYS {
        let revoking = &set.urls[n % 3];
        let body = serde_json::json!({"name": format!("revoked {n}")});
        let created: serde_json::Value =
            post_json(&http, revoking, "/api/v1/api_keys", &owner_key, &body)
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
        let (id, secret) = (
            created["id"].as_i64().unwrap(),
            created["secret"].as_str().unwrap().to_owned(),
        );
        for url in &set.urls {
            let status = me_status(&http, url, &secret).await;
            assert_eq!(status, 200, "the key works and is now cached on {url}");
        }

        let started = Instant::now();
        let revoked = http
            .delete(format!("{revoking}/api/v1/api_keys/{id}"))
            .bearer_auth(&owner_key)
            .send()
            .await
            .unwrap();
        assert_eq!(revoked.status(), 204);
        let answered = started.elapsed();
        let on_revoking = me_status(&http, revoking, &secret).await;
        assert_eq!(on_revoking, 401, "refused at once where it was revoked");
        let others: Vec<_> = set.urls.iter().filter(|url| *url != revoking).collect();
        let (first, second) = tokio::join!(
            refused_after(&http, others[0], &secret, started),
            refused_after(&http, others[1], &secret, started),
        );
        crossings.extend([first, second]);
        after_answer.extend([
            first.saturating_sub(answered),
            second.saturating_sub(answered),
        ]);
    }
    let load_time = load_started.elapsed();
    stop.stop();
    for task in load {
        task.await.unwrap();
    }

    let answers = answers.lock().unwrap().clone();
    let refused = answers.iter().filter(|status| **status != 200).count();
    assert_eq!(
        refused, 0,
        "the load's own keys were refused {refused} times"
    );
    let rate = answers.len() as f64 / load_time.as_secs_f64();
    let (p50, p99) = (percentile(&crossings, 50), percentile(&crossings, 99));
    let slowest = percentile(&crossings, 100);
    eprintln!(
        "revocation crossing, {} samples under {rate:.0} req/s of load: p50 {p50:?}, \
         p99 {p99:?}, max {slowest:?} from the DELETE sent; p50 {:?}, p99 {:?} from its 204",
        crossings.len(),
        percentile(&after_answer, 50),
        percentile(&after_answer, 99),
    );
    assert!(
        answers.len() > 100,
        "the load ran: {} requests",
        answers.len()
    );
    assert!(
        slowest < Duration::from_secs(1),
        "a revocation took {slowest:?} to cross"
    );
    set.stop().await;
}
