//! What `/metrics` tells an operator as it happens: storage failures by operation, reuse of
//! spent refresh tokens and codes, wrong passwords and throttle refusals, rate-limit refusals,
//! cache sizes, the invalidation feed's age and the running version.

use reqwest::Method;

use crate::harness::{
    each_backend, eventually, login_form, seed, send, send_text, sign_in, submit_login, TestApp,
    PASSWORD,
};
use crate::oauth_fixture::{ClientSpec, REDIRECT};
use crate::operations::sample;

/// The app's `/metrics` as a scraper reads it.
pub(crate) async fn scrape(app: &TestApp) -> String {
    let (status, _, metrics) = send_text(app.http.get(app.url("/metrics"))).await;
    assert_eq!(status, 200, "{metrics}");
    metrics
}

/// The value of the metric `name` that has no labels.
pub(crate) fn unlabelled(metrics: &str, name: &str) -> Option<f64> {
    metrics
        .lines()
        .find_map(|line| line.strip_prefix(&format!("{name} ")))
        .and_then(|value| value.parse().ok())
}

/// The storage-error count of `operation`, or `None` if it has no series.
pub(crate) fn storage_errors(metrics: &str, operation: &str) -> Option<f64> {
    sample(
        metrics,
        "gatekey_storage_errors_total",
        &[&format!(r#"operation="{operation}""#)],
    )
}

#[tokio::test]
async fn a_database_outage_shows_in_the_storage_error_counts_while_it_lasts() {
    each_backend(|backend| async move {
        let (app, seeded) = TestApp::start_seeded(backend).await;
        let key = app.key(&seeded.owner, None).await;
        let browser = sign_in(&app, &seeded.owner.user.email, PASSWORD).await;
        let before = scrape(&app).await;
        assert_eq!(storage_errors(&before, "/api/v1/me"), None, "{before}");
        assert_eq!(
            storage_errors(&before, "invalidation_poll"),
            Some(0.0),
            "background operations count from zero:\n{before}"
        );

        app.store().close().await;

        let me = send(app.request(Method::GET, "/api/v1/me", &key)).await;
        assert_eq!(me.0, 503, "{}", me.2);
        let ready = send_text(app.http.get(app.url("/readyz"))).await;
        assert_eq!(ready.0, 503, "{}", ready.2);
        let home = send_text(browser.request(&app, Method::GET, "/")).await;
        assert_eq!(home.0, 503, "{}", home.2);
        let during = scrape(&app).await;
        assert_eq!(
            storage_errors(&during, "/"),
            Some(1.0),
            "a page's failure: {during}"
        );
        assert_eq!(storage_errors(&during, "/api/v1/me"), Some(1.0), "{during}");
        assert_eq!(storage_errors(&during, "/readyz"), Some(1.0), "{during}");
        assert!(
            eventually(std::time::Duration::from_secs(5), || async {
                storage_errors(&scrape(&app).await, "invalidation_poll") >= Some(1.0)
            })
            .await,
            "the feed's poller counts its failures with no request at all"
        );
        app.stop().await;
    })
    .await;
}

#[tokio::test]
async fn a_reused_refresh_token_and_a_replayed_code_are_counted() {
    each_backend(|backend| async move {
        let (app, seeded, client) =
            TestApp::start_with_client(backend, ClientSpec::confidential()).await;
        let reuses = |metrics: &str, credential: &str| {
            sample(
                metrics,
                "gatekey_token_reuse_detections_total",
                &[&format!(r#"credential="{credential}""#)],
            )
        };
        let before = scrape(&app).await;
        assert_eq!(reuses(&before, "refresh_token"), Some(0.0), "{before}");
        assert_eq!(reuses(&before, "authorization_code"), Some(0.0), "{before}");

        let (_, first) = app.grant_with_tokens(&seeded.owner, &client, "read").await;
        let rotated = app.refresh(&client, &first).await;
        assert_eq!(rotated.0, 200, "{}", rotated.2);
        let reused = app.refresh(&client, &first).await;
        assert_eq!(reused.0, 400, "{}", reused.2);
        let after_reuse = scrape(&app).await;
        assert_eq!(
            reuses(&after_reuse, "refresh_token"),
            Some(1.0),
            "{after_reuse}"
        );

        let code = app.code_for(&seeded.owner, &client, "read").await;
        let form = [
            ("grant_type", "authorization_code"),
            ("code", code.as_str()),
            ("redirect_uri", REDIRECT),
        ];
        assert_eq!(app.token(&client, &form).await.0, 200);
        assert_eq!(app.token(&client, &form).await.0, 400);
        let after_replay = scrape(&app).await;
        assert_eq!(
            reuses(&after_replay, "authorization_code"),
            Some(1.0),
            "{after_replay}"
        );
        assert_eq!(reuses(&after_replay, "refresh_token"), Some(1.0));
        app.stop().await;
    })
    .await;
}

#[tokio::test]
async fn wrong_passwords_and_throttled_sign_ins_are_counted() {
    each_backend(|backend| async move {
        let app = TestApp::start_with(backend, |c| c.login.max_failures_per_email = 2).await;
        let seeded = seed(&app).await;
        let email = seeded.owner.user.email.clone();
        let (cookie, token) = login_form(&app).await;
        for _ in 0..2 {
            let wrong = submit_login(&app, (&cookie, &token), &email, "not the password").await;
            assert_eq!(wrong.0, 401, "{}", wrong.2);
        }
        let refused = submit_login(&app, (&cookie, &token), &email, PASSWORD).await;
        assert_eq!(refused.0, 429, "{}", refused.2);

        let metrics = scrape(&app).await;
        let failures = sample(
            &metrics,
            "gatekey_guess_failures_total",
            &[r#"secret="password""#],
        );
        assert_eq!(failures, Some(2.0), "{metrics}");
        let refusals = sample(
            &metrics,
            "gatekey_guess_refusals_total",
            &[r#"secret="password""#, r#"limit="subject""#],
        );
        assert_eq!(refusals, Some(1.0), "{metrics}");
        for (secret, limit) in [("client_secret", "subject"), ("user_code", "address")] {
            let untouched = sample(
                &metrics,
                "gatekey_guess_refusals_total",
                &[
                    &format!(r#"secret="{secret}""#),
                    &format!(r#"limit="{limit}""#),
                ],
            );
            assert_eq!(untouched, Some(0.0), "{secret} {limit}:\n{metrics}");
        }
        app.stop().await;
    })
    .await;
}

#[tokio::test]
async fn rate_limit_refusals_are_counted_in_total_and_by_account() {
    each_backend(|backend| async move {
        // The clock stands still, so every request falls in the same minute.
        let (app, _clock) = TestApp::start_with_manual_clock(backend, |c| {
            c.rate_limit.per_minute = 2;
        })
        .await;
        let seeded = seed(&app).await;
        let key = app.key(&seeded.owner, None).await;
        let statuses = {
            let mut statuses = Vec::new();
            for _ in 0..4 {
                statuses.push(send(app.request(Method::GET, "/api/v1/me", &key)).await.0);
            }
            statuses
        };
        assert_eq!(statuses, [200, 200, 429, 429]);

        let metrics = scrape(&app).await;
        assert_eq!(
            unlabelled(&metrics, "gatekey_rate_limit_refusals_total"),
            Some(2.0),
            "{metrics}"
        );
        assert_eq!(
            sample(
                &metrics,
                "gatekey_rate_limit_refusals_by_account_total",
                &[r#"account="acme""#]
            ),
            Some(2.0),
            "{metrics}"
        );
        app.stop().await;
    })
    .await;
}

#[tokio::test]
async fn build_info_cache_sizes_and_the_feed_age_are_reported() {
    each_backend(|backend| async move {
        let (app, seeded) = TestApp::start_seeded(backend).await;
        let key = app.key(&seeded.owner, None).await;
        assert_eq!(
            send(app.request(Method::GET, "/api/v1/me", &key)).await.0,
            200
        );

        let metrics = scrape(&app).await;
        let version = format!(r#"version="{}""#, env!("CARGO_PKG_VERSION"));
        assert_eq!(
            sample(&metrics, "gatekey_build_info", &[&version]),
            Some(1.0),
            "{metrics}"
        );
        assert_eq!(
            sample(
                &metrics,
                "gatekey_cache_entries",
                &[r#"cache="credentials""#]
            ),
            Some(1.0),
            "{metrics}"
        );
        let age = unlabelled(&metrics, "gatekey_invalidation_feed_age_seconds");
        assert!(age.is_some_and(|age| age < 5.0), "{metrics}");
        app.stop().await;
    })
    .await;
}
