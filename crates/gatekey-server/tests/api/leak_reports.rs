//! Leaked-secret reports from secret scanners: GitLab's token revocation API and GitHub's
//! signed secret scanning alerts revoke the live credentials they are told about, answer the
//! same for unknown and dead ones, and refuse a bad report whole, before revoking anything.

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use gatekey_core::secret::{Secret, SecretKind};
use gatekey_server::config::GithubPublicKey;
use p256::ecdsa::signature::Signer;
use p256::ecdsa::{Signature, SigningKey};
use p256::pkcs8::{EncodePublicKey, LineEnding};
use reqwest::header::AUTHORIZATION;
use reqwest::Method;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use crate::harness::{
    each_backend, seed, send, send_text, sign_in, Answer, Seeded, TestApp, PASSWORD,
};
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
        assert_eq!(report(&app, GITLAB_TOKEN, body.clone()).await.0, 404);
        let github = send(app.http.post(app.url(GITHUB)).body(body)).await;
        assert_eq!(github.0, 404);
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
                "gitleaks_rule_id_gatekey_refresh_token",
                "gitleaks_rule_id_gatekey_client_secret"
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

        // The owner's home page says why the key died.
        let browser = sign_in(&app, "owner@acme.test", PASSWORD).await;
        let home = send_text(browser.request(&app, Method::GET, "/")).await;
        assert_eq!(home.0, 200);
        assert!(
            home.2.contains(LOCATION),
            "the key's row names where it leaked"
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
async fn a_reported_client_secret_authenticates_no_more() {
    each_backend(|backend| async move {
        let (app, seeded) = start_with_gitlab(backend).await;
        let admin_key = app.key(&seeded.owner, None).await;
        let client = app
            .register_client(seeded.acme.id, ClientSpec::confidential())
            .await;
        let secret = client.secret.clone().expect("a confidential client");
        let (_, refresh) = app.grant_with_tokens(&seeded.owner, &client, "read").await;
        let refreshed = app
            .token(
                &client,
                &[("grant_type", "refresh_token"), ("refresh_token", &refresh)],
            )
            .await;
        assert_eq!(refreshed.0, 200, "{}", refreshed.2);
        let next_refresh = refreshed.2["refresh_token"]
            .as_str()
            .expect("rotated")
            .to_owned();

        let body = json!([entry("gitleaks_rule_id_gatekey_client_secret", &secret)]).to_string();
        let answer = report(&app, GITLAB_TOKEN, body).await;
        assert_eq!(answer.0, 204, "{}", answer.2);
        let refused = app
            .token(
                &client,
                &[
                    ("grant_type", "refresh_token"),
                    ("refresh_token", &next_refresh),
                ],
            )
            .await;
        assert_eq!(refused.0, 401, "{}", refused.2);
        assert_eq!(refused.2["error"], "invalid_client");
        let events = app.audit_events_of(&admin_key, "secret.leak_revoked").await;
        assert_eq!(events.len(), 1, "{events:?}");
        assert_eq!(events[0]["target_type"], "application");
        assert_eq!(events[0]["target_id"], client.id);
        app.stop().await;
    })
    .await;
}

#[tokio::test]
async fn a_reported_service_client_secret_takes_its_tokens_along() {
    each_backend(|backend| async move {
        let (app, seeded) = start_with_gitlab(backend).await;
        let admin_key = app.key(&seeded.owner, None).await;
        let robot = app
            .service_account(&seeded.acme, "robot", gatekey_core::role::Role::Member)
            .await;
        let client = app
            .register_client(seeded.acme.id, ClientSpec::service(&robot))
            .await;
        let secret = client.secret.clone().expect("a confidential client");
        let issued = app
            .token(
                &client,
                &[("grant_type", "client_credentials"), ("scope", "read")],
            )
            .await;
        assert_eq!(issued.0, 200, "{}", issued.2);
        let minted = issued.2["access_token"].as_str().expect("token").to_owned();
        assert!(app.accepts(&minted).await);

        let body = json!([entry("gitleaks_rule_id_gatekey_client_secret", &secret)]);
        let answer = report(&app, GITLAB_TOKEN, body.to_string()).await;
        assert_eq!(answer.0, 204, "{}", answer.2);
        assert!(
            !app.accepts(&minted).await,
            "a token minted with the leaked secret dies with it"
        );
        let refused = app
            .token(
                &client,
                &[("grant_type", "client_credentials"), ("scope", "read")],
            )
            .await;
        assert_eq!(refused.0, 401, "{}", refused.2);
        let events = app.audit_events_of(&admin_key, "secret.leak_revoked").await;
        let mut targets: Vec<&str> = events
            .iter()
            .filter_map(|event| event["target_type"].as_str())
            .collect();
        targets.sort_unstable();
        assert_eq!(targets, ["application", "grant"]);
        app.stop().await;
    })
    .await;
}

#[tokio::test]
async fn a_reported_previous_client_secret_leaves_the_new_one_working() {
    each_backend(|backend| async move {
        let (app, seeded) = start_with_gitlab(backend).await;
        let admin_key = app.key(&seeded.owner, None).await;
        let client = app
            .register_client(seeded.acme.id, ClientSpec::confidential())
            .await;
        let old_secret = client.secret.clone().expect("a confidential client");
        let rotated = send(app.request(
            Method::POST,
            &format!(
                "/api/v1/applications/{}/rotate_secret",
                client.application.id
            ),
            &admin_key,
        ))
        .await;
        assert_eq!(rotated.0, 200, "{}", rotated.2);
        let new_secret = rotated.2["client_secret"].as_str().expect("new").to_owned();
        let (_, refresh) = app.grant_with_tokens(&seeded.owner, &client, "read").await;
        let refresh_with = |secret: String, refresh: String| {
            let app = &app;
            let client_id = client.id.clone();
            async move {
                app.post_form(
                    "/oauth/token",
                    Some((&client_id, &secret)),
                    &[("grant_type", "refresh_token"), ("refresh_token", &refresh)],
                )
                .await
            }
        };

        let body = json!([entry("gitleaks_rule_id_gatekey_client_secret", &old_secret)]);
        let answer = report(&app, GITLAB_TOKEN, body.to_string()).await;
        assert_eq!(answer.0, 204, "{}", answer.2);
        let refused = refresh_with(old_secret, refresh.clone()).await;
        assert_eq!(refused.0, 401, "the reported secret is dead: {}", refused.2);
        let refreshed = refresh_with(new_secret, refresh).await;
        assert_eq!(
            refreshed.0, 200,
            "the other secret still works: {}",
            refreshed.2
        );
        app.stop().await;
    })
    .await;
}

#[tokio::test]
async fn reports_past_the_minutes_count_are_refused_until_the_next_minute() {
    each_backend(|backend| async move {
        let (app, clock) = TestApp::start_with_manual_clock(backend, |config| {
            config.leak_reports.gitlab_token = Some(GITLAB_TOKEN.into());
            config.leak_reports.reports_per_minute = 2;
        })
        .await;
        let seeded = seed(&app).await;
        let live = app.key(&seeded.owner, None).await;
        let nothing = json!([]).to_string();
        for _ in 0..5 {
            let stranger = report(&app, "not-the-token", nothing.clone()).await;
            assert_eq!(stranger.0, 401, "a stranger spends none of the count");
        }
        for _ in 0..2 {
            assert_eq!(report(&app, GITLAB_TOKEN, nothing.clone()).await.0, 204);
        }
        let body = json!([entry(API_KEY_TYPE, &live)]).to_string();
        let (status, headers, error) = report(&app, GITLAB_TOKEN, body.clone()).await;
        assert_eq!(status, 429, "{error}");
        let retry_after: i64 = headers["retry-after"]
            .to_str()
            .expect("text")
            .parse()
            .expect("seconds");
        assert!((1..=60).contains(&retry_after), "{retry_after}");
        assert!(
            app.accepts(&live).await,
            "nothing of a refused report is revoked"
        );

        clock.advance(time::Duration::seconds(60));
        assert_eq!(report(&app, GITLAB_TOKEN, body).await.0, 204);
        assert!(!app.accepts(&live).await);
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

const GITHUB: &str = "/leak_reports/github";
const GITHUB_KEY_ID: &str = "f9525bf080f75b3506ca1ead061add62b8633a346606dc5fe544e29231c6ee0d";
const GITHUB_URL: &str = "https://github.com/acme/app/blob/abc123/config.yml";

/// A P-256 key pair standing in for GitHub's; the app trusts its public half.
async fn start_with_github(backend: gatekey_store::Backend) -> (TestApp, Seeded, SigningKey) {
    let signer = SigningKey::random(&mut rand::rngs::OsRng);
    let pem = signer
        .verifying_key()
        .to_public_key_pem(LineEnding::LF)
        .expect("pem");
    let app = TestApp::start_with(backend, |config| {
        config.leak_reports.github_public_keys = vec![GithubPublicKey {
            key_identifier: GITHUB_KEY_ID.into(),
            key: pem,
        }];
    })
    .await;
    let seeded = seed(&app).await;
    (app, seeded, signer)
}

fn github_signature(signer: &SigningKey, body: &str) -> String {
    let signature: Signature = signer.sign(body.as_bytes());
    STANDARD.encode(signature.to_der().as_bytes())
}

async fn alert(app: &TestApp, key_id: &str, signature: &str, body: String) -> Answer {
    send(
        app.http
            .post(app.url(GITHUB))
            .header("Github-Public-Key-Identifier", key_id)
            .header("Github-Public-Key-Signature", signature)
            .header("content-type", "application/json")
            .body(body),
    )
    .await
}

async fn signed_alert(app: &TestApp, signer: &SigningKey, body: String) -> Answer {
    let signature = github_signature(signer, &body);
    alert(app, GITHUB_KEY_ID, &signature, body).await
}

fn github_entry(token: &str) -> Value {
    json!({"token": token, "type": "gatekey_api_key", "url": GITHUB_URL, "source": "content"})
}

fn sha256_hex(text: &str) -> String {
    Sha256::digest(text.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[tokio::test]
async fn a_signed_github_alert_revokes_live_keys_and_gives_feedback() {
    each_backend(|backend| async move {
        let (app, seeded, signer) = start_with_github(backend).await;
        let admin_key = app.key(&seeded.owner, None).await;
        let leaked = app.key(&seeded.owner, None).await;
        let leaked_id = app.key_id(&leaked).await;
        let never_issued = Secret::generate(SecretKind::ApiKey);
        let body = json!([github_entry(&leaked), github_entry(never_issued.expose())]).to_string();

        let answer = signed_alert(&app, &signer, body.clone()).await;
        assert_eq!(answer.0, 200, "{}", answer.2);
        assert_eq!(
            answer.2,
            json!([
                {"token_hash": sha256_hex(&leaked), "token_type": "gatekey_api_key", "label": "true_positive"},
                {"token_hash": sha256_hex(never_issued.expose()), "token_type": "gatekey_api_key", "label": "false_positive"},
            ])
        );
        assert!(!answer.2.to_string().contains(&leaked), "no secret is echoed");
        assert!(!app.accepts(&leaked).await);
        assert!(app.accepts(&admin_key).await);
        let events = app.audit_events_of(&admin_key, "secret.leak_revoked").await;
        assert_eq!(events.len(), 1, "{events:?}");
        assert_eq!(events[0]["target_id"], leaked_id.to_string());
        let detail = events[0]["detail"].as_str().expect("a detail");
        assert!(detail.contains("github") && detail.contains(GITHUB_URL), "{detail}");

        // Sent again, the revoked key is dead: the answer of a key that never existed.
        let again = signed_alert(&app, &signer, body).await;
        assert_eq!(again.0, 200, "{}", again.2);
        assert_eq!(again.2[0]["label"], "false_positive");
        assert_eq!(again.2[0], json!({"token_hash": sha256_hex(&leaked), "token_type": "gatekey_api_key", "label": "false_positive"}));
        assert_eq!(app.audit_events_of(&admin_key, "secret.leak_revoked").await.len(), 1);
        app.stop().await;
    })
    .await;
}

#[tokio::test]
async fn a_github_alert_without_a_good_signature_revokes_nothing() {
    each_backend(|backend| async move {
        let (app, seeded, signer) = start_with_github(backend).await;
        let live = app.key(&seeded.owner, None).await;
        let body = json!([github_entry(&live)]).to_string();
        let good = github_signature(&signer, &body);
        let impostor = SigningKey::random(&mut rand::rngs::OsRng);
        let tampered = json!([github_entry(&live), github_entry("gk_key_x")]).to_string();
        let cases = [
            alert(
                &app,
                GITHUB_KEY_ID,
                &github_signature(&impostor, &body),
                body.clone(),
            )
            .await,
            alert(&app, "another-key", &good, body.clone()).await,
            alert(&app, GITHUB_KEY_ID, "bm90IGEgc2lnbmF0dXJl", body.clone()).await,
            alert(&app, GITHUB_KEY_ID, &good, tampered).await,
            send(app.http.post(app.url(GITHUB)).body(body.clone())).await,
        ];
        for answer in cases {
            assert_eq!(answer.0, 401, "{}", answer.2);
            assert!(answer.2["error"].is_string(), "{}", answer.2);
        }
        assert!(
            app.accepts(&live).await,
            "nothing of a refused alert is revoked"
        );
        app.stop().await;
    })
    .await;
}

#[tokio::test]
async fn a_malformed_or_oversized_github_alert_is_refused_whole() {
    each_backend(|backend| async move {
        let (app, seeded, signer) = start_with_github(backend).await;
        let live = app.key(&seeded.owner, None).await;
        let filler = Secret::generate(SecretKind::ApiKey);
        let mut thousand_and_one = vec![github_entry(&live)];
        thousand_and_one.extend((0..1000).map(|_| json!({"token": ""})));
        let mut ten_thousand = vec![github_entry(&live)];
        ten_thousand.extend((0..9_999).map(|_| github_entry(filler.expose())));
        let cases = [
            (format!("[{}", github_entry(&live)), 400),
            (
                json!([{"type": "gatekey_api_key"}, github_entry(&live)]).to_string(),
                400,
            ),
            (json!({"token": live}).to_string(), 400),
            (json!(thousand_and_one).to_string(), 413),
            (json!(ten_thousand).to_string(), 413),
        ];
        for (body, status) in cases {
            let answer = signed_alert(&app, &signer, body).await;
            assert_eq!(answer.0, status, "{}", answer.2);
            assert!(answer.2["error"].is_string(), "{}", answer.2);
            assert!(
                app.accepts(&live).await,
                "nothing of a refused alert is revoked"
            );
        }
        app.stop().await;
    })
    .await;
}
