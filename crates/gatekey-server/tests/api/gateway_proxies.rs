//! gatekey behind real proxies: nginx (`auth_request`) and Caddy (the verify call written out),
//! each configured by the gateway guide's own files, in front of an upstream API that echoes
//! the headers it receives. What the client and the API see is asserted, once per proxy.
//!
//! Runs when `GATEKEY_TEST_PROXIES=1` (CI sets it and installs nginx and Caddy); elsewhere it
//! says so and stops. SQLite only: the proxies see gatekey's HTTP answers, whatever stores them.

use std::time::{Duration, Instant};

use figment::providers::{Format, Serialized, Toml};
use figment::Figment;
use gatekey_core::role::Role;
use gatekey_server::gateway::IDENTITY_HEADERS;
use gatekey_server::Config;
use gatekey_store::Backend;
use reqwest::header::HeaderMap;
use reqwest::Method;
use serde_json::Value;

use crate::harness::{send, ClientSpec, Seeded, TestApp};
use crate::proxy_stack::{enabled, Proxy, ProxyKind, Upstream, CADDYFILE, NGINX_CONF};

/// The route rules of the gatekey behind the proxies.
const GATEWAY_ROUTES: &str = r#"
[gateway]
unmatched = "deny"

[[gateway.routes]]
path = "/public/**"
public = true

[[gateway.routes]]
path = "/v1/admin/**"
scopes = ["admin"]

[[gateway.routes]]
methods = ["GET", "HEAD"]
path = "/v1/notes/**"
scopes = ["read"]

[[gateway.routes]]
methods = ["PUT"]
path = "/v1/notes/*"
scopes = ["write"]
"#;

/// gatekey, the upstream API and a proxy in front of both.
struct Stack {
    app: TestApp,
    seeded: Seeded,
    upstream: Upstream,
    proxy: Proxy,
}

impl Stack {
    /// Starts gatekey with [`GATEWAY_ROUTES`] and `configure`, the upstream, and `kind` in front.
    async fn start(kind: ProxyKind, configure: impl FnOnce(&mut Config)) -> Self {
        let app = TestApp::start_with(Backend::Sqlite, |config| {
            configure(config);
            // The rules as an operator writes them, in TOML.
            let with_routes: Config = Figment::from(Serialized::defaults(config.clone()))
                .merge(Toml::string(GATEWAY_ROUTES))
                .extract()
                .expect("the [gateway] routes load");
            *config = with_routes;
        })
        .await;
        let seeded = crate::harness::seed(&app).await;
        let upstream = Upstream::start().await;
        let proxy = Proxy::start(kind, app.server.addr, upstream.addr).await;
        Self {
            app,
            seeded,
            upstream,
            proxy,
        }
    }

    /// Sends `method path` through the proxy with `credential` (if any) and `headers`.
    async fn call(
        &self,
        method: Method,
        path: &str,
        credential: Option<&str>,
        headers: &[(&str, &str)],
    ) -> (u16, HeaderMap, Value) {
        let mut request = self.app.http.request(method, self.proxy.url(path));
        if let Some(credential) = credential {
            request = request.bearer_auth(credential);
        }
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        send(request).await
    }

    async fn get(&self, path: &str, credential: Option<&str>) -> (u16, HeaderMap, Value) {
        self.call(Method::GET, path, credential, &[]).await
    }

    async fn stop(self) {
        drop(self.proxy);
        self.app.stop().await;
    }
}

/// The one value of header `name` the upstream received (`None` when it got none), asserting
/// it got no more than one.
fn seen(echo: &Value, name: &str) -> Option<String> {
    let values = echo["headers"]
        .get(name)?
        .as_array()
        .expect("a list of values");
    assert_eq!(values.len(), 1, "one {name} header reached the API: {echo}");
    Some(values[0].as_str().expect("a value").to_owned())
}

fn header<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).map(|v| v.to_str().expect("ASCII"))
}

fn number(headers: &HeaderMap, name: &str) -> i64 {
    header(headers, name)
        .unwrap_or_else(|| panic!("{name} reached the client: {headers:?}"))
        .parse()
        .unwrap_or_else(|_| panic!("{name} is a number"))
}

/// Two tests of `scenario`: one behind nginx, one behind Caddy, each when the suite is enabled.
macro_rules! behind_each_proxy {
    ($nginx:ident, $caddy:ident, $scenario:ident) => {
        #[tokio::test]
        async fn $nginx() {
            if enabled() {
                $scenario(ProxyKind::Nginx).await;
            }
        }

        #[tokio::test]
        async fn $caddy() {
            if enabled() {
                $scenario(ProxyKind::Caddy).await;
            }
        }
    };
}

behind_each_proxy!(
    nginx_passes_an_api_key_with_its_identity,
    caddy_passes_an_api_key_with_its_identity,
    api_key_passes_with_its_identity
);
async fn api_key_passes_with_its_identity(kind: ProxyKind) {
    let stack = Stack::start(kind, |_| {}).await;
    let owner = &stack.seeded.owner;
    let key = stack.app.key(owner, Some("read")).await;
    let key_id = stack.app.key_id(&key).await;

    let (status, headers, echo) = stack.get("/v1/notes/7?full=1", Some(&key)).await;
    assert_eq!(status, 200, "{kind:?}: {echo}");
    let expected = [
        ("x-gatekey-user-id", owner.user.id.to_string()),
        ("x-gatekey-user-email", "owner@acme.test".to_owned()),
        ("x-gatekey-account-id", stack.seeded.acme.id.to_string()),
        ("x-gatekey-account-slug", "acme".to_owned()),
        ("x-gatekey-role", "owner".to_owned()),
        ("x-gatekey-scopes", "read".to_owned()),
        ("x-gatekey-credential-type", "api_key".to_owned()),
        ("x-gatekey-credential-id", key_id.to_string()),
    ];
    for (name, value) in expected {
        assert_eq!(seen(&echo, name), Some(value), "{kind:?}: {name} in {echo}");
    }
    assert_eq!(seen(&echo, "x-gatekey-client-id"), None, "{kind:?}: {echo}");
    assert!(number(&headers, "x-ratelimit-limit") > 0);
    stack.stop().await;
}

behind_each_proxy!(
    nginx_passes_an_oauth_access_token_with_its_client,
    caddy_passes_an_oauth_access_token_with_its_client,
    oauth_token_passes_with_its_client
);
async fn oauth_token_passes_with_its_client(kind: ProxyKind) {
    let stack = Stack::start(kind, |_| {}).await;
    let app = &stack.app;
    let client = app
        .register_client(stack.seeded.acme.id, ClientSpec::confidential())
        .await;
    let grant = app.consent(&stack.seeded.owner, &client, "read").await;
    let (token, _) = app.issue(&grant, time::Duration::hours(1)).await;

    let (status, _, echo) = stack.get("/v1/notes/1", Some(&token)).await;
    assert_eq!(status, 200, "{kind:?}: {echo}");
    assert_eq!(
        seen(&echo, "x-gatekey-credential-type").as_deref(),
        Some("oauth")
    );
    assert_eq!(seen(&echo, "x-gatekey-client-id"), Some(client.id.clone()));
    assert_eq!(
        seen(&echo, "x-gatekey-credential-id"),
        Some(grant.id.to_string())
    );
    assert_eq!(
        seen(&echo, "x-gatekey-user-id"),
        Some(stack.seeded.owner.user.id.to_string())
    );
    assert_eq!(seen(&echo, "x-gatekey-scopes").as_deref(), Some("read"));
    stack.stop().await;
}

behind_each_proxy!(
    nginx_passes_a_request_body_to_the_api_untouched,
    caddy_passes_a_request_body_to_the_api_untouched,
    request_body_reaches_the_api
);
async fn request_body_reaches_the_api(kind: ProxyKind) {
    let stack = Stack::start(kind, |_| {}).await;
    let key = stack.app.key(&stack.seeded.owner, Some("read write")).await;
    let body = r#"{"title":"the verify call must not consume this"}"#;
    let request = stack
        .app
        .http
        .put(stack.proxy.url("/v1/notes/7"))
        .bearer_auth(&key)
        .header("content-type", "application/json")
        .body(body);
    let (status, _, echo) = send(request).await;
    assert_eq!(status, 200, "{kind:?}: {echo}");
    assert_eq!(echo["body"], body, "{kind:?}: {echo}");
    assert_eq!(
        seen(&echo, "x-gatekey-scopes").as_deref(),
        Some("read write")
    );
    stack.stop().await;
}

behind_each_proxy!(
    nginx_refuses_a_revoked_key_within_a_second,
    caddy_refuses_a_revoked_key_within_a_second,
    revoked_key_is_refused_within_a_second
);
async fn revoked_key_is_refused_within_a_second(kind: ProxyKind) {
    let stack = Stack::start(kind, |_| {}).await;
    let app = &stack.app;
    let admin_key = app.key(&stack.seeded.owner, None).await;
    let key = app.key(&stack.seeded.owner, Some("read")).await;
    let key_id = app.key_id(&key).await;
    // Checked once, so gatekey holds it in its credential cache.
    assert_eq!(stack.get("/v1/notes/1", Some(&key)).await.0, 200);

    let revoked = send(app.request(
        Method::DELETE,
        &format!("/api/v1/api_keys/{key_id}"),
        &admin_key,
    ))
    .await;
    assert_eq!(revoked.0, 204, "{}", revoked.2);
    let at = Instant::now();
    let hits = stack.upstream.hits();
    loop {
        let (status, headers, body) = stack.get("/v1/notes/1", Some(&key)).await;
        if status == 401 {
            let challenge = header(&headers, "www-authenticate").expect("a challenge");
            assert!(challenge.starts_with("Bearer"), "{challenge}");
            break;
        }
        assert_eq!(status, 200, "{kind:?}: {body}");
        assert!(
            at.elapsed() < Duration::from_secs(1),
            "{kind:?}: the revoked key still passes after a second"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(at.elapsed() < Duration::from_secs(1), "{kind:?}");
    let passed = stack.upstream.hits() - hits;
    assert_eq!(stack.get("/v1/notes/1", Some(&key)).await.0, 401);
    assert_eq!(
        stack.upstream.hits() - hits,
        passed,
        "a refusal never reaches the API"
    );
    stack.stop().await;
}

behind_each_proxy!(
    nginx_answers_403_for_a_missing_scope,
    caddy_answers_403_for_a_missing_scope,
    missing_scope_is_403
);
async fn missing_scope_is_403(kind: ProxyKind) {
    let stack = Stack::start(kind, |_| {}).await;
    let key = stack.app.key(&stack.seeded.owner, Some("read")).await;
    let hits = stack.upstream.hits();

    let (status, headers, body) = stack.get("/v1/admin/users", Some(&key)).await;
    assert_eq!(status, 403, "{kind:?}: {body}");
    assert_eq!(body["error"], "insufficient_scope", "{kind:?}: {body}");
    let challenge = header(&headers, "www-authenticate").expect("a challenge");
    assert!(challenge.contains("insufficient_scope"), "{challenge}");
    // A route no rule names is refused too (`unmatched = "deny"`), and so is a method the
    // matching rule does not list.
    let unmatched = stack.get("/v2/anything", Some(&key)).await;
    assert_eq!(unmatched.0, 403, "{kind:?}: {}", unmatched.2);
    let posted = stack
        .call(Method::POST, "/v1/notes/1", Some(&key), &[])
        .await;
    assert_eq!(posted.0, 403, "{kind:?}: {}", posted.2);
    assert_eq!(
        stack.upstream.hits(),
        hits,
        "a refusal never reaches the API"
    );
    stack.stop().await;
}

behind_each_proxy!(
    nginx_never_passes_forged_identity_headers,
    caddy_never_passes_forged_identity_headers,
    forged_identity_never_reaches_the_api
);
async fn forged_identity_never_reaches_the_api(kind: ProxyKind) {
    let stack = Stack::start(kind, |_| {}).await;
    let member = stack
        .app
        .person(&stack.seeded.acme, "member@acme.test", Role::Member)
        .await;
    let key = stack.app.key(&member, Some("read")).await;
    let forged = [
        ("X-Gatekey-User-Id", "1"),
        ("X-Gatekey-Account-Slug", "other"),
        ("X-Gatekey-Role", "owner"),
        ("X-Gatekey-Scopes", "read write admin"),
        ("X-Gatekey-Client-Id", "app_forged"),
    ];

    let (status, _, echo) = stack
        .call(Method::GET, "/v1/notes/1", Some(&key), &forged)
        .await;
    assert_eq!(status, 200, "{kind:?}: {echo}");
    assert_eq!(
        seen(&echo, "x-gatekey-user-id"),
        Some(member.user.id.to_string())
    );
    assert_eq!(
        seen(&echo, "x-gatekey-account-slug").as_deref(),
        Some("acme")
    );
    assert_eq!(seen(&echo, "x-gatekey-role").as_deref(), Some("member"));
    assert_eq!(seen(&echo, "x-gatekey-scopes").as_deref(), Some("read"));
    assert_eq!(seen(&echo, "x-gatekey-client-id"), None, "{kind:?}: {echo}");

    // A public route: gatekey vouches for no one, so no identity header reaches the API.
    let (status, _, echo) = stack.call(Method::GET, "/public/page", None, &forged).await;
    assert_eq!(status, 200, "{kind:?}: {echo}");
    for name in IDENTITY_HEADERS {
        assert_eq!(seen(&echo, name), None, "{kind:?}: {name} in {echo}");
    }

    // Nor can a client name another route for gatekey to check than the one it calls: the
    // proxy replaces or drops the headers that name it, so the real request is judged.
    let hits = stack.upstream.hits();
    let pretenses = [
        [
            ("X-Original-URI", "/public/page"),
            ("X-Original-Method", "GET"),
        ],
        [
            ("X-Forwarded-Uri", "/public/page"),
            ("X-Forwarded-Method", "GET"),
        ],
    ];
    for pretense in pretenses {
        let (status, headers, body) = stack
            .call(Method::GET, "/v1/notes/1", None, &pretense)
            .await;
        assert_eq!(status, 401, "{kind:?} with {pretense:?}: {body}");
        assert!(header(&headers, "www-authenticate").is_some());
    }
    assert_eq!(
        stack.upstream.hits(),
        hits,
        "a refusal never reaches the API"
    );
    stack.stop().await;
}

behind_each_proxy!(
    nginx_passes_429_and_the_rate_limit_headers,
    caddy_passes_429_and_the_rate_limit_headers,
    rate_limit_reaches_the_client
);
async fn rate_limit_reaches_the_client(kind: ProxyKind) {
    const LIMIT: i64 = 3;
    let stack = Stack::start(kind, |config| {
        config.rate_limit.per_minute = 3;
        config.rate_limit.per_second = 1_000;
    })
    .await;
    // The limiter counts in fixed windows of the wall clock; a run that crosses the end of a
    // minute starts counting again, so it is tried again on a fresh account.
    let mut answers = None;
    for attempt in 0..4 {
        let slug = format!("limited-{attempt}");
        let account = stack.app.account(&slug).await;
        let admin = stack
            .app
            .person(&account, &format!("admin@{slug}.test"), Role::Admin)
            .await;
        let key = stack.app.key(&admin, Some("read")).await;
        let mut run = Vec::new();
        for _ in 0..=LIMIT {
            run.push(stack.get("/v1/notes/1", Some(&key)).await);
        }
        let resets: Vec<i64> = run
            .iter()
            .map(|a| number(&a.1, "x-ratelimit-reset"))
            .collect();
        if resets.iter().all(|r| *r == resets[0]) {
            answers = Some(run);
            break;
        }
    }
    let answers = answers.expect("a run within one minute");
    for (n, (status, headers, echo)) in answers[..3].iter().enumerate() {
        assert_eq!(*status, 200, "{kind:?} call {n}: {echo}");
        assert_eq!(number(headers, "x-ratelimit-limit"), LIMIT);
        let left = LIMIT - 1 - i64::try_from(n).unwrap();
        assert_eq!(
            number(headers, "x-ratelimit-remaining"),
            left,
            "{kind:?} call {n}"
        );
    }
    let (status, headers, body) = &answers[3];
    assert_eq!(*status, 429, "{kind:?}: {body}");
    assert_eq!(body["error"], "rate_limited", "{kind:?}: {body}");
    let retry_after = number(headers, "retry-after");
    assert!((1..=60).contains(&retry_after), "Retry-After {retry_after}");
    assert_eq!(number(headers, "x-ratelimit-limit"), LIMIT);
    assert_eq!(number(headers, "x-ratelimit-remaining"), 0);
    stack.stop().await;
}

behind_each_proxy!(
    nginx_answers_401_with_a_challenge_without_a_credential,
    caddy_answers_401_with_a_challenge_without_a_credential,
    no_credential_is_401_with_a_challenge
);
async fn no_credential_is_401_with_a_challenge(kind: ProxyKind) {
    let stack = Stack::start(kind, |_| {}).await;
    let hits = stack.upstream.hits();
    let (status, headers, body) = stack.get("/v1/notes/1", None).await;
    assert_eq!(status, 401, "{kind:?}: {body}");
    let challenges: Vec<_> = headers.get_all("www-authenticate").iter().collect();
    assert_eq!(challenges.len(), 1, "{kind:?}: {headers:?}");
    assert!(challenges[0].to_str().unwrap().starts_with("Bearer"));
    let (status, _, _) = stack
        .get("/v1/notes/1", Some("gk_key_not_a_real_key"))
        .await;
    assert_eq!(status, 401, "{kind:?}");
    assert_eq!(
        stack.upstream.hits(),
        hits,
        "a refusal never reaches the API"
    );
    stack.stop().await;
}

behind_each_proxy!(
    nginx_refuses_everything_while_gatekey_is_down,
    caddy_refuses_everything_while_gatekey_is_down,
    gatekey_down_fails_closed
);
async fn gatekey_down_fails_closed(kind: ProxyKind) {
    let stack = Stack::start(kind, |_| {}).await;
    let key = stack.app.key(&stack.seeded.owner, Some("read")).await;
    assert_eq!(stack.get("/v1/notes/1", Some(&key)).await.0, 200);
    let Stack {
        app,
        upstream,
        proxy,
        ..
    } = stack;
    app.stop().await;
    let hits = upstream.hits();

    let answer = send(
        reqwest::Client::new()
            .get(proxy.url("/v1/notes/1"))
            .bearer_auth(&key),
    )
    .await;
    // nginx maps its failed verify call to 503; Caddy answers 502 for an unreachable upstream.
    let expected = match kind {
        ProxyKind::Nginx => 503,
        ProxyKind::Caddy => 502,
    };
    assert_eq!(answer.0, expected, "{kind:?}: {}", answer.2);
    assert_eq!(upstream.hits(), hits, "nothing reaches the API unchecked");
}

/// The guide shows each configuration file whole, so that the text a reader copies is the text
/// these tests run.
#[test]
fn the_guide_shows_the_tested_configuration_files_verbatim() {
    let guide = include_str!("../../../../docs/gateway.md");
    for (name, text) in [("nginx.conf", NGINX_CONF), ("Caddyfile", CADDYFILE)] {
        assert!(
            guide.contains(text.trim_end()),
            "docs/gateway.md shows docs/gateway/{name} as it is"
        );
    }
}
