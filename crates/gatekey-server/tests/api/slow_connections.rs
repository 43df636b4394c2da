//! Slow and abusive connections: a client that sends half a request head, or keeps a connection
//! open doing nothing, is cut off after the configured time, and meanwhile others are served.

use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::task::JoinSet;
use tokio::time::{timeout, Instant};

use crate::harness::{each_backend, TestApp};

/// Reads until the server closes the connection; how long that took, or `None` if it stayed
/// open for `patience`.
async fn closed_within(mut stream: TcpStream, patience: Duration) -> Option<Duration> {
    let started = Instant::now();
    let mut buffer = [0u8; 4096];
    loop {
        match timeout(
            patience.saturating_sub(started.elapsed()),
            stream.read(&mut buffer),
        )
        .await
        {
            Ok(Ok(0) | Err(_)) => return Some(started.elapsed()),
            Ok(Ok(_)) => continue,
            Err(_) => return None,
        }
    }
}

const HEALTHZ: &[u8] = b"GET /healthz HTTP/1.1\r\nHost: gatekey\r\n\r\n";

#[tokio::test]
async fn half_sent_request_heads_are_cut_off_while_others_are_served() {
    each_backend(|backend| async move {
        let app = TestApp::start_with(backend, |c| {
            c.http.header_read_timeout = 1;
            c.http.idle_timeout = 30;
        })
        .await;
        let mut slow = Vec::new();
        for _ in 0..500 {
            let mut stream = TcpStream::connect(app.server.addr).await.expect("connect");
            stream
                .write_all(b"GET /healthz HTTP/1.1\r\nHost: gatekey\r\nX-Slow: ")
                .await
                .expect("half a head");
            slow.push(stream);
        }
        let opened = Instant::now();
        for _ in 0..5 {
            let answer = app
                .http
                .get(app.url("/healthz"))
                .send()
                .await
                .expect("sent");
            assert_eq!(answer.status(), 200);
        }
        assert!(
            opened.elapsed() < Duration::from_secs(1),
            "normal requests were served while 500 heads hung"
        );
        let mut waiting = JoinSet::new();
        for stream in slow {
            waiting.spawn(closed_within(stream, Duration::from_secs(5)));
        }
        let closed = waiting.join_all().await;
        let open = closed.iter().filter(|c| c.is_none()).count();
        assert_eq!(
            open, 0,
            "{open} of 500 slow connections were still open after 5 s"
        );
        let slowest = closed.iter().flatten().max().copied().unwrap_or_default();
        assert!(
            opened.elapsed() < Duration::from_secs(3),
            "all closed about one second after opening (slowest {slowest:?})"
        );
        app.stop().await;
    })
    .await;
}

#[tokio::test]
async fn an_idle_kept_alive_connection_is_closed_after_the_idle_timeout() {
    each_backend(|backend| async move {
        let app = TestApp::start_with(backend, |c| {
            c.http.header_read_timeout = 1;
            c.http.idle_timeout = 3;
        })
        .await;
        let mut stream = TcpStream::connect(app.server.addr).await.expect("connect");
        let mut buffer = [0u8; 4096];
        stream.write_all(HEALTHZ).await.expect("request");
        let read = stream.read(&mut buffer).await.expect("answer");
        assert!(buffer[..read].starts_with(b"HTTP/1.1 200"));

        // Longer than the header timeout, shorter than the idle one: still open.
        tokio::time::sleep(Duration::from_millis(1500)).await;
        stream.write_all(HEALTHZ).await.expect("second request");
        let read = stream.read(&mut buffer).await.expect("second answer");
        assert!(
            buffer[..read].starts_with(b"HTTP/1.1 200"),
            "{}",
            String::from_utf8_lossy(&buffer[..read])
        );

        let idle = closed_within(stream, Duration::from_secs(6)).await;
        let idle = idle.expect("closed after the idle timeout");
        assert!(
            idle >= Duration::from_millis(2500) && idle < Duration::from_millis(4500),
            "closed after {idle:?}"
        );
        app.stop().await;
    })
    .await;
}

#[tokio::test]
async fn a_dribbled_request_body_is_cut_off_after_the_body_read_timeout() {
    each_backend(|backend| async move {
        let app = TestApp::start_with(backend, |c| {
            c.http.header_read_timeout = 1;
            c.http.body_read_timeout = 2;
        })
        .await;
        let stream = TcpStream::connect(app.server.addr).await.expect("connect");
        let (mut reader, mut writer) = stream.into_split();
        let started = Instant::now();
        // The head arrives at once; the body, a byte every 200 ms, would take 200 seconds.
        let dribble = tokio::spawn(async move {
            writer
                .write_all(
                    b"POST /oauth/token HTTP/1.1\r\nHost: gatekey\r\n\
                      Content-Type: application/x-www-form-urlencoded\r\n\
                      Content-Length: 1000\r\n\r\n",
                )
                .await?;
            loop {
                writer.write_all(b"a").await?;
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
            #[allow(unreachable_code)]
            Ok::<(), std::io::Error>(())
        });
        let mut answer = Vec::new();
        let mut buffer = [0u8; 4096];
        let closed = loop {
            match timeout(Duration::from_secs(8), reader.read(&mut buffer)).await {
                Ok(Ok(0) | Err(_)) => break Some(started.elapsed()),
                Ok(Ok(read)) => answer.extend_from_slice(&buffer[..read]),
                Err(_) => break None,
            }
        };
        dribble.abort();
        let closed = closed.expect("the connection is closed, not held by the dribble");
        assert!(
            closed >= Duration::from_millis(1500) && closed < Duration::from_secs(5),
            "closed after {closed:?}"
        );
        let answer = String::from_utf8_lossy(&answer);
        assert!(answer.starts_with("HTTP/1.1 4"), "{answer}");
        app.stop().await;
    })
    .await;
}
