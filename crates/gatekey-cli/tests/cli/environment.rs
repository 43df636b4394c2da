//! `GATEKEY_*` variables that are not configuration keys (a client's API key, a typo) are
//! ignored with one warning by `serve` and `admin`; unknown keys in the file stay errors, with
//! the closest known key suggested.

use std::io::{BufRead, BufReader};
use std::process::Stdio;

use gatekey_store::testing::{backends, TestDatabase};

use crate::fixtures::create_account;
use crate::process::{gatekey, serve_command};

/// The lines of `stderr` that are the unknown-variables warning.
fn warnings(stderr: &[u8]) -> Vec<String> {
    String::from_utf8_lossy(stderr)
        .lines()
        .filter(|line| line.starts_with("gatekey: warning:"))
        .map(str::to_owned)
        .collect()
}

#[tokio::test]
async fn admin_commands_run_with_a_client_api_key_in_the_environment() {
    for backend in backends() {
        let db = TestDatabase::create(backend).await;
        create_account(&db.url, "acme", "Acme Inc");
        let listed = gatekey()
            .args(["admin", "account", "list", "--database-url", &db.url])
            .env("GATEKEY_API_KEY", "gk_key_for_a_client_program")
            .env("GATEKEY_LISTN", "127.0.0.1:1")
            .env("GATEKEY_CONNECTION", "Server=http://127.0.0.1:1;ApiKey=x")
            .output()
            .expect("gatekey runs");
        let stderr = String::from_utf8_lossy(&listed.stderr);
        assert!(listed.status.success(), "{stderr}");
        assert!(String::from_utf8_lossy(&listed.stdout).contains("acme"));
        assert_eq!(
            warnings(&listed.stderr),
            ["gatekey: warning: ignoring environment variables that are not configuration keys: \
              GATEKEY_API_KEY, GATEKEY_LISTN (did you mean GATEKEY_LISTEN?)"],
            "{stderr}"
        );
        assert!(
            !stderr.contains("gk_key_for_a_client_program"),
            "values are never shown: {stderr}"
        );

        let quiet = gatekey()
            .args(["admin", "account", "list", "--database-url", &db.url])
            .env("GATEKEY_CONNECTION", "Server=http://127.0.0.1:1;ApiKey=x")
            .output()
            .expect("gatekey runs");
        assert!(quiet.status.success());
        assert!(
            quiet.stderr.is_empty(),
            "{}",
            String::from_utf8_lossy(&quiet.stderr)
        );
        db.drop_database().await;
    }
}

#[tokio::test]
async fn serve_starts_with_a_client_api_key_in_the_environment() {
    let db = TestDatabase::create(gatekey_store::Backend::Sqlite).await;
    let mut child = serve_command(&db.url)
        .env("GATEKEY_API_KEY", "gk_key_for_a_client_program")
        .env("GATEKEY_LOG", "off")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("gatekey serve starts");
    let stdout = child.stdout.take().expect("stdout");
    let listening = BufReader::new(stdout)
        .lines()
        .map_while(Result::ok)
        .any(|line| line.starts_with("gatekey: listening on "));
    let _ = child.kill();
    let output = child.wait_with_output().expect("gatekey exits");
    assert!(listening, "{}", String::from_utf8_lossy(&output.stderr));
    assert_eq!(
        warnings(&output.stderr),
        [
            "gatekey: warning: ignoring environment variables that are not configuration keys: \
          GATEKEY_API_KEY"
        ]
    );
    db.drop_database().await;
}

#[tokio::test]
async fn an_unknown_key_in_the_file_stops_the_command_and_suggests_the_known_one() {
    let dir = tempfile::tempdir().expect("temporary folder");
    let file = dir.path().join("gatekey.toml");
    std::fs::write(&file, "[rate_limit]\nper_minit = 10\n").expect("file written");
    let refused = gatekey()
        .args(["admin", "account", "list", "--config"])
        .arg(&file)
        .output()
        .expect("gatekey runs");
    assert_eq!(refused.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(
        stderr.contains("per_minit")
            && stderr
                .trim_end()
                .ends_with("did you mean `rate_limit.per_minute`?"),
        "{stderr}"
    );
}

#[tokio::test]
async fn a_bad_shared_limit_setting_stops_serve_with_a_message_naming_it() {
    let db = TestDatabase::create(gatekey_store::Backend::Sqlite).await;
    let redis = ("GATEKEY_RATE_LIMIT__BACKEND", "redis");
    let cases: [(&[(&str, &str)], &str); 5] = [
        (&[redis], "needs rate_limit.redis_url"),
        (
            &[
                redis,
                ("GATEKEY_RATE_LIMIT__REDIS_URL", "http://127.0.0.1:6379"),
            ],
            "is not a Redis URL",
        ),
        (
            // Nothing listens on port 1.
            &[
                redis,
                (
                    "GATEKEY_RATE_LIMIT__REDIS_URL",
                    "redis://:pw-in-url@127.0.0.1:1",
                ),
            ],
            "cannot reach Redis",
        ),
        (
            &[
                redis,
                ("GATEKEY_RATE_LIMIT__REDIS_URL", "redis://127.0.0.1:1"),
                ("GATEKEY_RATE_LIMIT__REDIS_TIMEOUT_MS", "0"),
            ],
            "redis_timeout_ms must be more than 0",
        ),
        (
            &[("GATEKEY_RATE_LIMIT__BACKEND", "valkey")],
            "rate_limit.backend",
        ),
    ];
    for (envs, expected) in cases {
        let mut command = serve_command(&db.url);
        command.envs(envs.iter().copied());
        let output = command.output().expect("gatekey runs");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(1), "{envs:?}: {stderr}");
        assert!(
            stderr.to_lowercase().contains(&expected.to_lowercase()),
            "{envs:?}: {stderr}"
        );
        assert!(!stderr.contains("pw-in-url"), "{stderr}");
    }
    db.drop_database().await;
}
