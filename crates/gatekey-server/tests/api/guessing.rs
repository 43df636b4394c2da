//! Guessing protection under concurrency: every guess takes its slot before the secret is
//! checked, so a burst of simultaneous guesses gets no more evaluations than the limit; password
//! hashing is bounded and answers 503 past the bound; wrong client secrets lock out only the
//! address that sent them, and never a public client.

use std::net::{IpAddr, Ipv4Addr};

use gatekey_core::role::Role;
use gatekey_store::Backend;
use reqwest::header::COOKIE;
use reqwest::Method;
use serde_json::Value;
use tokio::task::JoinSet;

use crate::harness::{
    each_backend, login_form, seed, send, send_text, sign_in, Seeded, TestApp, PASSWORD,
};
use crate::oauth_fixture::{basic_header, ClientSpec};

/// The audit events of acme, newest first, as its owner reads them.
async fn audits(app: &TestApp, seeded: &Seeded) -> Vec<Value> {
    let key = app.key(&seeded.owner, None).await;
    let listed = send(app.request(Method::GET, "/api/v1/audits?per_page=200", &key)).await;
    assert_eq!(listed.0, 200, "{}", listed.2);
    listed.2["audits"].as_array().unwrap().clone()
}

fn count(statuses: &[u16], status: u16) -> usize {
    statuses.iter().filter(|s| **s == status).count()
}

/// Sends every `(email, password)` sign-in at once; returns the statuses and `Retry-After`s.
async fn logins_at_once(app: &TestApp, attempts: &[(&str, &str)]) -> Vec<(u16, Option<String>)> {
    let (cookie, token) = login_form(app).await;
    let mut running = JoinSet::new();
    for (email, password) in attempts {
        let request = app
            .http
            .post(app.url("/login"))
            .header(COOKIE, format!("gatekey_login_csrf={cookie}"))
            .form(&[
                ("email", *email),
                ("password", *password),
                ("csrf_token", token.as_str()),
            ]);
        running.spawn(async move {
            let response = request.send().await.expect("sent");
            let retry_after = response
                .headers()
                .get("retry-after")
                .map(|v| v.to_str().unwrap().to_owned());
            (response.status().as_u16(), retry_after)
        });
    }
    running.join_all().await
}

fn statuses(answers: &[(u16, Option<String>)]) -> Vec<u16> {
    answers.iter().map(|(status, _)| *status).collect()
}

/// The app with room for every hash a test throws at it to wait its turn, seeded with
/// `member@acme.test` besides the owner.
async fn start_with_patient_hashing(backend: Backend) -> (TestApp, Seeded) {
    let app = TestApp::start_with(backend, |c| {
        c.password_hashing.max_wait_ms = 60_000;
        c.password_hashing.max_waiting = 100;
    })
    .await;
    let seeded = seed(&app).await;
    app.person(&seeded.acme, "member@acme.test", Role::Member)
        .await;
    (app, seeded)
}

#[tokio::test]
async fn simultaneous_wrong_passwords_get_no_more_than_the_limit_evaluated() {
    each_backend(|backend| async move {
        let (app, seeded) = start_with_patient_hashing(backend).await;
        app.person(&seeded.acme, "viewer@acme.test", Role::Viewer)
            .await;

        // 30 wrong passwords and the right one at once: at most 5 are checked. If the right one
        // got a slot and signed in first, the success forgives the email's failures (its person
        // is back), so guesses arriving after it start a fresh count of 5: which of the two
        // happens depends on the order the server takes them in.
        let mut race = vec![("member@acme.test", "wrong password!"); 30];
        race.insert(15, ("member@acme.test", PASSWORD));
        let answers = statuses(&logins_at_once(&app, &race).await);
        let signed_in = count(&answers, 303);
        let evaluated = count(&answers, 401) + signed_in;
        let bound = 5 * (1 + signed_in);
        assert!(
            evaluated <= bound,
            "{evaluated} guesses evaluated: {answers:?}"
        );
        assert_eq!(count(&answers, 429), 31 - evaluated, "{answers:?}");

        // 30 wrong at once: exactly the limit is checked, then even the right one waits.
        let wrong = vec![("viewer@acme.test", "wrong password!"); 30];
        let answers = statuses(&logins_at_once(&app, &wrong).await);
        assert_eq!(count(&answers, 401), 5, "{answers:?}");
        assert_eq!(count(&answers, 429), 25, "{answers:?}");
        let right = logins_at_once(&app, &[("viewer@acme.test", PASSWORD)]).await;
        assert_eq!(
            right[0].0, 429,
            "the right password after the limit is refused"
        );
        assert!(right[0].1.is_some(), "Retry-After");

        let events = audits(&app, &seeded).await;
        let failed = events
            .iter()
            .filter(|e| e["action"] == "login.failed" && e["detail"] == "email viewer@acme.test")
            .count();
        assert_eq!(failed, 5, "one login.failed per evaluated guess");
        let throttled = events
            .iter()
            .filter(|e| e["action"] == "login.throttled" && e["detail"] == "email viewer@acme.test")
            .count();
        assert_eq!(throttled, 1, "26 refusals, audited once per window");
        app.stop().await;
    })
    .await;
}

#[tokio::test]
async fn past_the_hashing_bound_logins_get_503_with_retry_after() {
    each_backend(|backend| async move {
        let app = TestApp::start_with(backend, |c| {
            c.password_hashing.max_concurrent = 1;
            c.password_hashing.max_waiting = 0;
            c.login.max_failures_per_ip = 1_000;
        })
        .await;
        seed(&app).await;
        let emails: Vec<String> = (0..40).map(|n| format!("nobody{n}@random.test")).collect();
        let attempts: Vec<(&str, &str)> = emails
            .iter()
            .map(|e| (e.as_str(), "some password"))
            .collect();
        let answers = logins_at_once(&app, &attempts).await;
        let busy: Vec<_> = answers.iter().filter(|(s, _)| *s == 503).collect();
        assert!(
            !busy.is_empty(),
            "one slot, no line: some are refused {answers:?}"
        );
        assert!(
            busy.iter().all(|(_, retry)| retry.as_deref() == Some("1")),
            "{busy:?}"
        );
        assert_eq!(
            count(&statuses(&answers), 401) + busy.len(),
            40,
            "every other one was checked: {answers:?}"
        );
        // The refusals did not count as guesses, and the server recovers at once.
        let owner = logins_at_once(&app, &[("owner@acme.test", PASSWORD)]).await;
        assert_eq!(owner[0].0, 303);
        app.stop().await;
    })
    .await;
}

#[tokio::test]
async fn wrong_current_passwords_are_throttled_and_audited_like_sign_ins() {
    each_backend(|backend| async move {
        let (app, seeded) = start_with_patient_hashing(backend).await;
        let member = sign_in(&app, "member@acme.test", PASSWORD).await;
        let change = |current: &str| {
            member.request(&app, Method::POST, "/password").form(&[
                ("csrf_token", member.csrf.clone()),
                ("current_password", current.to_owned()),
                ("new_password", "a whole new password".to_owned()),
            ])
        };
        let mut running = JoinSet::new();
        for _ in 0..12 {
            let request = change("not my password");
            running.spawn(async move { send_text(request).await.0 });
        }
        let answers = running.join_all().await;
        assert_eq!(count(&answers, 400), 5, "{answers:?}");
        assert_eq!(count(&answers, 429), 7, "{answers:?}");

        let right = send_text(change(PASSWORD)).await;
        assert_eq!(right.0, 429, "{}", right.2);
        assert!(right.1.get("retry-after").is_some());
        let login = logins_at_once(&app, &[("member@acme.test", PASSWORD)]).await;
        assert_eq!(login[0].0, 429, "sign-in shares the email's budget");

        let events = audits(&app, &seeded).await;
        let failed = events
            .iter()
            .filter(|e| e["action"] == "user.password_change_failed")
            .collect::<Vec<_>>();
        assert_eq!(failed.len(), 5, "{events:?}");
        assert_eq!(failed[0]["outcome"], "failure");
        assert_eq!(
            failed[0]["target_id"],
            failed[0]["actor_user_id"].to_string().as_str()
        );
        assert!(events
            .iter()
            .any(|e| e["action"] == "user.password_change_throttled"));
        app.stop().await;
    })
    .await;
}

#[tokio::test]
async fn simultaneous_user_code_guesses_get_no_more_than_the_limit_evaluated() {
    each_backend(|backend| async move {
        let app = TestApp::start(backend).await;
        seed(&app).await;
        let browser = sign_in(&app, "owner@acme.test", PASSWORD).await;
        let mut running = JoinSet::new();
        for _ in 0..30 {
            let request = browser.request(&app, Method::POST, "/device").form(&[
                ("csrf_token", browser.csrf.as_str()),
                ("user_code", "BCDF-GHJK"),
            ]);
            running.spawn(async move { send_text(request).await.0 });
        }
        let answers = running.join_all().await;
        assert_eq!(count(&answers, 400), 10, "{answers:?}");
        assert_eq!(count(&answers, 429), 20, "{answers:?}");
        app.stop().await;
    })
    .await;
}

/// A client that connects from `ip` (any 127.x address reaches the server on loopback).
fn client_from(ip: Ipv4Addr) -> reqwest::Client {
    reqwest::Client::builder()
        .local_address(IpAddr::V4(ip))
        .build()
        .expect("client")
}

#[tokio::test]
async fn wrong_client_secrets_lock_out_only_their_sender_and_are_audited_once() {
    each_backend(|backend| async move {
        let (app, seeded, target) =
            TestApp::start_with_client(backend, ClientSpec::confidential()).await;
        let form = [("grant_type", "refresh_token"), ("refresh_token", "x")];
        let attacker = client_from(Ipv4Addr::new(127, 0, 0, 2));
        let mut running = JoinSet::new();
        for _ in 0..40 {
            let request = attacker
                .post(app.url("/oauth/token"))
                .header("authorization", basic_header(&target.id, "gk_cs_guess"))
                .form(&form);
            running.spawn(async move { send(request).await.0 });
        }
        let answers = running.join_all().await;
        assert_eq!(count(&answers, 401), 20, "{answers:?}");
        assert_eq!(count(&answers, 429), 20, "{answers:?}");
        let secret = target.secret.as_deref().unwrap();
        let from_attacker = send(
            attacker
                .post(app.url("/oauth/token"))
                .header("authorization", basic_header(&target.id, secret))
                .form(&form),
        )
        .await;
        assert_eq!(from_attacker.0, 429, "{}", from_attacker.2);

        // The client's own servers, elsewhere, are not locked out.
        let own = send(
            client_from(Ipv4Addr::new(127, 0, 0, 3))
                .post(app.url("/oauth/token"))
                .header("authorization", basic_header(&target.id, secret))
                .form(&form),
        )
        .await;
        assert_eq!(own.0, 400, "the secret passed: {}", own.2);
        assert_eq!(own.2["error"], "invalid_grant");

        let events = audits(&app, &seeded).await;
        let failed: Vec<_> = events
            .iter()
            .filter(|e| e["action"] == "oauth.client_auth_failed")
            .collect();
        assert_eq!(
            failed.len(),
            1,
            "one event per client per window: {failed:?}"
        );
        assert_eq!(failed[0]["target_id"], target.id.as_str());
        assert_eq!(failed[0]["ip"], "127.0.0.2");
        assert_eq!(failed[0]["outcome"], "failure");
        app.stop().await;
    })
    .await;
}

#[tokio::test]
async fn nobody_can_lock_out_a_public_client() {
    each_backend(|backend| async move {
        let (app, _, public) = TestApp::start_with_client(backend, ClientSpec::public()).await;
        let form = [("grant_type", "refresh_token"), ("refresh_token", "x")];
        for _ in 0..30 {
            let answer = app
                .post_form("/oauth/token", Some((&public.id, "gk_cs_guess")), &form)
                .await;
            assert_eq!(answer.0, 401, "{}", answer.2);
        }
        let mut with_id = form.to_vec();
        with_id.push(("client_id", &public.id));
        let own = app.post_form("/oauth/token", None, &with_id).await;
        assert_eq!(own.0, 400, "the public client still works: {}", own.2);
        assert_eq!(own.2["error"], "invalid_grant");
        app.stop().await;
    })
    .await;
}

#[tokio::test]
async fn refusals_of_many_emails_from_one_address_are_audited_once() {
    each_backend(|backend| async move {
        let app = TestApp::start_with(backend, |c| c.login.max_failures_per_ip = 2).await;
        let seeded = seed(&app).await;
        for n in 0..6 {
            app.person(&seeded.acme, &format!("p{n}@acme.test"), Role::Member)
                .await;
        }
        for n in 0..6 {
            let email = format!("p{n}@acme.test");
            let answer = logins_at_once(&app, &[(email.as_str(), "wrong password!")]).await;
            assert_eq!(answer[0].0, if n < 2 { 401 } else { 429 }, "{email}");
        }
        let events = audits(&app, &seeded).await;
        let throttled = events
            .iter()
            .filter(|e| e["action"] == "login.throttled")
            .count();
        assert_eq!(
            throttled, 1,
            "four emails refused by one address: one event"
        );
        app.stop().await;
    })
    .await;
}
