//! A key whose creation was answered 201 survives `kill -9`.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use gatekey_store::testing::{backends, TestDatabase};

use crate::fixtures::seed_owner_key;
use crate::process::Server;
use crate::web::{me_status, post_json};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keys_answered_201_survive_kill_9() {
    for backend in backends() {
        let db = TestDatabase::create(backend).await;
        let owner_key = seed_owner_key(&db.url);
        let server = Server::start(&db.url, &[]);
        let url = server.url.clone();
        let answered: Arc<Mutex<Vec<String>>> = Arc::default();
        let http = reqwest::Client::new();

        let mut writers = Vec::new();
        for writer in 0..8 {
            let (http, url, owner_key, answered) = (
                http.clone(),
                url.clone(),
                owner_key.clone(),
                answered.clone(),
            );
            writers.push(tokio::spawn(async move {
                for n in 0.. {
                    let body = serde_json::json!({"name": format!("burst {writer}-{n}")});
                    let sent = post_json(&http, &url, "/api/v1/api_keys", &owner_key, &body).await;
                    let Ok(response) = sent else { break };
                    if response.status() != 201 {
                        continue;
                    }
                    let Ok(created) = response.json::<serde_json::Value>().await else {
                        break;
                    };
                    answered
                        .lock()
                        .unwrap()
                        .push(created["secret"].as_str().unwrap().to_owned());
                }
            }));
        }
        // Let the burst run, then kill the server in the middle of it.
        while answered.lock().unwrap().len() < 40 {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        server.kill_hard();
        for writer in writers {
            let _ = writer.await;
        }
        let answered = answered.lock().unwrap().clone();
        assert!(answered.len() >= 40);

        let server = Server::start(&db.url, &[]);
        for secret in &answered {
            let status = me_status(&http, &server.url, secret).await;
            assert_eq!(
                status, 200,
                "a key answered 201 before kill -9 must work after restart ({backend})"
            );
        }
        drop(server);
        db.drop_database().await;
    }
}
