//! Running `gatekey` as a child process.
#![allow(dead_code)] // Helpers are shared by test modules; not every module uses each one.

use std::io::{BufRead, BufReader, Write};
use std::process::{Child, ChildStdout, Command, Output, Stdio};
use std::sync::mpsc;
use std::time::Duration;

/// A `gatekey` command.
pub fn gatekey() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_gatekey"));
    for (name, _) in std::env::vars() {
        if name.starts_with("GATEKEY_") {
            command.env_remove(name);
        }
    }
    // Every replica on one PostgreSQL database needs the same key-encryption key, and a server
    // on PostgreSQL refuses to start without one.
    command.env(
        "GATEKEY_SIGNING__KEY_ENCRYPTION_KEY",
        TEST_KEY_ENCRYPTION_KEY,
    );
    command
}

/// The key-encryption key of the signing keys every `gatekey` of these tests is given.
pub const TEST_KEY_ENCRYPTION_KEY: &str = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";

/// A `gatekey serve` on `127.0.0.1:0` over `database_url`, not started yet.
pub fn serve_command(database_url: &str) -> Command {
    let mut command = gatekey();
    command.args(["serve", "--listen", "127.0.0.1:0", "--database-url"]);
    command.arg(database_url);
    command
}

/// Runs `gatekey admin …` on `database_url` and returns its output.
pub fn admin(database_url: &str, args: &[&str]) -> Output {
    gatekey()
        .arg("admin")
        .args(args)
        .arg("--database-url")
        .arg(database_url)
        .output()
        .expect("gatekey runs")
}

/// The words of `line` split at white space: a command line short to write when no argument
/// holds a space.
pub fn words(line: &str) -> Vec<&str> {
    line.split_whitespace().collect()
}

/// Runs `gatekey admin …` on `database_url` with `stdin` on its standard input, as a password
/// is given.
pub fn admin_with_stdin(database_url: &str, args: &[&str], stdin: &str) -> Output {
    let mut child = gatekey()
        .arg("admin")
        .args(args)
        .arg("--database-url")
        .arg(database_url)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("gatekey runs");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(stdin.as_bytes())
        .expect("stdin written");
    child.wait_with_output().expect("gatekey exits")
}

/// Runs `gatekey admin … --json` and parses standard output; panics unless it exits 0.
pub fn admin_json(database_url: &str, args: &[&str]) -> serde_json::Value {
    let mut all = args.to_vec();
    all.push("--json");
    let output = admin(database_url, &all);
    assert!(
        output.status.success(),
        "gatekey admin {args:?} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).expect("one JSON document")
}

/// The lines `stdout` prints, read on a thread so that a full pipe never blocks the child.
pub fn lines_of(stdout: ChildStdout) -> mpsc::Receiver<String> {
    let (lines_tx, lines_rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if lines_tx.send(line).is_err() {
                break;
            }
        }
    });
    lines_rx
}

/// A running `gatekey serve`; killed when dropped.
pub struct Server {
    pub child: Child,
    pub url: String,
    /// Lines printed before "listening".
    pub banner: Vec<String>,
}

impl Server {
    /// Starts `gatekey serve` on port 0 with `database_url` and waits until it listens.
    pub fn start(database_url: &str, envs: &[(&str, &str)]) -> Self {
        let mut command = Self::command(database_url, envs);
        command.stderr(Stdio::null());
        Self::spawn(command)
    }

    /// The command [`Server::start`] runs: a quick invalidation poll, no rate limits, then
    /// `envs`.
    pub fn command(database_url: &str, envs: &[(&str, &str)]) -> Command {
        let mut command = serve_command(database_url);
        command
            .env("GATEKEY_CACHE__INVALIDATION_POLL_MS", "100")
            .env("GATEKEY_RATE_LIMIT__PER_SECOND", "0")
            .env("GATEKEY_RATE_LIMIT__PER_MINUTE", "0");
        for (key, value) in envs {
            command.env(key, value);
        }
        command
    }

    /// Spawns `command`, a `gatekey serve …`, and waits until it prints that it listens.
    pub fn spawn(mut command: Command) -> Self {
        let child = command
            .stdout(Stdio::piped())
            .spawn()
            .expect("gatekey serve starts");
        // Owned by `server` at once, so that a failed start still kills the process.
        let mut server = Self {
            child,
            url: String::new(),
            banner: Vec::new(),
        };
        let lines_rx = lines_of(server.child.stdout.take().expect("stdout"));
        loop {
            let line = lines_rx
                .recv_timeout(Duration::from_secs(60))
                .expect("the server prints that it listens");
            if let Some(rest) = line.strip_prefix("gatekey: listening on ") {
                server.url = rest.split_whitespace().next().expect("url").to_owned();
                return server;
            }
            server.banner.push(line);
        }
    }

    /// `kill -9`: no shutdown, no flush.
    pub fn kill_hard(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
