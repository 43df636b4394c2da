//! Every refusal of the token endpoint over raw HTTP: status, `error`, and the headers RFC 6749
//! §5.1 and §5.2 require (`Cache-Control: no-store`, `Pragma: no-cache`, `WWW-Authenticate`).

use gatekey_core::oauth::application::{ClientType, GrantType};
use gatekey_core::role::Role;
use reqwest::header::{HeaderMap, CONTENT_TYPE, WWW_AUTHENTICATE};
use reqwest::Method;
use serde_json::Value;
use time::Duration;

use crate::harness::{assert_error, each_backend, send, TestApp};
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

        let repeated = app
            .post_form(
                "/oauth/token",
                basic,
                &[
                    ("grant_type", "refresh_token"),
                    ("grant_type", "client_credentials"),
                ],
            )
            .await;
        refused(&repeated, 400, "invalid_request");

        let missing = app
            .post_form("/oauth/token", basic, &[("scope", "read")])
            .await;
        refused(&missing, 400, "invalid_request");

        for unknown in [
            "password",
            "implicit",
            "urn:ietf:params:oauth:grant-type:saml2-bearer",
        ] {
            let answer = app
                .post_form("/oauth/token", basic, &[("grant_type", unknown)])
                .await;
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

        let missing_code = app
            .post_form(
                "/oauth/token",
                basic,
                &[("grant_type", "authorization_code")],
            )
            .await;
        refused(&missing_code, 400, "invalid_request");
        let missing_refresh = app
            .post_form("/oauth/token", basic, &[("grant_type", "refresh_token")])
            .await;
        refused(&missing_refresh, 400, "invalid_request");
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

        let wrong_basic = app
            .post_form(
                "/oauth/token",
                Some((&confidential.id, "gk_cs_wrong")),
                &form,
            )
            .await;
        client_refused(&wrong_basic);

        let wrong_post = app
            .post_form(
                "/oauth/token",
                None,
                &[
                    ("grant_type", "refresh_token"),
                    ("refresh_token", "x"),
                    ("client_id", &confidential.id),
                    ("client_secret", "gk_cs_wrong"),
                ],
            )
            .await;
        client_refused(&wrong_post);

        let no_secret = app
            .post_form(
                "/oauth/token",
                None,
                &[
                    ("grant_type", "refresh_token"),
                    ("refresh_token", "x"),
                    ("client_id", &confidential.id),
                ],
            )
            .await;
        client_refused(&no_secret);

        let unknown = app
            .post_form("/oauth/token", Some(("app_nobody", "secret")), &form)
            .await;
        client_refused(&unknown);

        let anonymous = app.post_form("/oauth/token", None, &form).await;
        client_refused(&anonymous);

        let public_with_secret = app
            .post_form("/oauth/token", Some((&public.id, "gk_cs_made_up")), &form)
            .await;
        client_refused(&public_with_secret);

        let bearer = send(
            app.http
                .post(app.url("/oauth/token"))
                .bearer_auth("gk_at_whatever")
                .form(&form),
        )
        .await;
        client_refused(&bearer);

        let both = app
            .post_form(
                "/oauth/token",
                Some((&confidential.id, secret(&confidential))),
                &[
                    ("grant_type", "refresh_token"),
                    ("refresh_token", "x"),
                    ("client_secret", secret(&confidential)),
                ],
            )
            .await;
        refused(&both, 400, "invalid_request");

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
        for _ in 0..20 {
            let answer = app
                .post_form("/oauth/token", Some((&target.id, "gk_cs_guess")), &form)
                .await;
            client_refused(&answer);
        }
        let right = app
            .post_form("/oauth/token", Some((&target.id, secret(&target))), &form)
            .await;
        refused(&right, 429, "invalid_client");
        assert!(right.1.get("retry-after").is_some(), "Retry-After");
        let other = app
            .post_form(
                "/oauth/token",
                Some((&bystander.id, secret(&bystander))),
                &form,
            )
            .await;
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

        let code_client = app
            .register_client(seeded.acme.id, ClientSpec::confidential())
            .await;
        let answer = app.token(&code_client, &cc).await;
        refused(&answer, 400, "unauthorized_client");

        let public = app
            .register_client(
                seeded.acme.id,
                ClientSpec {
                    client_type: ClientType::Public,
                    ..ClientSpec::service(&robot)
                },
            )
            .await;
        let answer = app.token(&public, &cc).await;
        refused(&answer, 400, "unauthorized_client");

        let unlinked = app
            .register_client(
                seeded.acme.id,
                ClientSpec {
                    service_account_id: None,
                    ..ClientSpec::service(&robot)
                },
            )
            .await;
        let answer = app.token(&unlinked, &cc).await;
        refused(&answer, 400, "unauthorized_client");

        let elsewhere = app
            .register_client(seeded.acme.id, ClientSpec::service(&stranger))
            .await;
        let answer = app.token(&elsewhere, &cc).await;
        refused(&answer, 400, "unauthorized_client");

        let person = app
            .register_client(seeded.acme.id, ClientSpec::service(&seeded.owner))
            .await;
        let answer = app.token(&person, &cc).await;
        refused(&answer, 400, "unauthorized_client");

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

#[tokio::test]
async fn authorization_code_refusals() {
    each_backend(|backend| async move {
        let (app, seeded, client, other) =
            TestApp::start_with_clients(backend, ClientSpec::public(), ClientSpec::public()).await;
        let grant = app.consent(&seeded.owner, &client, "read").await;
        let minute = Duration::seconds(60);
        let exchange =
            |code: String, redirect: Option<&'static str>, verifier: Option<&'static str>| {
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
            };
        async fn post(app: &TestApp, client: &Client, form: Vec<(String, String)>) -> Answer {
            let pairs: Vec<(&str, &str)> =
                form.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
            app.token(client, &pairs).await
        }

        let cases: Vec<(&str, Vec<(String, String)>)> = vec![
            (
                "bogus",
                exchange("gk_ac_nonsense".into(), Some(REDIRECT), Some(VERIFIER)),
            ),
            (
                "expired",
                exchange(
                    app.code(&grant, REDIRECT, Some(CHALLENGE), -minute).await,
                    Some(REDIRECT),
                    Some(VERIFIER),
                ),
            ),
            (
                "other redirect_uri",
                exchange(
                    app.code(&grant, REDIRECT, Some(CHALLENGE), minute).await,
                    Some("http://127.0.0.1/cb"),
                    Some(VERIFIER),
                ),
            ),
            (
                "redirect_uri missing",
                exchange(
                    app.code(&grant, REDIRECT, Some(CHALLENGE), minute).await,
                    None,
                    Some(VERIFIER),
                ),
            ),
            (
                "verifier missing",
                exchange(
                    app.code(&grant, REDIRECT, Some(CHALLENGE), minute).await,
                    Some(REDIRECT),
                    None,
                ),
            ),
            (
                "wrong verifier",
                exchange(
                    app.code(&grant, REDIRECT, Some(CHALLENGE), minute).await,
                    Some(REDIRECT),
                    Some("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXK"),
                ),
            ),
            (
                "verifier without a challenge",
                exchange(
                    app.code(&grant, REDIRECT, None, minute).await,
                    Some(REDIRECT),
                    Some(VERIFIER),
                ),
            ),
            (
                "public client without PKCE",
                exchange(
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

        let stolen = exchange(
            app.code(&grant, REDIRECT, Some(CHALLENGE), minute).await,
            Some(REDIRECT),
            Some(VERIFIER),
        );
        refused(&post(&app, &other, stolen).await, 400, "invalid_grant");

        // A code whose authorization request named no redirect_uri needs none.
        let ok = post(
            &app,
            &client,
            exchange(
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
        let answer = post(
            &app,
            &client,
            exchange(revoked_code, Some(REDIRECT), Some(VERIFIER)),
        )
        .await;
        refused(&answer, 400, "invalid_grant");

        let member = app
            .person(&seeded.acme, "member@acme.test", Role::Member)
            .await;
        let member_grant = app.consent(&member, &client, "read").await;
        let member_code = app
            .code(&member_grant, REDIRECT, Some(CHALLENGE), minute)
            .await;
        app.disable_user(&member).await;
        let answer = post(
            &app,
            &client,
            exchange(member_code, Some(REDIRECT), Some(VERIFIER)),
        )
        .await;
        refused(&answer, 400, "invalid_grant");

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

#[tokio::test]
async fn a_replayed_code_is_refused_and_its_tokens_revoked() {
    each_backend(|backend| async move {
        let (app, seeded, client) =
            TestApp::start_with_client(backend, ClientSpec::confidential()).await;
        let grant = app.consent(&seeded.owner, &client, "read").await;
        let code = app
            .code(&grant, REDIRECT, Some(CHALLENGE), Duration::seconds(60))
            .await;
        let form = [
            ("grant_type", "authorization_code"),
            ("code", code.as_str()),
            ("redirect_uri", REDIRECT),
            ("code_verifier", VERIFIER),
        ];
        let first = app.token(&client, &form).await;
        assert_eq!(first.0, 200, "{}", first.2);
        let access = first.2["access_token"].as_str().unwrap().to_owned();
        let refresh = first.2["refresh_token"].as_str().unwrap().to_owned();
        let me = send(app.request(Method::GET, "/api/v1/me", &access)).await;
        assert_eq!(me.0, 200, "cached before the replay");

        let replay = app.token(&client, &form).await;
        refused(&replay, 400, "invalid_grant");

        let me = send(app.request(Method::GET, "/api/v1/me", &access)).await;
        assert_error(&me, 401, "invalid_token");
        let refreshed = app.refresh(&client, &refresh).await;
        refused(&refreshed, 400, "invalid_grant");

        let owner_key = app.key(&seeded.owner, None).await;
        let audits = send(app.request(Method::GET, "/api/v1/audits", &owner_key)).await;
        let replays: Vec<&Value> = audits.2["audits"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|a| a["action"] == "authorization_code.replay_detected")
            .collect();
        assert_eq!(replays.len(), 1, "{}", audits.2);
        assert_eq!(replays[0]["credential"]["client_id"], client.id.as_str());
        app.stop().await;
    })
    .await;
}

#[tokio::test]
async fn refresh_token_refusals() {
    each_backend(|backend| async move {
        let (app, seeded, client, other) =
            TestApp::start_with_clients(backend, ClientSpec::public(), ClientSpec::public()).await;
        let grant = app.consent(&seeded.owner, &client, "read").await;
        let refresh = |token: &str| {
            vec![
                ("grant_type".to_owned(), "refresh_token".to_owned()),
                ("refresh_token".to_owned(), token.to_owned()),
            ]
        };
        async fn post(app: &TestApp, client: &Client, form: Vec<(String, String)>) -> Answer {
            let pairs: Vec<(&str, &str)> =
                form.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
            app.token(client, &pairs).await
        }

        refused(
            &post(&app, &client, refresh("gk_rt_nonsense")).await,
            400,
            "invalid_grant",
        );
        let (_, expired) = app.issue(&grant, -Duration::seconds(1)).await;
        refused(
            &post(&app, &client, refresh(&expired)).await,
            400,
            "invalid_grant",
        );

        let (_, live) = app.issue(&grant, Duration::hours(1)).await;
        refused(
            &post(&app, &other, refresh(&live)).await,
            400,
            "invalid_grant",
        );
        let mut wider = refresh(&live);
        wider.push(("scope".into(), "read write".into()));
        refused(&post(&app, &client, wider).await, 400, "invalid_scope");
        let still = post(&app, &client, refresh(&live)).await;
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
        refused(
            &post(&app, &client, refresh(&revoked)).await,
            400,
            "invalid_grant",
        );

        let member = app
            .person(&seeded.acme, "member@acme.test", Role::Member)
            .await;
        let (_, disabled) = app.grant_with_tokens(&member, &client, "read").await;
        app.disable_user(&member).await;
        refused(
            &post(&app, &client, refresh(&disabled)).await,
            400,
            "invalid_grant",
        );
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
        async fn rotate_with(app: &TestApp, client: &Client, token: String) -> Answer {
            let form = [
                ("grant_type", "refresh_token"),
                ("refresh_token", token.as_str()),
            ];
            app.token(client, &form).await
        }
        let rotate = |token: String| rotate_with(&app, &client, token);
        let second = rotate(first.clone()).await;
        assert_eq!(second.0, 200, "{}", second.2);
        let third = rotate(second.2["refresh_token"].as_str().unwrap().to_owned()).await;
        assert_eq!(third.0, 200, "{}", third.2);
        let newest_access = third.2["access_token"].as_str().unwrap().to_owned();
        let newest_refresh = third.2["refresh_token"].as_str().unwrap().to_owned();
        assert_eq!(
            send(app.request(Method::GET, "/api/v1/me", &newest_access))
                .await
                .0,
            200
        );

        let reuse = rotate(first).await;
        refused(&reuse, 400, "invalid_grant");

        let me = send(app.request(Method::GET, "/api/v1/me", &newest_access)).await;
        assert_error(&me, 401, "invalid_token");
        refused(&rotate(newest_refresh).await, 400, "invalid_grant");

        // Other grants of the same user are untouched.
        let elsewhere = app
            .register_client(seeded.acme.id, ClientSpec::confidential())
            .await;
        let (other_access, _) = app
            .grant_with_tokens(&seeded.owner, &elsewhere, "read")
            .await;
        assert_eq!(
            send(app.request(Method::GET, "/api/v1/me", &other_access))
                .await
                .0,
            200
        );

        let owner_key = app.key(&seeded.owner, None).await;
        let audits = send(app.request(Method::GET, "/api/v1/audits", &owner_key)).await;
        let reuses: Vec<&Value> = audits.2["audits"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|a| a["action"] == "refresh_token.reuse_detected")
            .collect();
        assert_eq!(reuses.len(), 1, "{}", audits.2);
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
        let robot = app
            .service_account(&seeded.acme, "Robot", Role::Member)
            .await;
        let client = app
            .register_client(seeded.acme.id, ClientSpec::service(&robot))
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
