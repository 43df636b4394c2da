//! The README's walkthroughs, run as written against a fresh `gatekey serve`: which blocks run
//! and how is in `readme_steps`, how their output is checked in `documented_shape`.
//!
//! They need `bash`, `curl` and `jq`. Without them the test says so and passes, unless
//! `GATEKEY_TEST_README` is set (CI sets it), so that CI cannot skip the README.

use std::io::Read;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use gatekey_store::testing::{backends, TestDatabase};
use gatekey_store::Backend;

use crate::documented_shape::{expectations, mismatch};
use crate::process::{gatekey, Server};
use crate::readme_steps::{walkthrough_steps, Step, README_BASE_URL};

const README: &str = include_str!("../../../../README.md");

/// Set to make a missing tool a failure instead of a skip.
const REQUIRED_VAR: &str = "GATEKEY_TEST_README";

/// How long the whole walkthrough may take before it counts as hung.
const DEADLINE: Duration = Duration::from_secs(120);

/// Printed to both streams between steps, so that each output can be told to its step.
fn marker(index: usize) -> String {
    format!("\n@@readme step {index}@@\n")
}

#[tokio::test]
async fn the_readme_walkthroughs_run_as_written() {
    if let Some(missing) = missing_tool() {
        assert!(
            std::env::var_os(REQUIRED_VAR).is_none(),
            "{REQUIRED_VAR} is set, but the README walkthroughs cannot run: {missing} is missing"
        );
        eprintln!("skipped the README walkthroughs: {missing} is missing");
        return;
    }
    let steps = walkthrough_steps(README);
    assert!(
        steps.len() >= 10,
        "the README's walkthrough sections were not found: {steps:?}"
    );
    for backend in backends() {
        match backend {
            // As a reader runs it: no configuration, the database in ./gatekey-data.
            Backend::Sqlite => run_walkthrough(&steps, None),
            Backend::Postgres => {
                let db = TestDatabase::create(backend).await;
                run_walkthrough(&steps, Some(&db.url));
                db.drop_database().await;
            }
        }
    }
}

/// The first of the tools the walkthroughs use that does not run.
fn missing_tool() -> Option<&'static str> {
    ["bash", "curl", "jq"].into_iter().find(|tool| {
        Command::new(tool)
            .arg("--version")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .map_or(true, |status| !status.success())
    })
}

/// Runs `steps` in one shell next to a fresh server, on `database_url` (through
/// `GATEKEY_DATABASE_URL`) or on the default database; panics at the first step that fails or
/// prints something else than the README shows.
fn run_walkthrough(steps: &[Step], database_url: Option<&str>) {
    let dir = tempfile::tempdir().expect("temporary folder");
    let release = dir.path().join("target/release");
    std::fs::create_dir_all(&release).expect("target/release");
    std::os::unix::fs::symlink(env!("CARGO_BIN_EXE_gatekey"), release.join("gatekey"))
        .expect("the binary where the README runs it");

    let mut serve = gatekey();
    serve
        .current_dir(dir.path())
        .args(["serve", "--listen", "127.0.0.1:0"])
        .stderr(Stdio::null());
    let mut shell = bash(dir.path());
    if let Some(url) = database_url {
        serve.env("GATEKEY_DATABASE_URL", url);
        shell.env("GATEKEY_DATABASE_URL", url);
    }
    let server = Server::spawn(serve);

    shell.arg(script(steps, &server.url));
    let run = run_until(shell, DEADLINE);
    let outputs = split_by_step(&run.stdout, steps.len());
    let errors = split_by_step(&run.stderr, steps.len());
    let ran = outputs.iter().take_while(|output| output.is_some()).count();
    let completed = run.status.is_some_and(|status| status.success()) && ran == steps.len();
    if !completed {
        let index = ran.saturating_sub(1);
        panic!(
            "README.md line {}: the walkthrough stopped here ({}):\n{}\n--- output:\n{}\n--- errors:\n{}",
            steps[index].line,
            run.status
                .map_or("killed after the deadline".to_owned(), |s| s.to_string()),
            steps[index].command,
            outputs[index].unwrap_or(""),
            errors[index].unwrap_or(""),
        );
    }

    let mut failures = Vec::new();
    for (step, output) in steps.iter().zip(&outputs) {
        let output = output.unwrap_or("");
        for expected in expectations(&step.comments, step.shown_output.as_deref()) {
            if let Some(why) = mismatch(&expected, output) {
                failures.push(format!(
                    "README.md line {}: {why}\n{}\n--- documented: {expected:?}\n--- output:\n{output}",
                    step.line, step.command
                ));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "the README shows output the commands no longer print:\n\n{}",
        failures.join("\n\n")
    );
    drop(server);
}

/// `bash -euo pipefail -c …` in `dir`, with no `GATEKEY_*` variable of the test's own.
fn bash(dir: &Path) -> Command {
    let mut shell = Command::new("bash");
    shell
        .current_dir(dir)
        .args(["-euo", "pipefail", "-c"])
        .stdin(Stdio::null());
    for (name, _) in std::env::vars() {
        if name.starts_with("GATEKEY_") {
            shell.env_remove(name);
        }
    }
    shell
}

/// The shell script of `steps` on the server at `base_url`: each step after its marker, and
/// for `NAME=$(…)` the value of `$NAME` printed as its output.
fn script(steps: &[Step], base_url: &str) -> String {
    let mut script = String::new();
    for (index, step) in steps.iter().enumerate() {
        let marker = marker(index).replace('\n', "\\n");
        script.push_str(&format!("printf '{marker}'; printf '{marker}' >&2\n"));
        script.push_str(&step.command.replace(README_BASE_URL, base_url));
        script.push('\n');
        if let Some(name) = &step.assigns {
            script.push_str(&format!("printf '%s\\n' \"${name}\"\n"));
        }
    }
    let end = marker(steps.len()).replace('\n', "\\n");
    script.push_str(&format!("printf '{end}'; printf '{end}' >&2\n"));
    script
}

/// What each of `count` steps printed: the text between its marker and the next; `None` for
/// the steps that did not start.
fn split_by_step(printed: &str, count: usize) -> Vec<Option<&str>> {
    (0..count)
        .map(|index| {
            let (_, rest) = printed.split_once(&marker(index))?;
            Some(
                rest.split_once(&marker(index + 1))
                    .map_or(rest, |(own, _)| own),
            )
        })
        .collect()
}

/// What a finished (or killed) shell printed.
struct Run {
    /// Its exit status; `None` when it was killed at the deadline.
    status: Option<ExitStatus>,
    stdout: String,
    stderr: String,
}

/// Runs `command` with its output captured; kills it and the commands it started when it runs
/// past `deadline`.
fn run_until(mut command: Command, deadline: Duration) -> Run {
    let mut child = command
        .process_group(0)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("bash runs");
    let stdout = read_in_background(child.stdout.take().expect("stdout"));
    let stderr = read_in_background(child.stderr.take().expect("stderr"));
    let status = wait_until(&mut child, Instant::now() + deadline);
    Run {
        status,
        stdout: stdout.join().expect("stdout read"),
        stderr: stderr.join().expect("stderr read"),
    }
}

/// Reads `stream` to its end on a thread, so that a full pipe never blocks the child.
fn read_in_background(mut stream: impl Read + Send + 'static) -> std::thread::JoinHandle<String> {
    std::thread::spawn(move || {
        let mut bytes = Vec::new();
        let _ = stream.read_to_end(&mut bytes);
        String::from_utf8_lossy(&bytes).into_owned()
    })
}

/// The exit status of `child`, or `None` after killing its process group at `deadline` (a
/// `curl` left running would hold the output open).
fn wait_until(child: &mut Child, deadline: Instant) -> Option<ExitStatus> {
    loop {
        if let Some(status) = child.try_wait().expect("bash waited for") {
            return Some(status);
        }
        if Instant::now() >= deadline {
            let group = format!("-{}", child.id());
            let _ = Command::new("kill").args(["-KILL", "--", &group]).status();
            let _ = child.wait();
            return None;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}
