//! A `redis-server` of the test's own, on a free port, that the test can stop (by its PID) and
//! start again on the same port: a Redis outage on demand, which a shared Redis cannot give.
#![allow(dead_code)] // Shared by the replica test modules; not every module uses each part.

use std::io::{ErrorKind, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A running (or stopped) `redis-server` that keeps nothing on disk; killed when dropped.
pub struct RedisServer {
    port: u16,
    child: Option<Child>,
}

impl RedisServer {
    /// Whether `redis-server` can be run here.
    pub fn installed() -> bool {
        Command::new("redis-server")
            .arg("--version")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|status| status.success())
    }

    /// Starts `redis-server` on a free port of 127.0.0.1 and waits until it answers.
    pub fn start() -> Self {
        // The port is free when asked; another process could take it before Redis binds it, so
        // a start that fails tries another port.
        for _ in 0..5 {
            let port = TcpListener::bind("127.0.0.1:0")
                .and_then(|listener| listener.local_addr())
                .expect("a free port")
                .port();
            let mut server = Self { port, child: None };
            if server.try_start() {
                return server;
            }
        }
        panic!("redis-server did not start on any of five free ports");
    }

    /// `redis://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    /// Stops the server at once (SIGKILL to its PID): connections drop, nothing answers.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts the server again on the same port, empty, and waits until it answers.
    pub fn restart(&mut self) {
        self.stop();
        // The port was Redis's own; a just-killed listener lets go of it at once.
        assert!(
            self.try_start(),
            "redis-server did not start again on port {}",
            self.port
        );
    }

    /// Whether the server answers `PING` now.
    pub fn answers(&self) -> bool {
        let address = std::net::SocketAddr::from(([127, 0, 0, 1], self.port));
        let Ok(mut stream) = TcpStream::connect_timeout(&address, Duration::from_millis(200))
        else {
            return false;
        };
        let _ = stream.set_read_timeout(Some(Duration::from_millis(500)));
        let mut reply = [0; 7];
        stream.write_all(b"PING\r\n").is_ok()
            && stream.read_exact(&mut reply).is_ok()
            && &reply == b"+PONG\r\n"
    }

    /// Spawns `redis-server` on `self.port`; whether it answers within five seconds.
    fn try_start(&mut self) -> bool {
        let port = self.port.to_string();
        let child = Command::new("redis-server")
            .args(["--port", &port, "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn();
        let mut child = match child {
            Ok(child) => child,
            Err(error) if error.kind() == ErrorKind::NotFound => {
                panic!("redis-server is not installed; the shared-limit tests need it")
            }
            Err(error) => panic!("redis-server cannot run: {error}"),
        };
        let started = Instant::now();
        while started.elapsed() < Duration::from_secs(5) {
            if self.answers() {
                self.child = Some(child);
                return true;
            }
            // Exited: the port was taken after all.
            if child.try_wait().is_ok_and(|status| status.is_some()) {
                return false;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = child.kill();
        let _ = child.wait();
        false
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.stop();
    }
}

#[test]
fn a_redis_server_stops_and_starts_again_on_its_port() {
    if !RedisServer::installed() {
        eprintln!("redis-server is not installed; its fixture is not checked");
        return;
    }
    let mut redis = RedisServer::start();
    assert!(redis.answers());
    let url = redis.url();
    redis.stop();
    assert!(!redis.answers(), "a stopped Redis answers nothing");
    redis.restart();
    assert!(redis.answers(), "Redis answers again");
    assert_eq!(redis.url(), url, "on the same port");
}
