//! `SIGTERM` drains the server and exits 0: a client holding half a request head cannot hold
//! the exit past the drain deadline, every request the server read is answered (the last one
//! on each kept-alive connection with `Connection: close`), and the pending `last_used_at`
//! writes reach the database.

use std::io::Write;
use std::net::TcpStream;
use std::process::{Command, ExitStatus};
use std::time::{Duration, Instant};

use gatekey_store::testing::{backends, TestDatabase};
use sqlx::Row;

use crate::fixtures::seed_owner_key;
use crate::process::Server;
use crate::web::post_json;

/// Sends `SIGTERM` to the server, as a process manager stopping it does.
fn terminate(server: &Server) {
    let status = Command::new("kill")
        .args(["-TERM", &server.child.id().to_string()])
        .status()
        .expect("kill runs");
    assert!(status.success());
}

/// Waits up to `patience` for the server to exit; its status and how long that took.
fn exit_within(server: &mut Server, patience: Duration) -> Option<(ExitStatus, Duration)> {
    let started = Instant::now();
    while started.elapsed() < patience {
        if let Some(status) = server.child.try_wait().expect("wait") {
            return Some((status, started.elapsed()));
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    None
}

/// The address `host:port` of a server URL.
fn address(url: &str) -> &str {
    url.trim_start_matches("http://")
}

#[test]
fn a_half_sent_request_head_does_not_hold_the_exit_past_the_drain_deadline() {
    for backend in backends() {
        let runtime = tokio::runtime::Runtime::new().expect("runtime");
        let db = runtime.block_on(TestDatabase::create(backend));
        seed_owner_key(&db.url);
        // The head may take a minute: only the drain deadline can end the wait.
        let mut server = Server::start(
            &db.url,
            &[
                ("GATEKEY_HTTP__HEADER_READ_TIMEOUT", "60"),
                ("GATEKEY_SHUTDOWN__DRAIN_TIMEOUT", "2"),
            ],
        );
        let mut slow = TcpStream::connect(address(&server.url)).expect("connect");
        slow.write_all(b"GET /healthz HTTP/1.1\r\nHost: gatekey\r\nX-Slow: ")
            .expect("half a head");
        std::thread::sleep(Duration::from_millis(200));

        terminate(&server);
        let exited = exit_within(&mut server, Duration::from_secs(15));
        let (status, took) = exited.expect("{backend}: the server exits within 15 s");
        assert!(status.success(), "{backend}: exit status {status:?}");
        assert!(
            took >= Duration::from_millis(1500) && took < Duration::from_secs(4),
            "{backend}: exited {took:?} after SIGTERM; the drain deadline is 2 s"
        );
        drop(slow);
        runtime.block_on(db.drop_database());
    }
}

/// What one client saw while the server drained.
#[derive(Debug, Default)]
struct ClientLog {
    /// Keys created and answered.
    answered: usize,
    /// Whether the last answer said `Connection: close`.
    last_said_close: bool,
    /// The error that ended the client: `None` if it could not connect (nothing was sent).
    lost: Option<String>,
}

/// Creates keys over one kept-alive connection until the server stops answering.
async fn create_keys_until_refused(url: String, owner_key: String, writer: usize) -> ClientLog {
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(1)
        .build()
        .expect("client");
    let mut log = ClientLog::default();
    for n in 0.. {
        let body = serde_json::json!({"name": format!("drain {writer}-{n}")});
        match post_json(&http, &url, "/api/v1/api_keys", &owner_key, &body).await {
            Ok(response) => {
                assert_eq!(response.status(), 201, "writer {writer}");
                log.last_said_close = response
                    .headers()
                    .get("connection")
                    .is_some_and(|value| value.as_bytes().eq_ignore_ascii_case(b"close"));
                response.bytes().await.expect("the whole answer");
                log.answered += 1;
            }
            Err(error) if error.is_connect() => return log,
            Err(error) => {
                log.lost = Some(format!("{error:?}"));
                return log;
            }
        }
    }
    log
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_drain_under_keep_alive_load_answers_every_request_it_read() {
    for backend in backends() {
        let db = TestDatabase::create(backend).await;
        let owner_key = seed_owner_key(&db.url);
        // `last_used_at` is written only at the exit: the periodic write is a minute away.
        let mut server = Server::start(&db.url, &[("GATEKEY_CACHE__LAST_USED_FLUSH", "60")]);
        let mut writers = Vec::new();
        for writer in 0..8 {
            writers.push(tokio::spawn(create_keys_until_refused(
                server.url.clone(),
                owner_key.clone(),
                writer,
            )));
        }
        tokio::time::sleep(Duration::from_millis(700)).await;
        let terminated_at = time::OffsetDateTime::now_utc();
        terminate(&server);
        let mut logs = Vec::new();
        for writer in writers {
            logs.push(writer.await.expect("writer"));
        }
        let exited =
            tokio::task::block_in_place(|| exit_within(&mut server, Duration::from_secs(10)));
        let (status, took) = exited.expect("the server exits");
        assert!(status.success(), "{backend}: exit status {status:?}");
        assert!(
            took < Duration::from_secs(5),
            "{backend}: exit took {took:?}"
        );

        let lost: Vec<_> = logs.iter().filter_map(|log| log.lost.as_ref()).collect();
        assert!(
            lost.is_empty(),
            "{backend}: {} of 8 clients lost a request in flight: {lost:?}",
            lost.len()
        );
        for (writer, log) in logs.iter().enumerate() {
            assert!(log.answered > 0, "{backend}: writer {writer} was served");
            assert!(
                log.last_said_close,
                "{backend}: writer {writer}'s last answer said Connection: close"
            );
        }

        sqlx::any::install_default_drivers();
        let database = sqlx::AnyPool::connect(&db.url).await.expect("database");
        let stored: i64 =
            sqlx::query("SELECT COUNT(*) AS n FROM api_keys WHERE name LIKE 'drain %'")
                .fetch_one(&database)
                .await
                .expect("count")
                .get("n");
        let answered: usize = logs.iter().map(|log| log.answered).sum();
        assert_eq!(
            usize::try_from(stored).expect("a count"),
            answered,
            "{backend}: every key created was answered"
        );
        let last_used: Option<i64> =
            sqlx::query("SELECT MAX(last_used_at) AS t FROM api_keys WHERE name = 'seed'")
                .fetch_one(&database)
                .await
                .expect("last use")
                .get("t");
        let terminated_ms = terminated_at.unix_timestamp_nanos() / 1_000_000;
        assert!(
            last_used.is_some_and(|t| i128::from(t) >= terminated_ms - 1_000),
            "{backend}: the owner key's last use, up to the SIGTERM, was written at exit: \
             {last_used:?} vs {terminated_ms}"
        );
        database.close().await;
        db.drop_database().await;
    }
}
