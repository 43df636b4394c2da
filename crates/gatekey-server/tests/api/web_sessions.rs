//! Web sessions: the idle timeout beside the absolute lifetime, "sign out everywhere", and the
//! first-run owner who must replace the generated password before anything else.

use std::sync::Arc;

use gatekey_core::clock::ManualClock;
use gatekey_core::page::PageRequest;
use gatekey_core::secret::{Secret, SecretKind};
use gatekey_core::store::{AuditStore, SessionStore, UserStore};
use gatekey_server::bootstrap::bootstrap_if_empty;
use gatekey_store::Backend;
use reqwest::header::LOCATION;
use reqwest::Method;
use time::{Duration, OffsetDateTime};

use crate::harness::{
    csrf_token_in, each_backend, login_form, seed, send, send_text, set_cookie, sign_in,
    submit_login, Browser, TestApp, PASSWORD,
};

/// Where a response redirects to.
fn location(headers: &reqwest::header::HeaderMap) -> &str {
    headers
        .get(LOCATION)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
}

/// The stored session of a browser.
async fn stored_session(
    app: &TestApp,
    browser: &Browser,
) -> Option<gatekey_core::session::Session> {
    let hash = Secret::parse(SecretKind::Session, &browser.session)
        .expect("a session secret")
        .hash();
    app.store().session_by_hash(&hash).await.expect("lookup")
}

async fn start_with_manual_clock(backend: Backend) -> (TestApp, Arc<ManualClock>) {
    let clock = Arc::new(ManualClock::new(OffsetDateTime::now_utc()));
    let app = TestApp::start_with_clock(backend, clock.clone(), |config| {
        config.session.idle_timeout = 1800;
    })
    .await;
    (app, clock)
}

#[tokio::test]
async fn a_session_ends_after_the_idle_timeout_and_use_keeps_it_alive() {
    each_backend(|backend| async move {
        let (app, clock) = start_with_manual_clock(backend).await;
        seed(&app).await;
        let browser = sign_in(&app, "owner@acme.test", PASSWORD).await;
        let signed_in_at = stored_session(&app, &browser)
            .await
            .expect("stored")
            .last_seen_at;

        // Used every 20 minutes, the session outlives the 30-minute idle timeout.
        for _ in 0..3 {
            clock.advance(Duration::minutes(20));
            let home = send_text(browser.request(&app, Method::GET, "/")).await;
            assert_eq!(home.0, 200, "used within the idle timeout");
        }
        let seen = stored_session(&app, &browser)
            .await
            .expect("stored")
            .last_seen_at;
        assert_eq!(seen - signed_in_at, Duration::minutes(60));

        // Last use is written at most once a minute, not on every request.
        clock.advance(Duration::seconds(30));
        let me = send(browser.request(&app, Method::GET, "/api/v1/me")).await;
        assert_eq!(me.0, 200, "{}", me.2);
        let unchanged = stored_session(&app, &browser)
            .await
            .expect("stored")
            .last_seen_at;
        assert_eq!(
            unchanged, seen,
            "not touched 30 seconds after the last write"
        );

        // 30 minutes without a request end it, for pages and the API alike.
        clock.advance(Duration::minutes(30));
        let home = send_text(browser.request(&app, Method::GET, "/")).await;
        assert_eq!((home.0, location(&home.1)), (303, "/login"));
        let me = send(browser.request(&app, Method::GET, "/api/v1/me")).await;
        assert_eq!(me.0, 401, "{}", me.2);

        // The retention task's query deletes it by last use.
        let deleted = app
            .store()
            .delete_idle_sessions(clock_now(&clock) - Duration::minutes(30))
            .await
            .expect("deleted");
        assert_eq!(deleted, 1);
        assert!(stored_session(&app, &browser).await.is_none());
        app.stop().await;
    })
    .await;
}

fn clock_now(clock: &ManualClock) -> OffsetDateTime {
    use gatekey_core::Clock;
    clock.now()
}

#[tokio::test]
async fn sign_out_everywhere_ends_every_session_of_the_user_and_is_audited() {
    each_backend(|backend| async move {
        let (app, seeded) = TestApp::start_seeded(backend).await;
        app.person(
            &seeded.acme,
            "other@acme.test",
            gatekey_core::role::Role::Member,
        )
        .await;
        let laptop = sign_in(&app, "owner@acme.test", PASSWORD).await;
        let phone = sign_in(&app, "owner@acme.test", PASSWORD).await;
        let colleague = sign_in(&app, "other@acme.test", PASSWORD).await;

        let home = send_text(laptop.request(&app, Method::GET, "/")).await;
        assert!(
            home.2.contains(r#"action="/logout/everywhere""#),
            "{}",
            home.2
        );

        // Without the session's CSRF token nothing happens.
        let forged = send_text(
            laptop
                .request(&app, Method::POST, "/logout/everywhere")
                .form(&[("csrf_token", "forged")]),
        )
        .await;
        assert_eq!(forged.0, 403);
        let still = send_text(phone.request(&app, Method::GET, "/")).await;
        assert_eq!(still.0, 200);

        let done = send_text(
            laptop
                .request(&app, Method::POST, "/logout/everywhere")
                .form(&[("csrf_token", laptop.csrf.as_str())]),
        )
        .await;
        assert_eq!((done.0, location(&done.1)), (303, "/login"));
        let cleared = set_cookie(&done.1, "gatekey_session").expect("cookie cleared");
        assert!(cleared.contains("Max-Age=0"), "{cleared}");
        for (name, browser) in [("laptop", &laptop), ("phone", &phone)] {
            let home = send_text(browser.request(&app, Method::GET, "/")).await;
            assert_eq!((home.0, location(&home.1)), (303, "/login"), "{name}");
            assert!(stored_session(&app, browser).await.is_none(), "{name}");
        }
        let theirs = send_text(colleague.request(&app, Method::GET, "/")).await;
        assert_eq!(theirs.0, 200, "another user's session is untouched");

        let audits = app
            .store()
            .list_audits(seeded.acme.id, PageRequest::default())
            .await
            .expect("audits");
        let event = audits
            .items
            .iter()
            .find(|a| a.action == "logout.everywhere")
            .expect("audited");
        assert_eq!(event.actor.user_id, Some(seeded.owner.user.id));
        assert_eq!(event.detail.as_deref(), Some("2 session(s) ended"));
        app.stop().await;
    })
    .await;
}

#[tokio::test]
async fn the_first_run_owner_must_replace_the_generated_password_first() {
    each_backend(|backend| async move {
        let app = TestApp::start(backend).await;
        let clock = gatekey_core::SystemClock;
        let made = bootstrap_if_empty(app.store(), &clock, Some("first@example.com".into()), None)
            .await
            .expect("bootstrap")
            .expect("first run");
        let generated = made.generated_password.clone().expect("generated");

        let (cookie, token) = login_form(&app).await;
        let signed = submit_login(&app, (&cookie, &token), "first@example.com", &generated).await;
        assert_eq!((signed.0, location(&signed.1)), (303, "/password"));
        let session = crate::harness::cookie_value(
            set_cookie(&signed.1, "gatekey_session").expect("session cookie"),
        )
        .to_owned();
        let mut browser = Browser {
            session,
            csrf: String::new(),
        };

        // Only the change-password page (and sign-out) is reachable.
        let home = send_text(browser.request(&app, Method::GET, "/")).await;
        assert_eq!((home.0, location(&home.1)), (303, "/password"));
        let page = send_text(browser.request(&app, Method::GET, "/password")).await;
        assert_eq!(page.0, 200, "{}", page.2);
        assert!(page.2.contains("generated password"), "{}", page.2);
        browser.csrf = csrf_token_in(&page.2);
        for path in ["/oauth/authorized_applications", "/device"] {
            let refused = send_text(browser.request(&app, Method::GET, path)).await;
            assert_eq!(refused.0, 303, "{path}");
            assert!(location(&refused.1).starts_with("/login"), "{path}");
        }
        let key = send_text(
            browser
                .request(&app, Method::POST, "/keys")
                .form(&[("csrf_token", browser.csrf.as_str()), ("name", "sneaky")]),
        )
        .await;
        assert_eq!(
            key.0, 303,
            "no key from a session that must change its password"
        );
        assert!(location(&key.1).starts_with("/login"), "{:?}", key.1);
        let me = send(browser.request(&app, Method::GET, "/api/v1/me")).await;
        assert_eq!(me.0, 403, "{}", me.2);
        assert_eq!(me.2["error"], "forbidden");
        assert!(
            me.2["error_description"]
                .as_str()
                .is_some_and(|d| d.contains("change its password")),
            "{}",
            me.2
        );

        let wrong = send_text(browser.request(&app, Method::POST, "/password").form(&[
            ("csrf_token", browser.csrf.as_str()),
            ("current_password", "not it"),
            ("new_password", "a password of my own"),
        ]))
        .await;
        assert_eq!(wrong.0, 400, "{}", wrong.2);
        assert!(
            wrong.2.contains("generated password"),
            "still the password page"
        );
        assert!(!wrong.2.contains("Your API keys"), "{}", wrong.2);

        let changed = send_text(browser.request(&app, Method::POST, "/password").form(&[
            ("csrf_token", browser.csrf.as_str()),
            ("current_password", generated.as_str()),
            ("new_password", "a password of my own"),
        ]))
        .await;
        assert_eq!(changed.0, 200, "{}", changed.2);
        let user = app
            .store()
            .user_by_email("first@example.com")
            .await
            .expect("lookup")
            .expect("user");
        assert!(!user.must_change_password, "cleared by the change");
        let home = send_text(browser.request(&app, Method::GET, "/")).await;
        assert_eq!(home.0, 200, "{}", home.2);
        let me = send(browser.request(&app, Method::GET, "/api/v1/me")).await;
        assert_eq!(me.0, 200, "{}", me.2);
        app.stop().await;
    })
    .await;
}

#[tokio::test]
async fn a_password_given_at_first_run_need_not_be_changed() {
    each_backend(|backend| async move {
        let app = TestApp::start(backend).await;
        let clock = gatekey_core::SystemClock;
        bootstrap_if_empty(
            app.store(),
            &clock,
            Some("chosen@example.com".into()),
            Some(PASSWORD.into()),
        )
        .await
        .expect("bootstrap")
        .expect("first run");
        let browser = sign_in(&app, "chosen@example.com", PASSWORD).await;
        let me = send(browser.request(&app, Method::GET, "/api/v1/me")).await;
        assert_eq!(me.0, 200, "{}", me.2);
        app.stop().await;
    })
    .await;
}
