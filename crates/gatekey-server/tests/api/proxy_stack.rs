//! A real reverse proxy (nginx or Caddy) between a client and an upstream API, asking gatekey's
//! `/auth/verify` about every request, configured by the files the gateway guide ships
//! (`docs/gateway/`), with only their addresses changed.
//!
//! The upstream answers every request with the headers and the body it received, as JSON, and
//! counts the requests that reached it.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::extract::State;
use axum::http::HeaderMap;
use axum::Json;
use serde_json::Value;
use tempfile::TempDir;

/// The nginx server block of the gateway guide.
pub const NGINX_CONF: &str = include_str!("../../../../docs/gateway/nginx.conf");
/// The Caddyfile of the gateway guide.
pub const CADDYFILE: &str = include_str!("../../../../docs/gateway/Caddyfile");

/// The proxies the guide configures and this suite runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProxyKind {
    Nginx,
    Caddy,
}

/// Whether the proxy suite runs: `GATEKEY_TEST_PROXIES=1`, with nginx and Caddy installed.
pub fn enabled() -> bool {
    let on = std::env::var("GATEKEY_TEST_PROXIES").is_ok_and(|v| v == "1");
    if !on {
        eprintln!("proxy tests skipped: set GATEKEY_TEST_PROXIES=1 with nginx and caddy installed");
    }
    on
}

/// The upstream API: echoes the request headers and body it got, and counts requests.
pub struct Upstream {
    pub addr: SocketAddr,
    hits: Arc<AtomicUsize>,
}

impl Upstream {
    pub async fn start() -> Self {
        let hits = Arc::new(AtomicUsize::new(0));
        let router = axum::Router::new()
            .fallback(echo_headers)
            .with_state(hits.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, router).await });
        Self { addr, hits }
    }

    /// Requests that reached the upstream so far.
    pub fn hits(&self) -> usize {
        self.hits.load(Ordering::SeqCst)
    }
}

/// `{"headers": {"header-name": ["value", …], …}, "body": "…"}` of the request, header names in
/// lower case.
async fn echo_headers(
    State(hits): State<Arc<AtomicUsize>>,
    headers: HeaderMap,
    body: String,
) -> Json<Value> {
    hits.fetch_add(1, Ordering::SeqCst);
    let mut seen: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (name, value) in &headers {
        let value = String::from_utf8_lossy(value.as_bytes()).into_owned();
        seen.entry(name.as_str().to_owned())
            .or_default()
            .push(value);
    }
    Json(serde_json::json!({ "headers": seen, "body": body }))
}

/// A running proxy; stopped (by its PID) when dropped.
pub struct Proxy {
    pub kind: ProxyKind,
    pub port: u16,
    child: Child,
    dir: TempDir,
}

impl Proxy {
    /// Starts `kind` on a free port with the guide's configuration, pointed at gatekey on
    /// `gatekey` and the API on `upstream`; returns once it answers.
    pub async fn start(kind: ProxyKind, gatekey: SocketAddr, upstream: SocketAddr) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let port = free_port();
        let child = match kind {
            ProxyKind::Nginx => start_nginx(dir.path(), port, gatekey, upstream),
            ProxyKind::Caddy => start_caddy(dir.path(), port, gatekey, upstream),
        };
        let mut proxy = Self {
            kind,
            port,
            child,
            dir,
        };
        proxy.wait_until_answering().await;
        proxy
    }

    /// The proxy's URL of `path`.
    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    async fn wait_until_answering(&mut self) {
        let client = reqwest::Client::new();
        let started = Instant::now();
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                panic!("{:?} exited with {status}: {}", self.kind, self.logs());
            }
            let answered = client
                .get(self.url("/"))
                .timeout(Duration::from_secs(1))
                .send()
                .await;
            if answered.is_ok() {
                return;
            }
            assert!(
                started.elapsed() < Duration::from_secs(15),
                "{:?} does not answer: {}",
                self.kind,
                self.logs()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// What the proxy wrote to its logs, for failure messages.
    pub fn logs(&self) -> String {
        ["error.log", "stderr.log"]
            .iter()
            .filter_map(|name| std::fs::read_to_string(self.dir.path().join(name)).ok())
            .collect::<Vec<_>>()
            .join("\n")
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        // SIGTERM first: nginx's master stops its workers only when it is asked, not killed.
        let _ = Command::new("kill")
            .arg("-TERM")
            .arg(self.child.id().to_string())
            .status();
        let asked = Instant::now();
        while asked.elapsed() < Duration::from_secs(5) {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// `text` with each `(from, to)` replaced; each `from` must occur exactly once, so that a change
/// of the guide's file shows here instead of testing something else.
pub fn replace_exactly_once(text: &str, replacements: &[(&str, String)]) -> String {
    let mut text = text.to_owned();
    for (from, to) in replacements {
        assert_eq!(
            text.matches(from).count(),
            1,
            "the guide's file holds `{from}` exactly once"
        );
        text = text.replace(from, to);
    }
    text
}

fn log_file(dir: &Path, name: &str) -> std::fs::File {
    std::fs::File::create(dir.join(name)).unwrap()
}

fn start_nginx(dir: &Path, port: u16, gatekey: SocketAddr, upstream: SocketAddr) -> Child {
    let server = replace_exactly_once(
        NGINX_CONF,
        &[
            ("server 127.0.0.1:8080;", format!("server {gatekey};")),
            (
                "proxy_pass http://127.0.0.1:3000;",
                format!("proxy_pass http://{upstream};"),
            ),
            (
                "listen 127.0.0.1:8000;",
                format!("listen 127.0.0.1:{port};"),
            ),
        ],
    );
    std::fs::write(dir.join("gateway.conf"), server).unwrap();
    let d = dir.display();
    let main = format!(
        "worker_processes 1;\n\
         error_log {d}/error.log warn;\n\
         pid {d}/nginx.pid;\n\
         events {{ worker_connections 256; }}\n\
         http {{\n\
         access_log off;\n\
         client_body_temp_path {d}/client_body;\n\
         proxy_temp_path {d}/proxy;\n\
         fastcgi_temp_path {d}/fastcgi;\n\
         uwsgi_temp_path {d}/uwsgi;\n\
         scgi_temp_path {d}/scgi;\n\
         include {d}/gateway.conf;\n\
         }}\n"
    );
    std::fs::write(dir.join("nginx.conf"), main).unwrap();
    Command::new("nginx")
        .arg("-p")
        .arg(dir)
        .arg("-e")
        .arg(dir.join("error.log"))
        .arg("-c")
        .arg(dir.join("nginx.conf"))
        .args(["-g", "daemon off;"])
        .stdin(Stdio::null())
        .stdout(log_file(dir, "stdout.log"))
        .stderr(log_file(dir, "stderr.log"))
        .spawn()
        .expect("nginx is installed")
}

fn start_caddy(dir: &Path, port: u16, gatekey: SocketAddr, upstream: SocketAddr) -> Child {
    let site = replace_exactly_once(
        CADDYFILE,
        &[
            (
                "reverse_proxy 127.0.0.1:8080 {",
                format!("reverse_proxy {gatekey} {{"),
            ),
            (
                "reverse_proxy 127.0.0.1:3000\n",
                format!("reverse_proxy {upstream}\n"),
            ),
            (":8000 {", format!(":{port} {{")),
        ],
    );
    // No admin endpoint: it would listen on a fixed port.
    let caddyfile = format!("{{\n\tadmin off\n}}\n\n{site}");
    std::fs::write(dir.join("Caddyfile"), caddyfile).unwrap();
    Command::new("caddy")
        .args(["run", "--adapter", "caddyfile", "--config"])
        .arg(dir.join("Caddyfile"))
        .env("HOME", dir)
        .env("XDG_CONFIG_HOME", dir.join("config"))
        .env("XDG_DATA_HOME", dir.join("data"))
        .stdin(Stdio::null())
        .stdout(log_file(dir, "stdout.log"))
        .stderr(log_file(dir, "stderr.log"))
        .spawn()
        .expect("caddy is installed")
}
