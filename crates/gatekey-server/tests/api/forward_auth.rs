//! `/auth/verify`, the forward-auth endpoint: route rules decide what each original request
//! needs; an allowed request gets the identity and rate-limit headers, a refused one the
//! answer its client should see. The proxies themselves are tested in `gateway_proxies`.

use gatekey_core::role::Role;
use gatekey_server::config::{GatewayRoute, UnmatchedRoutes};
use gatekey_server::Config;
use reqwest::header::HeaderMap;
use reqwest::Method;
use serde_json::json;

use crate::harness::{assert_error, each_backend, send, Answer, ClientSpec, TestApp};

fn route(methods: &[&str], path: &str, scopes: &[&str]) -> GatewayRoute {
    GatewayRoute {
        methods: methods.iter().map(|m| m.to_string()).collect(),
        path: path.into(),
        scopes: scopes.iter().map(|s| s.to_string()).collect(),
        ..GatewayRoute::default()
    }
}

/// The rules of a small notes API, as an operator would write them.
fn notes_api(config: &mut Config) {
    config.operator_account = "acme".into();
    config.gateway.routes = vec![
        GatewayRoute {
            path: "/v1/status".into(),
            public: true,
            ..GatewayRoute::default()
        },
        route(&["GET", "HEAD"], "/v1/notes/**", &["read"]),
        route(&["POST"], "/v1/notes", &["write"]),
        route(&[], "/v1/admin/**", &["admin"]),
        route(&["GET"], "/v1/shared/**", &["notes:read"]),
    ];
}

/// Asks `/auth/verify` about `method uri` as nginx does: the original method and URI in
/// headers, the credential in the original `Authorization` header.
async fn verify(app: &TestApp, method: &str, uri: &str, credential: Option<&str>) -> Answer {
    let mut request = app
        .http
        .get(app.url("/auth/verify"))
        .header("x-original-method", method)
        .header("x-original-uri", uri);
    if let Some(credential) = credential {
        request = request.bearer_auth(credential);
    }
    send(request).await
}

fn header<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).map(|v| v.to_str().expect("ASCII header"))
}

#[tokio::test]
async fn an_api_key_passes_with_its_identity_and_the_rate_limit() {
    each_backend(|backend| async move {
        let app = TestApp::start_with(backend, notes_api).await;
        let acme = app.account("acme").await;
        let member = app.person(&acme, "ada@acme.test", Role::Member).await;
        let key = app.key(&member, Some("read write")).await;
        let key_id = app.key_id(&key).await;

        let (status, headers, _) = verify(&app, "GET", "/v1/notes/42?full=1", Some(&key)).await;
        assert_eq!(status, 200);
        let user_id = member.user.id.to_string();
        let account_id = acme.id.to_string();
        let key_id = key_id.to_string();
        for (name, expected) in [
            ("x-gatekey-user-id", user_id.as_str()),
            ("x-gatekey-user-email", "ada@acme.test"),
            ("x-gatekey-account-id", account_id.as_str()),
            ("x-gatekey-account-slug", "acme"),
            ("x-gatekey-role", "member"),
            ("x-gatekey-scopes", "read write"),
            ("x-gatekey-credential-type", "api_key"),
            ("x-gatekey-credential-id", key_id.as_str()),
            ("cache-control", "no-store"),
        ] {
            assert_eq!(header(&headers, name), Some(expected), "{name}");
        }
        assert_eq!(header(&headers, "x-gatekey-client-id"), None);
        let limit: u32 = header(&headers, "x-ratelimit-limit")
            .unwrap()
            .parse()
            .unwrap();
        let remaining: u32 = header(&headers, "x-ratelimit-remaining")
            .unwrap()
            .parse()
            .unwrap();
        assert!(
            remaining < limit,
            "the call is counted: {remaining} of {limit}"
        );
        assert!(header(&headers, "x-ratelimit-reset").is_some());

        let posted = verify(&app, "POST", "/v1/notes", Some(&key)).await;
        assert_eq!(posted.0, 200);
        app.stop().await;
    })
    .await;
}

#[tokio::test]
async fn an_oauth_access_token_passes_as_its_application_and_grant() {
    each_backend(|backend| async move {
        let app = TestApp::start_with(backend, notes_api).await;
        let acme = app.account("acme").await;
        let member = app.person(&acme, "ada@acme.test", Role::Member).await;
        let client = app
            .register_client(acme.id, ClientSpec::confidential())
            .await;
        let grant = app.consent(&member, &client, "read").await;
        let (token, _) = app.issue(&grant, time::Duration::hours(1)).await;

        let (status, headers, _) = verify(&app, "GET", "/v1/notes", Some(&token)).await;
        assert_eq!(status, 200);
        assert_eq!(header(&headers, "x-gatekey-credential-type"), Some("oauth"));
        assert_eq!(
            header(&headers, "x-gatekey-client-id"),
            Some(client.id.as_str())
        );
        let grant_id = grant.id.to_string();
        assert_eq!(
            header(&headers, "x-gatekey-credential-id"),
            Some(grant_id.as_str())
        );
        assert_eq!(header(&headers, "x-gatekey-scopes"), Some("read"));

        // The grant holds `read` only: writing is a missing scope, named in the challenge.
        let refused = verify(&app, "POST", "/v1/notes", Some(&token)).await;
        assert_error(&refused, 403, "insufficient_scope");
        let challenge = header(&refused.1, "www-authenticate").unwrap();
        assert!(
            challenge.contains("error=\"insufficient_scope\"")
                && challenge.contains("scope=\"write\""),
            "{challenge}"
        );

        // Revoking the application's grant refuses its token at the next check.
        app.revoke_grants(&member, &client).await;
        let revoked = verify(&app, "GET", "/v1/notes", Some(&token)).await;
        assert_error(&revoked, 401, "invalid_token");
        app.stop().await;
    })
    .await;
}

#[tokio::test]
async fn missing_revoked_and_unknown_credentials_are_401_with_a_challenge() {
    each_backend(|backend| async move {
        let app = TestApp::start_with(backend, notes_api).await;
        let acme = app.account("acme").await;
        let owner = app.person(&acme, "owner@acme.test", Role::Owner).await;
        let key = app.key(&owner, None).await;

        let missing = verify(&app, "GET", "/v1/notes", None).await;
        assert_eq!(missing.0, 401);
        assert!(header(&missing.1, "www-authenticate")
            .unwrap()
            .starts_with("Bearer realm="));

        let unknown = verify(&app, "GET", "/v1/notes", Some("gk_key_unknown")).await;
        assert_error(&unknown, 401, "invalid_token");

        assert_eq!(verify(&app, "GET", "/v1/notes", Some(&key)).await.0, 200);
        let id = app.key_id(&key).await;
        let revoked =
            send(app.request(Method::DELETE, &format!("/api/v1/api_keys/{id}"), &key)).await;
        assert_eq!(revoked.0, 204, "{}", revoked.2);
        let after = verify(&app, "GET", "/v1/notes", Some(&key)).await;
        assert_error(&after, 401, "invalid_token");
        app.stop().await;
    })
    .await;
}

#[tokio::test]
async fn scopes_are_checked_against_the_role_and_the_credential() {
    each_backend(|backend| async move {
        let app = TestApp::start_with(backend, notes_api).await;
        let acme = app.account("acme").await;
        let owner = app.person(&acme, "owner@acme.test", Role::Owner).await;
        let viewer = app.person(&acme, "vic@acme.test", Role::Viewer).await;
        let owner_key = app.key(&owner, None).await;
        let reader_key = app.key(&owner, Some("read")).await;
        let viewer_key = app.key(&viewer, None).await;

        assert_eq!(
            verify(&app, "DELETE", "/v1/admin/users/3", Some(&owner_key))
                .await
                .0,
            200
        );
        let narrow = verify(&app, "DELETE", "/v1/admin/users/3", Some(&reader_key)).await;
        assert_error(&narrow, 403, "insufficient_scope");
        // A viewer's key holds every scope the viewer's role has; writing is not among them.
        let viewer_write = verify(&app, "POST", "/v1/notes", Some(&viewer_key)).await;
        assert_error(&viewer_write, 403, "insufficient_scope");

        // A catalogue scope of the operator's API works like a built-in one.
        let created = app
            .send_json(
                Method::POST,
                "/api/v1/scopes",
                &owner_key,
                json!({"name": "notes:read", "description": "Read shared notes"}),
            )
            .await;
        assert_eq!(created.0, 201, "{}", created.2);
        let shared_key = app.key(&owner, Some("notes:read")).await;
        let shared = verify(&app, "GET", "/v1/shared/7", Some(&shared_key)).await;
        assert_eq!(shared.0, 200, "{}", shared.2);
        assert_eq!(header(&shared.1, "x-gatekey-scopes"), Some("notes:read"));
        let without = verify(&app, "GET", "/v1/shared/7", Some(&reader_key)).await;
        assert_error(&without, 403, "insufficient_scope");
        app.stop().await;
    })
    .await;
}

#[tokio::test]
async fn public_routes_need_nothing_and_unmatched_routes_follow_the_setting() {
    each_backend(|backend| async move {
        let app = TestApp::start_with(backend, notes_api).await;
        let acme = app.account("acme").await;
        let owner = app.person(&acme, "owner@acme.test", Role::Owner).await;
        let key = app.key(&owner, None).await;

        let public = verify(&app, "GET", "/v1/status", None).await;
        assert_eq!(public.0, 200);
        assert!(
            public
                .1
                .keys()
                .all(|name| !name.as_str().starts_with("x-gatekey-")),
            "a public route carries no identity: {:?}",
            public.1
        );
        // Even with a credential: a public route reads none and counts no limit.
        let with_key = verify(&app, "GET", "/v1/status", Some(&key)).await;
        assert_eq!(with_key.0, 200);
        assert!(with_key.1.get("x-gatekey-user-id").is_none());
        assert!(with_key.1.get("x-ratelimit-limit").is_none());

        let unmatched = verify(&app, "GET", "/v2/anything", Some(&key)).await;
        assert_error(&unmatched, 403, "forbidden");
        app.stop().await;

        let open = TestApp::start_with(backend, |config| {
            notes_api(config);
            config.gateway.unmatched = UnmatchedRoutes::Authenticated;
        })
        .await;
        let acme = open.account("acme").await;
        let owner = open.person(&acme, "owner@acme.test", Role::Owner).await;
        let key = open.key(&owner, Some("read")).await;
        assert_eq!(
            verify(&open, "GET", "/v2/anything", Some(&key)).await.0,
            200
        );
        assert_eq!(verify(&open, "GET", "/v2/anything", None).await.0, 401);
        open.stop().await;
    })
    .await;
}

#[tokio::test]
async fn each_proxys_way_of_naming_the_original_request_is_read() {
    each_backend(|backend| async move {
        let app = TestApp::start_with(backend, notes_api).await;
        let acme = app.account("acme").await;
        let owner = app.person(&acme, "owner@acme.test", Role::Owner).await;
        let key = app.key(&owner, Some("read")).await;

        // Caddy and Traefik: X-Forwarded-Method and X-Forwarded-Uri.
        let caddy = send(
            app.http
                .get(app.url("/auth/verify"))
                .header("x-forwarded-method", "POST")
                .header("x-forwarded-uri", "/v1/notes")
                .bearer_auth(&key),
        )
        .await;
        assert_error(&caddy, 403, "insufficient_scope");
        // Envoy: the original method, and the original path after the prefix.
        let envoy = send(
            app.http
                .get(app.url("/auth/verify/v1/notes/1?x=2"))
                .bearer_auth(&key),
        )
        .await;
        assert_eq!(envoy.0, 200, "{}", envoy.2);
        let envoy_post = send(
            app.http
                .post(app.url("/auth/verify/v1/notes"))
                .bearer_auth(&key),
        )
        .await;
        assert_error(&envoy_post, 403, "insufficient_scope");
        // nginx's headers win over the path when both are there.
        let both = send(
            app.http
                .get(app.url("/auth/verify/v1/admin"))
                .header("x-original-uri", "/v1/notes")
                .bearer_auth(&key),
        )
        .await;
        assert_eq!(both.0, 200, "{}", both.2);

        // Caddy and Traefik pass the client's own headers on: a client that adds an
        // X-Original-URI naming a weaker route must not have that route judged instead.
        let forged = send(
            app.http
                .get(app.url("/auth/verify"))
                .header("x-forwarded-method", "GET")
                .header("x-forwarded-uri", "/v1/admin/users")
                .header("x-original-uri", "/v1/status")
                .bearer_auth(&key),
        )
        .await;
        assert_error(&forged, 400, "invalid_request");
        let forged_method = send(
            app.http
                .get(app.url("/auth/verify"))
                .header("x-forwarded-method", "DELETE")
                .header("x-original-method", "GET")
                .header("x-forwarded-uri", "/v1/notes/1")
                .bearer_auth(&key),
        )
        .await;
        assert_error(&forged_method, 400, "invalid_request");
        // Agreeing headers are fine, whatever their queries.
        let agreeing = send(
            app.http
                .get(app.url("/auth/verify"))
                .header("x-forwarded-uri", "/v1/notes/1?a=1")
                .header("x-original-uri", "/v1/notes/1")
                .bearer_auth(&key),
        )
        .await;
        assert_eq!(agreeing.0, 200, "{}", agreeing.2);
        app.stop().await;
    })
    .await;
}

#[tokio::test]
async fn bad_input_is_a_clear_400_never_a_pass() {
    each_backend(|backend| async move {
        let app = TestApp::start_with(backend, |config| {
            notes_api(config);
            config.gateway.routes.push(route(&[], "/**", &[]));
        })
        .await;
        let acme = app.account("acme").await;
        let owner = app.person(&acme, "owner@acme.test", Role::Owner).await;
        let key = app.key(&owner, None).await;
        let base = || app.http.get(app.url("/auth/verify"));

        let no_uri = send(base().bearer_auth(&key)).await;
        assert_error(&no_uri, 400, "invalid_request");
        for uri in [
            "/v1/status/../admin/x",
            "/v1/admin%2Fusers",
            "//v1/admin",
            "/a%zz",
            "/a;b",
            "v1/notes",
        ] {
            let answer = verify(&app, "GET", uri, Some(&key)).await;
            assert_error(&answer, 400, "invalid_request");
        }
        let long_uri = format!("/{}", "a".repeat(9000));
        assert_error(
            &verify(&app, "GET", &long_uri, Some(&key)).await,
            400,
            "invalid_request",
        );

        let twice = send(
            base()
                .header("x-original-uri", "/v1/notes")
                .header("authorization", format!("Bearer {key}"))
                .header("authorization", "Bearer gk_key_other"),
        )
        .await;
        assert_error(&twice, 400, "invalid_request");
        let two_uris = send(
            base()
                .header("x-original-uri", "/v1/notes")
                .header("x-original-uri", "/v1/admin")
                .bearer_auth(&key),
        )
        .await;
        assert_error(&two_uris, 400, "invalid_request");
        let long = send(
            base()
                .header("x-original-uri", "/v1/notes")
                .bearer_auth(format!("gk_key_{}", "a".repeat(5000))),
        )
        .await;
        assert_error(&long, 400, "invalid_request");
        let non_ascii = send(base().header("x-original-uri", "/v1/notes").header(
            "authorization",
            reqwest::header::HeaderValue::from_bytes(b"Bearer gk_key_\xff\xfe").unwrap(),
        ))
        .await;
        assert_error(&non_ascii, 400, "invalid_request");
        let bad_method = send(
            base()
                .header("x-original-method", "GE T")
                .header("x-original-uri", "/v1/notes")
                .bearer_auth(&key),
        )
        .await;
        assert_error(&bad_method, 400, "invalid_request");
        let non_ascii_uri = send(
            base()
                .header(
                    "x-original-uri",
                    reqwest::header::HeaderValue::from_bytes(b"/v1/notes/\xff").unwrap(),
                )
                .bearer_auth(&key),
        )
        .await;
        assert_error(&non_ascii_uri, 400, "invalid_request");
        let basic = verify(&app, "GET", "/v1/notes", None).await;
        assert_eq!(basic.0, 401);
        app.stop().await;
    })
    .await;
}

#[tokio::test]
async fn a_spent_account_limit_is_a_429_with_its_headers() {
    each_backend(|backend| async move {
        let app = TestApp::start_with(backend, |config| {
            notes_api(config);
            config.rate_limit.per_second = 2;
            config.rate_limit.per_minute = 1_000;
        })
        .await;
        let acme = app.account("acme").await;
        let owner = app.person(&acme, "owner@acme.test", Role::Owner).await;
        let key = app.key(&owner, None).await;
        // Three calls in one second cannot all fit a limit of two per second; the calls may
        // straddle a second's end, so a few more are made until one is refused.
        let mut refused = None;
        for _ in 0..12 {
            let answer = verify(&app, "GET", "/v1/notes", Some(&key)).await;
            if answer.0 == 429 {
                refused = Some(answer);
                break;
            }
        }
        let refused = refused.expect("a 429 within 12 calls at 2 per second");
        assert_error(&refused, 429, "rate_limited");
        assert!(header(&refused.1, "retry-after").is_some());
        assert_eq!(header(&refused.1, "x-ratelimit-limit"), Some("2"));
        assert_eq!(header(&refused.1, "x-ratelimit-remaining"), Some("0"));
        app.stop().await;
    })
    .await;
}

#[tokio::test]
async fn allowed_calls_are_audited_at_the_sample_rate_and_refusals_like_the_apis() {
    each_backend(|backend| async move {
        let app = TestApp::start_with(backend, |config| {
            notes_api(config);
            config.gateway.audit_sample_rate = 1.0.into();
        })
        .await;
        let acme = app.account("acme").await;
        let owner = app.person(&acme, "owner@acme.test", Role::Owner).await;
        let key = app.key(&owner, None).await;
        let reader = app.key(&owner, Some("read")).await;
        assert_eq!(
            verify(&app, "GET", "/v1/notes/secret-title", Some(&key))
                .await
                .0,
            200
        );
        assert_eq!(
            verify(&app, "POST", "/v1/notes", Some(&reader)).await.0,
            403
        );

        let found = crate::harness::eventually(std::time::Duration::from_secs(5), || async {
            !app.audit_events_of(&key, "gateway.request_allowed")
                .await
                .is_empty()
        })
        .await;
        assert!(found, "the sampled call is audited");
        let allowed = app.audit_events_of(&key, "gateway.request_allowed").await;
        assert_eq!(allowed.len(), 1, "{allowed:?}");
        let detail = allowed[0]["detail"].as_str().unwrap_or_default();
        assert_eq!(detail, "GET /v1/notes/**", "the rule, never the path sent");
        let refused = app.audit_events_of(&key, "access.refused").await;
        assert_eq!(refused.len(), 1, "{refused:?}");
        assert_eq!(
            refused[0]["detail"],
            "POST /v1/notes: 403 insufficient_scope"
        );
        app.stop().await;

        // The default writes no event for an allowed call.
        let quiet = TestApp::start_with(backend, notes_api).await;
        let acme = quiet.account("acme").await;
        let owner = quiet.person(&acme, "owner@acme.test", Role::Owner).await;
        let key = quiet.key(&owner, None).await;
        for _ in 0..20 {
            assert_eq!(verify(&quiet, "GET", "/v1/notes", Some(&key)).await.0, 200);
        }
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        assert!(quiet
            .audit_events_of(&key, "gateway.request_allowed")
            .await
            .is_empty());
        quiet.stop().await;
    })
    .await;
}
