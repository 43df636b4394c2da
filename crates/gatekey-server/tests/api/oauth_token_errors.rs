//! Every refusal of the token endpoint over raw HTTP: status, `error`, and the headers RFC 6749
//! §5.1 and §5.2 require (`Cache-Control: no-store`, `Pragma: no-cache`, `WWW-Authenticate`).

use gatekey_core::oauth::application::{ClientType, GrantType};
use gatekey_core::oauth::grant::Grant;
use gatekey_core::role::Role;
use gatekey_store::Backend;
use reqwest::header::{HeaderMap, CONTENT_TYPE, WWW_AUTHENTICATE};
use reqwest::Method;
use serde_json::Value;
use time::Duration;

use crate::harness::{assert_error, each_backend, send, Seeded, TestApp};
use crate::oauth_fixture::{assert_no_store, basic_header, Client, ClientSpec, REDIRECT};

const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";
const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";

type Answer = (u16, HeaderMap, Value);

/// Asserts an OAuth error: status, code, description and the no-store headers.
#[track_caller]
fn refused(answer: &Answer, status: u16, code: &str) {
    assert_error(answer, status, code);
    assert_no_store(&answer.1);
}

/// Asserts a 401 `invalid_client` with the Basic challenge.
#[track_caller]
fn client_refused(answer: &Answer) {
    refused(answer, 401, "invalid_client");
    assert_eq!(
        answer.1.get(WWW_AUTHENTICATE).and_then(|v| v.to_str().ok()),
        Some("Basic realm=\"gatekey\"")
    );
}

fn secret(client: &Client) -> &str {
    client.secret.as_deref().expect("a confidential client")
}

/// Posts `form` to the token endpoint, with Basic authentication as `basic` (id, secret) when
/// given.
async fn post_token(app: &TestApp, basic: Option<(&str, &str)>, form: &[(&str, &str)]) -> Answer {
    app.post_form("/oauth/token", basic, form).await
}

#[tokio::test]
async fn malformed_requests_are_invalid_request() {
    each_backend(|backend| async move {
        let (app, _, client) =
            TestApp::start_with_client(backend, ClientSpec::confidential()).await;
        let basic = Some((client.id.as_str(), secret(&client)));

        let get = send(app.http.get(app.url("/oauth/token"))).await;
        refused(&get, 405, "invalid_request");
        assert_eq!(get.1["allow"], "POST");

        let json = send(
            app.http
                .post(app.url("/oauth/token"))
                .header(
                    reqwest::header::AUTHORIZATION,
                    basic_header(&client.id, secret(&client)),
                )
                .json(&serde_json::json!({"grant_type": "client_credentials"})),
        )
        .await;
        refused(&json, 400, "invalid_request");

        for unknown in [
            "password",
            "implicit",
            "urn:ietf:params:oauth:grant-type:saml2-bearer",
        ] {
            let answer = post_token(&app, basic, &[("grant_type", unknown)]).await;
            refused(&answer, 400, "unsupported_grant_type");
        }

        let in_url = send(
            app.http
                .post(app.url(&format!("/oauth/token?client_secret={}", secret(&client))))
                .form(&[
                    ("grant_type", "authorization_code"),
                    ("client_id", &client.id),
                ]),
        )
        .await;
        refused(&in_url, 400, "invalid_request");

        let invalid: [&[(&str, &str)]; 4] = [
            // A parameter twice (RFC 6749 §3.2).
            &[
                ("grant_type", "refresh_token"),
                ("grant_type", "client_credentials"),
            ],
            // No grant type.
            &[("scope", "read")],
            // No code.
            &[("grant_type", "authorization_code")],
            // No refresh token.
            &[("grant_type", "refresh_token")],
        ];
        for form in invalid {
            let answer = post_token(&app, basic, form).await;
            assert_eq!(answer.0, 400, "{form:?}: {}", answer.2);
            refused(&answer, 400, "invalid_request");
        }
        app.stop().await;
    })
    .await;
}

#[tokio::test]
async fn client_authentication_failures_are_invalid_client() {
    each_backend(|backend| async move {
        let (app, _, confidential, public) =
            TestApp::start_with_clients(backend, ClientSpec::confidential(), ClientSpec::public())
                .await;
        let form = [("grant_type", "refresh_token"), ("refresh_token", "x")];
        let by_id = [&form[..], &[("client_id", confidential.id.as_str())]].concat();
        let wrong_post = [&by_id[..], &[("client_secret", "gk_cs_wrong")]].concat();

        let wrong_basic = Some((confidential.id.as_str(), "gk_cs_wrong"));
        client_refused(&post_token(&app, wrong_basic, &form).await);
        client_refused(&post_token(&app, None, &wrong_post).await);
        // A confidential client's id without its secret.
        client_refused(&post_token(&app, None, &by_id).await);
        let unknown = Some(("app_nobody", "secret"));
        client_refused(&post_token(&app, unknown, &form).await);
        client_refused(&post_token(&app, None, &form).await);
        let public_with_secret = Some((public.id.as_str(), "gk_cs_made_up"));
        client_refused(&post_token(&app, public_with_secret, &form).await);

        let bearer = send(
            app.http
                .post(app.url("/oauth/token"))
                .bearer_auth("gk_at_whatever")
                .form(&form),
        )
        .await;
        client_refused(&bearer);

        // Basic and client_secret in the body at once (RFC 6749 §2.3.1 allows one method).
        let basic = Some((confidential.id.as_str(), secret(&confidential)));
        let also_in_body = [&form[..], &[("client_secret", secret(&confidential))]].concat();
        refused(
            &post_token(&app, basic, &also_in_body).await,
            400,
            "invalid_request",
        );

        // RFC 6749 §2.3.1: id and secret are form-url-encoded before Base64, so a client may
        // escape any character; the server decodes after Base64.
        let escaped: String = secret(&confidential)
            .bytes()
            .map(|b| format!("%{b:02X}"))
            .collect();
        let encoded = send(
            app.http
                .post(app.url("/oauth/token"))
                .header(
                    reqwest::header::AUTHORIZATION,
                    format!(
                        "Basic {}",
                        base64::Engine::encode(
                            &base64::engine::general_purpose::STANDARD,
                            format!("{}:{escaped}", confidential.id)
                        )
                    ),
                )
                .form(&form),
        )
        .await;
        refused(&encoded, 400, "invalid_grant");
        app.stop().await;
    })
    .await;
}

#[tokio::test]
async fn failed_client_authentications_are_throttled_per_client() {
    each_backend(|backend| async move {
        let (app, _, target, bystander) = TestApp::start_with_clients(
            backend,
            ClientSpec::confidential(),
            ClientSpec::confidential(),
        )
        .await;
        let form = [("grant_type", "refresh_token"), ("refresh_token", "x")];
        let guess = Some((target.id.as_str(), "gk_cs_guess"));
        for _ in 0..20 {
            client_refused(&post_token(&app, guess, &form).await);
        }
        let right = Some((target.id.as_str(), secret(&target)));
        let throttled = post_token(&app, right, &form).await;
        refused(&throttled, 429, "invalid_client");
        assert!(throttled.1.get("retry-after").is_some(), "Retry-After");
        let bystander = Some((bystander.id.as_str(), secret(&bystander)));
        let other = post_token(&app, bystander, &form).await;
        refused(&other, 400, "invalid_grant");
        app.stop().await;
    })
    .await;
}

#[tokio::test]
async fn client_credentials_refusals() {
    each_backend(|backend| async move {
        let (app, seeded) = TestApp::start_seeded(backend).await;
        let robot = app
            .service_account(&seeded.acme, "Robot", Role::Viewer)
            .await;
        let stranger = app
            .service_account(&seeded.other, "Stranger", Role::Owner)
            .await;
        let cc = [("grant_type", "client_credentials")];

        let unauthorized = [
            ("a client of the code flow", ClientSpec::confidential()),
            (
                "a public client",
                ClientSpec {
                    client_type: ClientType::Public,
                    ..ClientSpec::service(&robot)
                },
            ),
            (
                "no service account",
                ClientSpec {
                    service_account_id: None,
                    ..ClientSpec::service(&robot)
                },
            ),
            ("another account's", ClientSpec::service(&stranger)),
            ("a person", ClientSpec::service(&seeded.owner)),
        ];
        for (case, spec) in unauthorized {
            let client = app.register_client(seeded.acme.id, spec).await;
            let answer = app.token(&client, &cc).await;
            assert_eq!(answer.0, 400, "{case}: {}", answer.2);
            refused(&answer, 400, "unauthorized_client");
        }

        let linked = app
            .register_client(seeded.acme.id, ClientSpec::service(&robot))
            .await;
        let ok = app.token(&linked, &cc).await;
        assert_eq!(ok.0, 200, "{}", ok.2);
        assert_eq!(
            ok.2["scope"], "read",
            "the app's scopes within the viewer role"
        );
        assert!(ok.2.get("refresh_token").is_none());
        assert_no_store(&ok.1);
        for scope in ["write", "read admin", "sudo"] {
            let answer = app
                .token(
                    &linked,
                    &[("grant_type", "client_credentials"), ("scope", scope)],
                )
                .await;
            refused(&answer, 400, "invalid_scope");
        }

        app.disable_user(&robot).await;
        // Disabled straight in the database, as an operator command does: the server learns
        // it from the invalidation feed within its poll interval.
        let started = std::time::Instant::now();
        let answer = loop {
            let answer = app.token(&linked, &cc).await;
            if answer.0 != 200 || started.elapsed() > std::time::Duration::from_secs(2) {
                break answer;
            }
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        };
        refused(&answer, 400, "unauthorized_client");
        app.stop().await;
    })
    .await;
}

/// Two public clients of `acme`, and the owner's grant of `read` to the first: the second
/// presents what was issued to the first.
async fn two_public_clients(backend: Backend) -> (TestApp, Seeded, Client, Client, Grant) {
    let (app, seeded, client, other) =
        TestApp::start_with_clients(backend, ClientSpec::public(), ClientSpec::public()).await;
    let grant = app.consent(&seeded.owner, &client, "read").await;
    (app, seeded, client, other, grant)
}

/// The token request redeeming `code` (RFC 6749 §4.1.3), with the `redirect_uri` and the PKCE
/// `code_verifier` when given.
fn code_exchange(
    code: String,
    redirect: Option<&str>,
    verifier: Option<&str>,
) -> Vec<(String, String)> {
    let mut form = vec![
        ("grant_type".to_owned(), "authorization_code".to_owned()),
        ("code".to_owned(), code),
    ];
    if let Some(r) = redirect {
        form.push(("redirect_uri".into(), r.into()));
    }
    if let Some(v) = verifier {
        form.push(("code_verifier".into(), v.into()));
    }
    form
}

/// Posts `form` to the token endpoint as `client`.
async fn post(app: &TestApp, client: &Client, form: Vec<(String, String)>) -> Answer {
    let pairs: Vec<(&str, &str)> = form.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    app.token(client, &pairs).await
}

#[tokio::test]
async fn authorization_code_refusals() {
    each_backend(|backend| async move {
        let (app, seeded, client, other, grant) = two_public_clients(backend).await;
        let minute = Duration::seconds(60);
        let cases: Vec<(&str, Vec<(String, String)>)> = vec![
            (
                "bogus",
                code_exchange("gk_ac_nonsense".into(), Some(REDIRECT), Some(VERIFIER)),
            ),
            (
                "expired",
                code_exchange(
                    app.code(&grant, REDIRECT, Some(CHALLENGE), -minute).await,
                    Some(REDIRECT),
                    Some(VERIFIER),
                ),
            ),
            (
                "other redirect_uri",
                code_exchange(
                    app.code(&grant, REDIRECT, Some(CHALLENGE), minute).await,
                    Some("http://127.0.0.1/cb"),
                    Some(VERIFIER),
                ),
            ),
            (
                "redirect_uri missing",
                code_exchange(
                    app.code(&grant, REDIRECT, Some(CHALLENGE), minute).await,
                    None,
                    Some(VERIFIER),
                ),
            ),
            (
                "verifier missing",
                code_exchange(
                    app.code(&grant, REDIRECT, Some(CHALLENGE), minute).await,
                    Some(REDIRECT),
                    None,
                ),
            ),
            (
                "wrong verifier",
                code_exchange(
                    app.code(&grant, REDIRECT, Some(CHALLENGE), minute).await,
                    Some(REDIRECT),
                    Some("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXK"),
                ),
            ),
            (
                "verifier without a challenge",
                code_exchange(
                    app.code(&grant, REDIRECT, None, minute).await,
                    Some(REDIRECT),
                    Some(VERIFIER),
                ),
            ),
            (
                "public client without PKCE",
                code_exchange(
                    app.code(&grant, REDIRECT, None, minute).await,
                    Some(REDIRECT),
                    None,
                ),
            ),
        ];
        for (case, form) in cases {
            let answer = post(&app, &client, form).await;
            assert_eq!(answer.2["error"], "invalid_grant", "{case}: {}", answer.2);
            refused(&answer, 400, "invalid_grant");
        }
        // The client redeems a code as it should: its redirect URI and its verifier.
        let redeem = async |client: &Client, code: String| {
            let form = code_exchange(code, Some(REDIRECT), Some(VERIFIER));
            post(&app, client, form).await
        };

        let stolen = app.code(&grant, REDIRECT, Some(CHALLENGE), minute).await;
        refused(&redeem(&other, stolen).await, 400, "invalid_grant");

        // A code whose authorization request named no redirect_uri needs none.
        let ok = post(
            &app,
            &client,
            code_exchange(
                app.code(&grant, "", Some(CHALLENGE), minute).await,
                None,
                Some(VERIFIER),
            ),
        )
        .await;
        assert_eq!(ok.0, 200, "{}", ok.2);
        assert_no_store(&ok.1);
        assert_eq!(ok.2["account"], "acme");

        // A revoked grant's code and a disabled user's code are refused.
        let revoked_code = app.code(&grant, REDIRECT, Some(CHALLENGE), minute).await;
        app.revoke_grants(&seeded.owner, &client).await;
        refused(&redeem(&client, revoked_code).await, 400, "invalid_grant");

        let member = app
            .person(&seeded.acme, "member@acme.test", Role::Member)
            .await;
        let member_grant = app.consent(&member, &client, "read").await;
        let member_code = app
            .code(&member_grant, REDIRECT, Some(CHALLENGE), minute)
            .await;
        app.disable_user(&member).await;
        refused(&redeem(&client, member_code).await, 400, "invalid_grant");

        // A client without the code grant may not redeem codes at all.
        let cc_only = app
            .register_client(
                seeded.acme.id,
                ClientSpec {
                    grant_types: vec![GrantType::ClientCredentials],
                    ..ClientSpec::confidential()
                },
            )
            .await;
        let answer = app
            .token(
                &cc_only,
                &[("grant_type", "authorization_code"), ("code", "gk_ac_x")],
            )
            .await;
        refused(&answer, 400, "unauthorized_client");
        app.stop().await;
    })
    .await;
}

/// The access and the refresh token of a successful token answer.
#[track_caller]
fn issued(answer: &Answer) -> (String, String) {
    assert_eq!(answer.0, 200, "{}", answer.2);
    let token = |field: &str| answer.2[field].as_str().expect(field).to_owned();
    (token("access_token"), token("refresh_token"))
}

#[tokio::test]
async fn a_replayed_code_is_refused_and_its_tokens_revoked() {
    each_backend(|backend| async move {
        let (app, seeded, client) =
            TestApp::start_with_client(backend, ClientSpec::confidential()).await;
        let grant = app.consent(&seeded.owner, &client, "read").await;
        let code = app
            .code(&grant, REDIRECT, Some(CHALLENGE), Duration::seconds(60))
            .await;
        let form = code_exchange(code, Some(REDIRECT), Some(VERIFIER));
        let (access, refresh) = issued(&post(&app, &client, form.clone()).await);
        assert!(app.accepts(&access).await, "cached before the replay");

        let replay = post(&app, &client, form).await;
        refused(&replay, 400, "invalid_grant");

        let me = send(app.request(Method::GET, "/api/v1/me", &access)).await;
        assert_error(&me, 401, "invalid_token");
        let refreshed = app.refresh(&client, &refresh).await;
        refused(&refreshed, 400, "invalid_grant");

        let owner_key = app.key(&seeded.owner, None).await;
        let replays = app
            .audit_events_of(&owner_key, "authorization_code.replay_detected")
            .await;
        assert_eq!(replays.len(), 1, "{replays:?}");
        assert_eq!(replays[0]["credential"]["client_id"], client.id.as_str());
        app.stop().await;
    })
    .await;
}

#[tokio::test]
async fn refresh_token_refusals() {
    each_backend(|backend| async move {
        let (app, seeded, client, other, grant) = two_public_clients(backend).await;
        let nonsense = app.refresh(&client, "gk_rt_nonsense").await;
        refused(&nonsense, 400, "invalid_grant");
        let (_, expired) = app.issue(&grant, -Duration::seconds(1)).await;
        refused(&app.refresh(&client, &expired).await, 400, "invalid_grant");

        let (_, live) = app.issue(&grant, Duration::hours(1)).await;
        refused(&app.refresh(&other, &live).await, 400, "invalid_grant");
        let wider = [
            ("grant_type", "refresh_token"),
            ("refresh_token", live.as_str()),
            ("scope", "read write"),
        ];
        refused(&app.token(&client, &wider).await, 400, "invalid_scope");
        let still = app.refresh(&client, &live).await;
        assert_eq!(
            still.0, 200,
            "refusals by another client or for a wider scope leave the token usable: {}",
            still.2
        );

        let (_, revoked) = app.issue(&grant, Duration::hours(1)).await;
        let owner_key = app.key(&seeded.owner, None).await;
        let deleted = send(app.request(
            Method::DELETE,
            &format!("/api/v1/authorizations/{}", client.id),
            &owner_key,
        ))
        .await;
        assert!(deleted.0 < 300, "{}", deleted.2);
        refused(&app.refresh(&client, &revoked).await, 400, "invalid_grant");

        let member = app
            .person(&seeded.acme, "member@acme.test", Role::Member)
            .await;
        let (_, disabled) = app.grant_with_tokens(&member, &client, "read").await;
        app.disable_user(&member).await;
        refused(&app.refresh(&client, &disabled).await, 400, "invalid_grant");
        app.stop().await;
    })
    .await;
}

#[tokio::test]
async fn a_reused_refresh_token_revokes_its_whole_family() {
    each_backend(|backend| async move {
        let (app, seeded, client) =
            TestApp::start_with_client(backend, ClientSpec::confidential()).await;
        let (_, first) = app
            .grant_with_tokens(&seeded.owner, &client, "read write")
            .await;
        let (_, second) = issued(&app.refresh(&client, &first).await);
        let (newest_access, newest_refresh) = issued(&app.refresh(&client, &second).await);
        assert!(app.accepts(&newest_access).await);

        let reuse = app.refresh(&client, &first).await;
        refused(&reuse, 400, "invalid_grant");

        let me = send(app.request(Method::GET, "/api/v1/me", &newest_access)).await;
        assert_error(&me, 401, "invalid_token");
        refused(
            &app.refresh(&client, &newest_refresh).await,
            400,
            "invalid_grant",
        );

        // Other grants of the same user are untouched.
        let elsewhere = app
            .register_client(seeded.acme.id, ClientSpec::confidential())
            .await;
        let (other_access, _) = app
            .grant_with_tokens(&seeded.owner, &elsewhere, "read")
            .await;
        assert!(app.accepts(&other_access).await);

        let owner_key = app.key(&seeded.owner, None).await;
        let reuses = app
            .audit_events_of(&owner_key, "refresh_token.reuse_detected")
            .await;
        assert_eq!(reuses.len(), 1, "{reuses:?}");
        assert_eq!(reuses[0]["outcome"], "failure");
        assert_eq!(reuses[0]["actor_user_id"], seeded.owner.user.id);
        app.stop().await;
    })
    .await;
}

#[tokio::test]
async fn every_token_answer_is_uncacheable_and_json() {
    each_backend(|backend| async move {
        let (app, seeded) = TestApp::start_seeded(backend).await;
        let (_, client) = app
            .service_client(&seeded.acme, "Robot", Role::Member)
            .await;
        let ok = app
            .token(&client, &[("grant_type", "client_credentials")])
            .await;
        assert_eq!(ok.0, 200);
        assert_no_store(&ok.1);
        assert!(ok.1[CONTENT_TYPE]
            .to_str()
            .unwrap()
            .starts_with("application/json"));
        app.stop().await;
    })
    .await;
}
