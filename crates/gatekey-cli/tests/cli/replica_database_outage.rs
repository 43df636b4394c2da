//! Three replicas under API-key load lose their database (a proxy the test cuts) and get it
//! back: every replica answers what needs the database with a quick `503` and `Retry-After`
//! while cached keys keep working, `/readyz` fails within a second, and every replica serves
//! again within a second of the return. Prints the figures.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::fixtures::{create_api_key, seed_owner_key};
use crate::replica_set::{percentile, postgres_database, ReplicaSet, StopFlag};
use crate::web::me_status;

/// Outages, one after the other.
const OUTAGES: usize = 3;

/// Requests each replica is sent during an outage with a key it has not cached.
const REFUSALS_PER_REPLICA: usize = 5;

/// A new key of ada's in `acme`, made by the operator: no replica has cached it.
fn uncached_key(database_url: &str, name: &str) -> String {
    let key = create_api_key(
        database_url,
        ["--email", "ada@acme.test"],
        "acme",
        name,
        &[],
    );
    key["secret"].as_str().expect("secret").to_owned()
}

/// Asks `GET {url}{path}` (with `key`, unless empty) until it answers `status`; how long after
/// `since` that was. Panics after five seconds.
async fn answers_after(url: &str, path: &str, key: &str, status: u16, since: Instant) -> Duration {
    let http = reqwest::Client::new();
    loop {
        let request = http.get(format!("{url}{path}"));
        let request = match key {
            "" => request,
            key => request.bearer_auth(key),
        };
        if let Ok(answer) = request.send().await {
            if answer.status() == status {
                return since.elapsed();
            }
        }
        assert!(
            since.elapsed() < Duration::from_secs(5),
            "{url}{path} never answered {status}"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// Sends `GET /api/v1/me` to `url` with `key`, which needs the database, and asserts it is
/// refused as an outage is: `503 temporarily_unavailable` with `Retry-After`. How long it took.
async fn refused_in(http: &reqwest::Client, url: &str, key: &str) -> Duration {
    let started = Instant::now();
    let answer = http
        .get(format!("{url}/api/v1/me"))
        .bearer_auth(key)
        .send()
        .await
        .expect("the replica answers");
    let took = started.elapsed();
    assert_eq!(answer.status(), 503, "{url} during the outage");
    let retry_after = answer.headers().get("retry-after").cloned();
    let body: serde_json::Value = answer.json().await.expect("a JSON error");
    assert_eq!(body["error"], "temporarily_unavailable", "{body}");
    assert!(
        retry_after.is_some_and(|value| value.to_str().is_ok_and(|s| s.parse::<u64>().is_ok())),
        "a 503 says when to retry"
    );
    took
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_replica_refuses_fast_and_recovers_within_a_second() {
    let Some(db) = postgres_database().await else {
        return;
    };
    seed_owner_key(&db.url);
    let cached: Vec<String> = (0..3)
        .map(|n| uncached_key(&db.url, &format!("load {n}")))
        .collect();
    // Per outage and replica: one key to be refused, one to be served at the return.
    let fresh: Vec<Vec<(String, String)>> = (0..OUTAGES)
        .map(|outage| {
            (0..3)
                .map(|n| {
                    let name = format!("outage {outage} replica {n}");
                    (
                        uncached_key(&db.url, &format!("{name} refused")),
                        uncached_key(&db.url, &format!("{name} served")),
                    )
                })
                .collect()
        })
        .collect();
    let set = ReplicaSet::start_behind_proxy(db, 3, &[]).await;
    let http = reqwest::Client::new();
    for (url, key) in set.urls.iter().zip(&cached) {
        assert_eq!(me_status(&http, url, key).await, 200, "cached on {url}");
    }

    // Load: two tasks per replica with that replica's cached key, throughout the outages.
    let (stop, answers) = (StopFlag::default(), Arc::new(Mutex::new(Vec::new())));
    let mut load = Vec::new();
    for (url, key) in set.urls.iter().zip(&cached) {
        for _ in 0..2 {
            let (http, url, key) = (reqwest::Client::new(), url.clone(), key.clone());
            let (stop, answers) = (stop.clone(), answers.clone());
            load.push(tokio::spawn(async move {
                let mut statuses = Vec::new();
                while !stop.stopped() {
                    statuses.push(me_status(&http, &url, &key).await.as_u16());
                    // Light load: the proxy the outage is made of shares these threads.
                    tokio::time::sleep(Duration::from_millis(2)).await;
                }
                answers.lock().unwrap().extend(statuses);
            }));
        }
    }

    let (mut unready, mut refusals, mut recovered, mut ready) = (vec![], vec![], vec![], vec![]);
    for keys in &fresh {
        tokio::time::sleep(Duration::from_millis(300)).await;
        let cut_at = Instant::now();
        set.proxy().cut();
        unready.extend(each_answers_after(&set.urls, "/readyz", &["", "", ""], 503, cut_at).await);
        for (url, (refused_key, _)) in set.urls.iter().zip(keys) {
            for _ in 0..REFUSALS_PER_REPLICA {
                refusals.push(refused_in(&http, url, refused_key).await);
            }
        }
        tokio::time::sleep(Duration::from_millis(500)).await;

        set.proxy().restore().await;
        let restored_at = Instant::now();
        let served: Vec<&str> = keys.iter().map(|(_, served)| served.as_str()).collect();
        let api = "/api/v1/me";
        recovered.extend(each_answers_after(&set.urls, api, &served, 200, restored_at).await);
        ready.extend(
            each_answers_after(&set.urls, "/readyz", &["", "", ""], 200, restored_at).await,
        );
    }
    stop.stop();
    for task in load {
        task.await.unwrap();
    }

    let answers = answers.lock().unwrap().clone();
    let failed = answers.iter().filter(|status| **status != 200).count();
    eprintln!(
        "database outage on 3 replicas, {OUTAGES} outages: /readyz 503 after p50 {:?} max {:?}; \
         503 answered in p50 {:?} p99 {:?}; first 200 after the return p50 {:?} max {:?}; \
         /readyz 200 after max {:?}; cached-key load {} requests, {failed} not 200",
        percentile(&unready, 50),
        percentile(&unready, 100),
        percentile(&refusals, 50),
        percentile(&refusals, 99),
        percentile(&recovered, 50),
        percentile(&recovered, 100),
        percentile(&ready, 100),
        answers.len(),
    );
    assert_eq!(failed, 0, "a cached key was refused during an outage");
    assert!(
        answers.len() > 100,
        "the load ran: {} requests",
        answers.len()
    );
    let second = Duration::from_secs(1);
    assert!(percentile(&unready, 100) < second, "/readyz: {unready:?}");
    assert!(
        percentile(&refusals, 50) < Duration::from_millis(100),
        "503s took {refusals:?}"
    );
    assert!(
        percentile(&refusals, 100) < second,
        "503s took {refusals:?}"
    );
    assert!(
        percentile(&recovered, 100) < second,
        "recovery: {recovered:?}"
    );
    assert!(percentile(&ready, 100) < second, "ready again: {ready:?}");
    set.stop().await;
}

/// Asks every replica of `urls` side by side as [`answers_after`] does; the times, in order.
async fn each_answers_after(
    urls: &[String],
    path: &str,
    keys: &[&str],
    status: u16,
    since: Instant,
) -> Vec<Duration> {
    let tasks: Vec<_> = urls
        .iter()
        .zip(keys)
        .map(|(url, key)| {
            let (url, path, key) = (url.clone(), path.to_owned(), (*key).to_owned());
            tokio::spawn(async move { answers_after(&url, &path, &key, status, since).await })
        })
        .collect();
    let mut times = Vec::new();
    for task in tasks {
        times.push(task.await.expect("a replica was asked"));
    }
    times
}
