//! Three replicas under `client_credentials` load, one killed with `kill -9` in the middle: no
//! token any replica answered is lost (each still introspects active on a survivor), and the
//! survivors answer throughout.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::fixtures::{create_app, create_service_account, seed_owner_key};
use crate::process::words;
use crate::replica_set::{postgres_database, ReplicaSet, StopFlag};

/// What one request of the load got from replica `replica`.
struct Answer {
    replica: usize,
    at: Instant,
    /// The access token of a 200, or what went wrong.
    outcome: Result<String, String>,
}

/// The application's credentials.
#[derive(Clone)]
struct Client {
    id: String,
    secret: String,
}

/// `POST /oauth/token` with the client credentials grant: the access token of a 200, or why not.
async fn issue(http: &reqwest::Client, url: &str, client: &Client) -> Result<String, String> {
    let answer = http
        .post(format!("{url}/oauth/token"))
        .basic_auth(&client.id, Some(&client.secret))
        .form(&[("grant_type", "client_credentials"), ("scope", "read")])
        .send()
        .await
        .map_err(|error| format!("no answer: {error}"))?;
    let status = answer.status();
    let body: Value = answer
        .json()
        .await
        .map_err(|error| format!("{status}, no JSON body: {error}"))?;
    match body["access_token"].as_str() {
        Some(token) if status == 200 => Ok(token.to_owned()),
        _ => Err(format!("{status}: {body}")),
    }
}

/// Whether `token` introspects active on `url`.
async fn active(http: &reqwest::Client, url: &str, client: &Client, token: &str) -> bool {
    let body: Value = http
        .post(format!("{url}/oauth/introspect"))
        .basic_auth(&client.id, Some(&client.secret))
        .form(&[("token", token)])
        .send()
        .await
        .expect("a survivor answers")
        .json()
        .await
        .expect("a JSON answer");
    body["active"] == true
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replica_killed_under_load_loses_no_answered_token() {
    let Some(db) = postgres_database().await else {
        return;
    };
    seed_owner_key(&db.url);
    let sync = create_service_account(&db.url, "acme", "sync");
    let mut flags = words("--grant-type client_credentials --scope read");
    flags.extend(["--service-account", &sync]);
    let app = create_app(&db.url, "Sync", "confidential", &flags);
    let client = Client {
        id: app["client_id"].as_str().expect("client_id").to_owned(),
        secret: app["client_secret"].as_str().expect("secret").to_owned(),
    };
    let mut set = ReplicaSet::start(db, 3, &[]).await;

    // Two tasks per replica, each asking for tokens as fast as they come.
    let (stop, answers) = (StopFlag::default(), Arc::new(Mutex::new(Vec::new())));
    let mut load = Vec::new();
    for (replica, url) in set.urls.iter().enumerate() {
        for _ in 0..2 {
            let (http, url, client) = (reqwest::Client::new(), url.clone(), client.clone());
            let (stop, answers) = (stop.clone(), answers.clone());
            load.push(tokio::spawn(async move {
                while !stop.stopped() {
                    let outcome = issue(&http, &url, &client).await;
                    let failed = outcome.is_err();
                    answers.lock().unwrap().push(Answer {
                        replica,
                        at: Instant::now(),
                        outcome,
                    });
                    if failed {
                        // A dead replica refuses at once; do not spin on it.
                        tokio::time::sleep(Duration::from_millis(20)).await;
                    }
                }
            }));
        }
    }
    tokio::time::sleep(Duration::from_millis(1200)).await;
    let killed_at = Instant::now();
    set.kill_hard(0);
    tokio::time::sleep(Duration::from_millis(1500)).await;
    stop.stop();
    for task in load {
        task.await.unwrap();
    }
    let answers = std::mem::take(&mut *answers.lock().unwrap());

    let issued_by = |replica: usize, after: bool| {
        answers
            .iter()
            .filter(|a| a.replica == replica && a.outcome.is_ok() && (a.at > killed_at) == after)
            .count()
    };
    let before_kill = issued_by(0, false);
    assert!(
        before_kill >= 10,
        "the killed replica issued {before_kill} tokens"
    );
    for survivor in [1, 2] {
        let failures: Vec<_> = answers
            .iter()
            .filter(|a| a.replica == survivor)
            .filter_map(|a| a.outcome.as_ref().err())
            .collect();
        assert!(
            failures.is_empty(),
            "replica {survivor} failed: {failures:?}"
        );
        let after_kill = issued_by(survivor, true);
        assert!(
            after_kill >= 10,
            "replica {survivor} issued {after_kill} tokens after the kill"
        );
    }

    // Every token answered 200, by any replica, is active on a survivor.
    let tokens: Vec<String> = answers
        .iter()
        .filter_map(|a| a.outcome.as_ref().ok().cloned())
        .collect();
    let checked = Arc::new(Mutex::new(tokens.clone()));
    let mut checkers = Vec::new();
    for url in [&set.urls[1], &set.urls[2]] {
        for _ in 0..2 {
            let (http, url, client) = (reqwest::Client::new(), url.clone(), client.clone());
            let checked = checked.clone();
            checkers.push(tokio::spawn(async move {
                let mut lost = Vec::new();
                loop {
                    let Some(token) = checked.lock().unwrap().pop() else {
                        return lost;
                    };
                    if !active(&http, &url, &client, &token).await {
                        lost.push(token);
                    }
                }
            }));
        }
    }
    let mut lost = Vec::new();
    for checker in checkers {
        lost.extend(checker.await.unwrap());
    }
    eprintln!(
        "kill -9 under load: {} tokens answered ({before_kill} by the killed replica before the \
         kill), {} lost",
        tokens.len(),
        lost.len()
    );
    assert!(lost.is_empty(), "{} answered tokens were lost", lost.len());
    set.stop().await;
}
