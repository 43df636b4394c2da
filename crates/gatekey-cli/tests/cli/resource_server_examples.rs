//! The example APIs of `docs/resource-server.md` (`examples/resource-server/`), run as a reader
//! runs them, against a real `gatekey serve`: each must accept an API key and an access token
//! with the right scopes, name the caller's user and account, answer RFC 6750's errors, refuse
//! a key at once after its revocation, and answer 503 (not 401) when gatekey is gone.
//!
//! They need `python3` and `node`. Without them the test says so and passes, unless
//! `GATEKEY_TEST_README` is set (CI sets it), so that CI cannot skip the documentation.
//! The examples speak HTTP to gatekey and nothing else, so one backend (SQLite) tests them.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use gatekey_store::testing::TestDatabase;
use gatekey_store::Backend;
use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::fixtures::{create_api_key, create_app, create_service_account, seed_owner_key};
use crate::process::{admin_json, lines_of, words, Server};

/// Set to make a missing interpreter a failure instead of a skip.
const REQUIRED_VAR: &str = "GATEKEY_TEST_README";

/// An example: the interpreter and the program, relative to the repository's root.
const EXAMPLES: [(&str, &str); 2] = [
    ("python3", "examples/resource-server/python/notes_api.py"),
    ("node", "examples/resource-server/node/notes_api.mjs"),
];

#[tokio::test]
async fn the_resource_server_examples_accept_gatekey_credentials() {
    for (interpreter, program) in EXAMPLES {
        if !runs(interpreter) {
            assert!(
                std::env::var_os(REQUIRED_VAR).is_none(),
                "{REQUIRED_VAR} is set, but {program} cannot run: {interpreter} is missing"
            );
            eprintln!("skipped {program}: {interpreter} is missing");
            continue;
        }
        check_example(interpreter, program).await;
    }
}

/// What one example must do, against a fresh server and database.
async fn check_example(interpreter: &str, program: &str) {
    let db = TestDatabase::create(Backend::Sqlite).await;
    let url = db.url.as_str();
    let owner_key = seed_owner_key(url);
    for (name, description) in [
        ("notes:read", "Read your notes"),
        ("notes:write", "Write notes in your name"),
    ] {
        admin_json(
            url,
            &[
                "scope",
                "create",
                "--name",
                name,
                "--description",
                description,
            ],
        );
    }
    let resource_server = create_app(
        url,
        "Notes API",
        "confidential",
        &["--introspect", "--no-grant-type"],
    );
    let owner = ["--email", "ada@acme.test"];
    let writer = create_api_key(
        url,
        owner,
        "acme",
        "writer",
        &scope("notes:read notes:write"),
    );
    let reader = create_api_key(url, owner, "acme", "reader", &scope("notes:read"));
    let sync = create_service_account(url, "acme", "sync");
    let mut machine_flags = words("--grant-type client_credentials --scope notes:read");
    machine_flags.extend(["--service-account", &sync]);
    let machine = create_app(url, "Sync", "confidential", &machine_flags);

    let gatekey = Server::start(url, &[]);
    let api = Example::start(interpreter, program, &gatekey.url, &resource_server);
    let http = reqwest::Client::new();
    let notes = format!("{}/notes", api.url);
    let secret = |key: &Value| key["secret"].as_str().expect("secret").to_owned();
    let (writer_secret, reader_secret) = (secret(&writer), secret(&reader));

    // No credential: the challenge without an error code (RFC 6750 §3.1).
    let answer = http.get(&notes).send().await.expect("example answers");
    assert_eq!(answer.status(), StatusCode::UNAUTHORIZED, "{program}");
    assert_eq!(challenge(&answer), r#"Bearer realm="notes""#, "{program}");
    let answer = call(&http, &notes, "gk_key_not_a_real_key", None).await;
    assert_eq!(answer.0, StatusCode::UNAUTHORIZED, "{program}: {answer:?}");
    assert!(
        answer.1.contains(r#"error="invalid_token""#),
        "{program}: {answer:?}"
    );

    let note = json!({"text": "hello"});
    let (status, _, body) = call(&http, &notes, &writer_secret, Some(&note)).await;
    assert_eq!(status, StatusCode::CREATED, "{program}: {body}");
    assert_eq!(body["via"], "api_key", "{program}: {body}");
    let (status, _, body) = call(&http, &notes, &reader_secret, None).await;
    assert_eq!(status, StatusCode::OK, "{program}: {body}");
    assert_eq!(body["account"], "acme", "{program}: {body}");
    assert_eq!(body["notes"][0]["text"], "hello", "{program}: {body}");
    assert_eq!(body["user"], body["notes"][0]["by"], "{program}: {body}");

    let (status, challenge, body) = call(&http, &notes, &reader_secret, Some(&note)).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{program}: {body}");
    assert!(
        challenge.contains(r#"error="insufficient_scope""#)
            && challenge.contains(r#"scope="notes:write""#),
        "{program}: {challenge}"
    );

    let token = client_credentials_token(&http, &gatekey.url, &machine).await;
    let (status, _, body) = call(&http, &notes, &token, None).await;
    assert_eq!(status, StatusCode::OK, "{program}: {body}");
    let (status, _, _) = call(&http, &notes, &token, Some(&note)).await;
    assert_eq!(
        status,
        StatusCode::FORBIDDEN,
        "{program}: a read-only token wrote"
    );

    // The example runs with its cache off, and gatekey drops a key revoked through it from its
    // own cache at once, so the revocation shows at once.
    let revoked = http
        .delete(format!("{}/api/v1/api_keys/{}", gatekey.url, writer["id"]))
        .bearer_auth(&owner_key)
        .send()
        .await
        .expect("gatekey answers");
    assert_eq!(revoked.status(), StatusCode::NO_CONTENT);
    let (status, _, body) = call(&http, &notes, &writer_secret, None).await;
    assert_eq!(
        status,
        StatusCode::UNAUTHORIZED,
        "{program}: revoked key: {body}"
    );

    drop(gatekey);
    let (status, _, body) = call(&http, &notes, &reader_secret, None).await;
    assert_eq!(
        status,
        StatusCode::SERVICE_UNAVAILABLE,
        "{program}: gatekey gone: {body}"
    );
    drop(api);
    db.drop_database().await;
}

/// `--scope SCOPES`.
fn scope(scopes: &str) -> [&str; 2] {
    ["--scope", scopes]
}

/// The `WWW-Authenticate` header of `answer`, or "".
fn challenge(answer: &reqwest::Response) -> String {
    answer
        .headers()
        .get("www-authenticate")
        .and_then(|value| value.to_str().ok())
        .unwrap_or("")
        .to_owned()
}

/// `GET url`, or `POST url` with `body`, with `credential` as the bearer: the status, the
/// challenge and the JSON answer.
async fn call(
    http: &reqwest::Client,
    url: &str,
    credential: &str,
    body: Option<&Value>,
) -> (StatusCode, String, Value) {
    let request = match body {
        Some(body) => http.post(url).json(body),
        None => http.get(url),
    };
    let answer = request
        .bearer_auth(credential)
        .send()
        .await
        .expect("example answers");
    let status = answer.status();
    let challenge = challenge(&answer);
    let body = answer.json().await.unwrap_or(Value::Null);
    (status, challenge, body)
}

/// An access token of `app` by `client_credentials`.
async fn client_credentials_token(http: &reqwest::Client, server: &str, app: &Value) -> String {
    let answer: Value = http
        .post(format!("{server}/oauth/token"))
        .basic_auth(
            app["client_id"].as_str().expect("client id"),
            app["client_secret"].as_str(),
        )
        .form(&[
            ("grant_type", "client_credentials"),
            ("scope", "notes:read"),
        ])
        .send()
        .await
        .expect("token endpoint answers")
        .json()
        .await
        .expect("token response");
    answer["access_token"]
        .as_str()
        .unwrap_or_else(|| panic!("no token: {answer}"))
        .to_owned()
}

/// Whether `interpreter --version` runs.
fn runs(interpreter: &str) -> bool {
    Command::new(interpreter)
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|status| status.success())
}

/// A running example API; killed when dropped.
struct Example {
    child: Child,
    url: String,
}

impl Example {
    /// Starts `program` on a free port as the guide says, introspecting at `server` as the
    /// application `resource_server`, with its cache off; waits until it listens.
    fn start(interpreter: &str, program: &str, server: &str, resource_server: &Value) -> Self {
        let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
        let child = Command::new(interpreter)
            .arg(root.join(program))
            .env("AUTH_SERVER", server)
            .env(
                "INTROSPECT_CLIENT_ID",
                resource_server["client_id"].as_str().expect("client id"),
            )
            .env(
                "INTROSPECT_CLIENT_SECRET",
                resource_server["client_secret"].as_str().expect("secret"),
            )
            .env("PORT", "0")
            .env("CACHE_SECONDS", "0")
            .stdout(Stdio::piped())
            .spawn()
            .expect("the example starts");
        let mut example = Self {
            child,
            url: String::new(),
        };
        let line = lines_of(example.child.stdout.take().expect("stdout"))
            .recv_timeout(Duration::from_secs(30))
            .unwrap_or_else(|_| panic!("{program} did not say it listens"));
        example.url = line
            .strip_prefix("notes API listening on ")
            .unwrap_or_else(|| panic!("{program} printed {line:?}"))
            .to_owned();
        example
    }
}

impl Drop for Example {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
