//! Leaked-secret reports from secret scanners: GitLab's token revocation API revokes the live
//! credentials it is told about, answers the same for unknown and dead ones, and refuses a bad
//! report whole, before revoking anything.

use gatekey_core::secret::{Secret, SecretKind};
use reqwest::header::AUTHORIZATION;
use reqwest::Method;
use serde_json::{json, Value};

use crate::harness::{each_backend, seed, send, Answer, Seeded, TestApp};
use crate::oauth_fixture::ClientSpec;

const GITLAB_TOKEN: &str = "gitlab-shared-secret-0123456789abcdef";
const TYPES: &str = "/leak_reports/gitlab/v1/revocable_token_types";
const REVOKE: &str = "/leak_reports/gitlab/v1/revoke_tokens";
const API_KEY_TYPE: &str = "gitleaks_rule_id_gatekey_api_key";
const LOCATION: &str = "https://gitlab.example/acme/app/-/blob/abc123/.env#L3";

async fn start_with_gitlab(backend: gatekey_store::Backend) -> (TestApp, Seeded) {
    let app = TestApp::start_with(backend, |config| {
        config.leak_reports.gitlab_token = Some(GITLAB_TOKEN.into());
    })
    .await;
    let seeded = seed(&app).await;
    (app, seeded)
}

async fn report(app: &TestApp, bearer: &str, body: String) -> Answer {
    send(
        app.http
            .post(app.url(REVOKE))
            .header(AUTHORIZATION, format!("Bearer {bearer}"))
            .header("content-type", "application/json")
            .body(body),
    )
    .await
}

fn entry(token_type: &str, token: &str) -> Value {
    json!({"type": token_type, "token": token, "location": LOCATION})
}

#[tokio::test]
async fn gitlab_endpoints_are_absent_unless_configured() {
    each_backend(|backend| async move {
        let (app, seeded) = TestApp::start_seeded(backend).await;
        let key = app.key(&seeded.owner, None).await;
        let types = send(app.http.get(app.url(TYPES))).await;
        assert_eq!(types.0, 404, "{}", types.2);
        let body = json!([entry(API_KEY_TYPE, &key)]).to_string();
        assert_eq!(report(&app, GITLAB_TOKEN, body).await.0, 404);
        assert!(app.accepts(&key).await);
        app.stop().await;
    })
    .await;
}

#[tokio::test]
async fn gitlab_needs_the_shared_token() {
    each_backend(|backend| async move {
        let (app, seeded) = start_with_gitlab(backend).await;
        let key = app.key(&seeded.owner, None).await;
        let unauthenticated = send(app.http.get(app.url(TYPES))).await;
        assert_eq!(unauthenticated.0, 401);
        let wrong = send(
            app.http
                .get(app.url(TYPES))
                .header(AUTHORIZATION, format!("Bearer {GITLAB_TOKEN}x")),
        )
        .await;
        assert_eq!(wrong.0, 401);
        let body = json!([entry(API_KEY_TYPE, &key)]).to_string();
        assert_eq!(report(&app, "not-the-token", body).await.0, 401);
        assert!(app.accepts(&key).await, "a refused report revokes nothing");

        let types = send(
            app.http
                .get(app.url(TYPES))
                .header(AUTHORIZATION, format!("Bearer {GITLAB_TOKEN}")),
        )
        .await;
        assert_eq!(types.0, 200, "{}", types.2);
        assert_eq!(
            types.2,
            json!({"types": [
                "gitleaks_rule_id_gatekey_api_key",
                "gitleaks_rule_id_gatekey_access_token",
                "gitleaks_rule_id_gatekey_refresh_token"
            ]})
        );
        app.stop().await;
    })
    .await;
}

#[tokio::test]
async fn a_reported_api_key_is_revoked_once_with_its_location_in_the_audit() {
    each_backend(|backend| async move {
        let (app, seeded) = start_with_gitlab(backend).await;
        let leaked = app.key(&seeded.owner, None).await;
        let leaked_id = app.key_id(&leaked).await;
        let admin_key = app.key(&seeded.owner, None).await;
        let body = json!([entry(API_KEY_TYPE, &leaked)]).to_string();

        let answer = report(&app, GITLAB_TOKEN, body.clone()).await;
        assert_eq!(answer.0, 204, "{}", answer.2);
        assert!(
            !app.accepts(&leaked).await,
            "the leaked key no longer works"
        );
        assert!(app.accepts(&admin_key).await, "other keys still work");

        let events = app.audit_events_of(&admin_key, "secret.leak_revoked").await;
        assert_eq!(events.len(), 1, "{events:?}");
        assert_eq!(events[0]["target_type"], "api_key");
        assert_eq!(events[0]["target_id"], leaked_id.to_string());
        let detail = events[0]["detail"].as_str().expect("a detail");
        assert!(
            detail.contains("gitlab") && detail.contains(LOCATION),
            "{detail}"
        );
        assert!(
            !detail.contains(&leaked),
            "the secret itself is never written down"
        );

        // Idempotent: reported again, the same answer and no second event.
        assert_eq!(report(&app, GITLAB_TOKEN, body).await.0, 204);
        let events = app.audit_events_of(&admin_key, "secret.leak_revoked").await;
        assert_eq!(events.len(), 1);
        app.stop().await;
    })
    .await;
}

#[tokio::test]
async fn reported_oauth_tokens_are_revoked() {
    each_backend(|backend| async move {
        let (app, seeded) = start_with_gitlab(backend).await;
        let admin_key = app.key(&seeded.owner, None).await;
        let client = app
            .register_client(seeded.acme.id, ClientSpec::confidential())
            .await;
        let (access, _) = app.grant_with_tokens(&seeded.owner, &client, "read").await;
        let (other_access, refresh) = app.grant_with_tokens(&seeded.owner, &client, "read").await;
        assert!(app.accepts(&access).await && app.accepts(&other_access).await);

        let body = json!([
            entry("gitleaks_rule_id_gatekey_access_token", &access),
            entry("gitleaks_rule_id_gatekey_refresh_token", &refresh),
        ])
        .to_string();
        let answer = report(&app, GITLAB_TOKEN, body).await;
        assert_eq!(answer.0, 204, "{}", answer.2);
        assert!(!app.accepts(&access).await);
        assert!(
            !app.accepts(&other_access).await,
            "a leaked refresh token takes its family's access tokens with it"
        );
        let refreshed = app
            .token(
                &client,
                &[("grant_type", "refresh_token"), ("refresh_token", &refresh)],
            )
            .await;
        assert_eq!(refreshed.0, 400, "{}", refreshed.2);
        let events = app.audit_events_of(&admin_key, "secret.leak_revoked").await;
        let mut targets: Vec<&str> = events
            .iter()
            .filter_map(|event| event["target_type"].as_str())
            .collect();
        targets.sort_unstable();
        assert_eq!(targets, ["access_token", "refresh_family"]);
        app.stop().await;
    })
    .await;
}

#[tokio::test]
async fn unknown_and_dead_secrets_get_the_answer_of_live_ones() {
    each_backend(|backend| async move {
        let (app, seeded) = start_with_gitlab(backend).await;
        let admin_key = app.key(&seeded.owner, None).await;
        let never_issued = Secret::generate(SecretKind::ApiKey);
        let mut typo = never_issued.expose().to_owned();
        typo.pop();
        typo.push('!');
        let dead = app.key(&seeded.owner, None).await;
        let dead_id = app.key_id(&dead).await;
        let revoked = send(app.request(
            Method::DELETE,
            &format!("/api/v1/api_keys/{dead_id}"),
            &admin_key,
        ))
        .await;
        assert_eq!(revoked.0, 204, "{}", revoked.2);
        for token in [never_issued.expose(), &typo, &dead, "not a secret at all"] {
            let body = json!([entry(API_KEY_TYPE, token)]).to_string();
            let answer = report(&app, GITLAB_TOKEN, body).await;
            assert_eq!((answer.0, &answer.2), (204, &Value::Null), "{token}");
        }
        let events = app.audit_events_of(&admin_key, "secret.leak_revoked").await;
        assert!(events.is_empty(), "{events:?}");
        app.stop().await;
    })
    .await;
}

#[tokio::test]
async fn a_bad_report_is_refused_whole_before_anything_is_revoked() {
    each_backend(|backend| async move {
        let (app, seeded) = start_with_gitlab(backend).await;
        let live = app.key(&seeded.owner, None).await;
        let filler = Secret::generate(SecretKind::ApiKey);

        let unknown_type = json!([
            entry(API_KEY_TYPE, &live),
            entry("gitleaks_rule_id_aws_access_token", "AKIA0000000000000000"),
        ]);
        let missing_token = json!([entry(API_KEY_TYPE, &live), {"type": API_KEY_TYPE}]);
        let mut thousand_and_one = vec![entry(API_KEY_TYPE, &live)];
        thousand_and_one.extend((0..1000).map(|_| json!({"type": API_KEY_TYPE, "token": ""})));
        let mut ten_thousand = vec![entry(API_KEY_TYPE, &live)];
        ten_thousand.extend((0..9_999).map(|_| entry(API_KEY_TYPE, filler.expose())));
        let cases = [
            (unknown_type.to_string(), 400),
            (missing_token.to_string(), 400),
            (format!("[{}", entry(API_KEY_TYPE, &live)), 400),
            (json!({"token": live}).to_string(), 400),
            (json!(thousand_and_one).to_string(), 413),
            (json!(ten_thousand).to_string(), 413),
        ];
        for (body, status) in cases {
            let answer = report(&app, GITLAB_TOKEN, body).await;
            assert_eq!(answer.0, status, "{}", answer.2);
            assert!(answer.2["error"].is_string(), "{}", answer.2);
            assert!(
                app.accepts(&live).await,
                "nothing of a refused report is revoked"
            );
        }
        app.stop().await;
    })
    .await;
}
