//! The web pages' refusals: a page whose database work fails answers the error page (503) and
//! logs the failure once, never a false success or the user's own mistake; a sign-in attempt
//! that cannot be audited is not answered as if it had been; and the signed-in extractors
//! refuse who they must, in the order the pages always have.

use gatekey_core::role::Role;
use gatekey_store::testing::backends;
use reqwest::header::{HeaderMap, LOCATION};
use reqwest::Method;

use crate::captured_logs::CapturedLogs;
use crate::harness::{
    each_backend, login_form, seed, send_text, sign_in, submit_login, TestApp, PASSWORD,
};

/// What the edge logs for every storage failure of a page.
const LOGGED: &str = "storage failure on a web page";

/// Renames `table` behind the server's back, so every statement on it fails from now on.
pub(crate) async fn break_table(app: &TestApp, table: &str) {
    let pool = app.second_connection().await;
    sqlx::query(&format!("ALTER TABLE {table} RENAME TO {table}_lost"))
        .execute(&pool)
        .await
        .expect("table renamed");
    pool.close().await;
}

#[track_caller]
fn assert_unavailable_page(answer: &(u16, HeaderMap, String)) {
    assert_eq!(answer.0, 503, "{}", answer.2);
    assert!(
        answer.2.contains("temporarily unavailable"),
        "the error page: {}",
        answer.2
    );
}

/// How many times the edge logged a storage failure.
fn logged_failures(logs: &CapturedLogs) -> usize {
    logs.text().lines().filter(|l| l.contains(LOGGED)).count()
}

#[tokio::test]
async fn a_page_whose_store_fails_logs_it_once_and_answers_503() {
    let (logs, _capturing) = CapturedLogs::start();
    each_backend(|backend| async move {
        let (app, seeded) = TestApp::start_seeded(backend).await;
        let key = app.key(&seeded.owner, None).await;
        let key_id = app.key_id(&key).await;
        let browser = sign_in(&app, "owner@acme.test", PASSWORD).await;

        break_table(&app, "api_keys").await;
        let home = send_text(browser.request(&app, Method::GET, "/")).await;
        assert_unavailable_page(&home);
        let revoke = send_text(
            browser
                .request(&app, Method::POST, &format!("/keys/{key_id}/revoke"))
                .form(&[("csrf_token", browser.csrf.as_str())]),
        )
        .await;
        assert_unavailable_page(&revoke);
        app.stop().await;
    })
    .await;

    assert_eq!(
        logged_failures(&logs),
        2 * backends().len(),
        "each failed page logged once:\n{}",
        logs.text()
    );
    assert!(logs.text().contains("api_keys"), "the cause is in the log");
}

#[tokio::test]
async fn a_sign_in_whose_account_lookup_fails_is_not_told_the_password_is_wrong() {
    let (logs, _capturing) = CapturedLogs::start();
    each_backend(|backend| async move {
        let app = TestApp::start(backend).await;
        seed(&app).await;
        let csrf = login_form(&app).await;

        break_table(&app, "memberships").await;
        let (cookie, token) = (csrf.0.as_str(), csrf.1.as_str());
        let answer = submit_login(&app, (cookie, token), "owner@acme.test", PASSWORD).await;
        assert_unavailable_page(&answer);
        assert!(
            !answer.2.contains("Wrong email or password"),
            "{}",
            answer.2
        );
        app.stop().await;
    })
    .await;

    assert_eq!(logged_failures(&logs), backends().len(), "{}", logs.text());
}

#[tokio::test]
async fn a_throttled_sign_in_that_cannot_be_audited_answers_503() {
    let (logs, _capturing) = CapturedLogs::start();
    each_backend(|backend| async move {
        let app = TestApp::start_with(backend, |c| c.login.max_failures_per_email = 1).await;
        seed(&app).await;
        let (cookie, token) = login_form(&app).await;
        let wrong = submit_login(&app, (&cookie, &token), "owner@acme.test", "wrong!!").await;
        assert_eq!(wrong.0, 401, "{}", wrong.2);

        break_table(&app, "audit_events").await;
        let throttled = submit_login(&app, (&cookie, &token), "owner@acme.test", "wrong!!").await;
        assert_unavailable_page(&throttled);
        app.stop().await;
    })
    .await;

    assert_eq!(logged_failures(&logs), backends().len(), "{}", logs.text());
}

#[tokio::test]
async fn only_a_signed_in_admin_with_the_pages_token_registers_an_application() {
    each_backend(|backend| async move {
        let (app, seeded) = TestApp::start_seeded(backend).await;
        app.person(&seeded.acme, "member@acme.test", Role::Member)
            .await;
        let owner = sign_in(&app, "owner@acme.test", PASSWORD).await;
        let member = sign_in(&app, "member@acme.test", PASSWORD).await;
        let register = |csrf: &str| {
            vec![
                ("csrf_token", csrf.to_owned()),
                ("name", "Reports".to_owned()),
                ("client_type", "confidential".to_owned()),
                (
                    "redirect_uris",
                    "https://reports.example.test/cb".to_owned(),
                ),
                ("grant_authorization_code", "on".to_owned()),
                ("scope_read", "on".to_owned()),
            ]
        };
        let post = |cookie: Option<String>, form: Vec<(&'static str, String)>| {
            let request = app.http.post(app.url("/applications")).form(&form);
            let request = match cookie {
                Some(cookie) => request.header(reqwest::header::COOKIE, cookie),
                None => request,
            };
            send_text(request)
        };

        let signed_out = post(None, register("whatever")).await;
        assert_eq!(
            (signed_out.0, signed_out.1[LOCATION].to_str().unwrap()),
            (303, "/login")
        );
        let incomplete = post(Some(owner.cookie()), vec![("name", "Reports".to_owned())]).await;
        assert_eq!(incomplete.0, 400, "{}", incomplete.2);
        let forged = post(Some(owner.cookie()), register("forged")).await;
        assert_eq!(forged.0, 403, "{}", forged.2);
        assert!(forged.2.contains("The form expired"), "{}", forged.2);
        let forged_by_member = post(Some(member.cookie()), register("forged")).await;
        assert!(
            forged_by_member.2.contains("The form expired"),
            "the token is checked before the role: {}",
            forged_by_member.2
        );
        let by_member = post(Some(member.cookie()), register(&member.csrf)).await;
        assert_eq!(by_member.0, 403, "{}", by_member.2);
        assert!(
            by_member.2.contains("Only administrators"),
            "{}",
            by_member.2
        );

        let by_owner = post(Some(owner.cookie()), register(&owner.csrf)).await;
        assert_eq!(by_owner.0, 201, "{}", by_owner.2);
        assert!(by_owner.2.contains("New application"), "{}", by_owner.2);
        app.stop().await;
    })
    .await;
}

#[tokio::test]
async fn a_button_without_its_token_is_refused_like_a_forged_one() {
    each_backend(|backend| async move {
        let (app, seeded) = TestApp::start_seeded(backend).await;
        let key = app.key(&seeded.owner, None).await;
        let key_id = app.key_id(&key).await;
        let browser = sign_in(&app, "owner@acme.test", PASSWORD).await;
        let path = format!("/keys/{key_id}/revoke");

        let missing = send_text(browser.request(&app, Method::POST, &path)).await;
        assert_eq!(missing.0, 403, "{}", missing.2);
        let signed_out = send_text(app.http.post(app.url(&path))).await;
        assert_eq!(
            (signed_out.0, signed_out.1[LOCATION].to_str().unwrap()),
            (303, "/login")
        );
        let revoked = send_text(
            browser
                .request(&app, Method::POST, &path)
                .form(&[("csrf_token", browser.csrf.as_str())]),
        )
        .await;
        assert_eq!(
            (revoked.0, revoked.1[LOCATION].to_str().unwrap()),
            (303, "/")
        );
        app.stop().await;
    })
    .await;
}
