//! Many requests presenting one code or one refresh token at the same moment: exactly one
//! wins, and the losers are treated as the replay or reuse they are.

use std::sync::Arc;

use reqwest::Method;
use serde_json::Value;
use time::Duration;

use crate::harness::{each_backend, seed, send, TestApp};
use crate::oauth_fixture::{Client, ClientSpec, REDIRECT};

const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";
const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";

/// Sends `form` to the token endpoint as `client` 20 times at once.
async fn twenty_at_once(
    app: &Arc<TestApp>,
    client: &Client,
    form: Vec<(&'static str, String)>,
) -> Vec<(u16, Value)> {
    let attempts: Vec<_> = (0..20)
        .map(|_| {
            let (app, client, form) = (app.clone(), client.clone(), form.clone());
            tokio::spawn(async move {
                let pairs: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
                let (status, _, body) = app.token(&client, &pairs).await;
                (status, body)
            })
        })
        .collect();
    let mut answers = Vec::new();
    for attempt in attempts {
        answers.push(attempt.await.expect("request task"));
    }
    answers
}

fn winners(answers: &[(u16, Value)]) -> Vec<&Value> {
    for (status, body) in answers {
        assert!(
            *status == 200 || (*status == 400 && body["error"] == "invalid_grant"),
            "{status} {body}"
        );
    }
    answers
        .iter()
        .filter(|(status, _)| *status == 200)
        .map(|(_, body)| body)
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn twenty_parallel_redemptions_of_one_code_give_one_success() {
    each_backend(|backend| async move {
        let app = Arc::new(TestApp::start(backend).await);
        let seeded = seed(&app).await;
        let client = app
            .register_client(seeded.acme.id, ClientSpec::public())
            .await;
        let grant = app.consent(&seeded.owner, &client, "read").await;
        let code = app
            .code(&grant, REDIRECT, Some(CHALLENGE), Duration::seconds(60))
            .await;
        let form = vec![
            ("grant_type", "authorization_code".to_owned()),
            ("code", code),
            ("redirect_uri", REDIRECT.to_owned()),
            ("code_verifier", VERIFIER.to_owned()),
        ];
        let answers = twenty_at_once(&app, &client, form).await;
        assert_eq!(winners(&answers).len(), 1, "{answers:?}");
        Arc::into_inner(app).expect("sole owner").stop().await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn twenty_parallel_refreshes_give_one_success_then_the_family_is_revoked() {
    each_backend(|backend| async move {
        let app = Arc::new(TestApp::start(backend).await);
        let seeded = seed(&app).await;
        let client = app
            .register_client(seeded.acme.id, ClientSpec::confidential())
            .await;
        let (_, refresh) = app.grant_with_tokens(&seeded.owner, &client, "read").await;
        let form = vec![
            ("grant_type", "refresh_token".to_owned()),
            ("refresh_token", refresh),
        ];
        let answers = twenty_at_once(&app, &client, form).await;
        let won = winners(&answers);
        assert_eq!(won.len(), 1, "{answers:?}");

        // The losers presented a token that was spent by then: reuse. The whole family is
        // revoked, the winner's new tokens included, as docs/oauth.md says.
        let access = won[0]["access_token"].as_str().unwrap();
        let newest = won[0]["refresh_token"].as_str().unwrap();
        let me = send(app.request(Method::GET, "/api/v1/me", access)).await;
        assert_eq!(me.0, 401, "{}", me.2);
        let again = app.refresh(&client, newest).await;
        assert_eq!(again.0, 400, "{}", again.2);
        assert_eq!(again.2["error"], "invalid_grant");
        Arc::into_inner(app).expect("sole owner").stop().await;
    })
    .await;
}
