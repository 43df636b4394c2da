//! The invitation link, as the invited person uses it: accepting while signed in, choosing a
//! password when the email has no login, and every way a link stops working.

use std::sync::Arc;

use gatekey_core::role::Role;
use gatekey_core::ManualClock;
use reqwest::header::{COOKIE, LOCATION, REFERRER_POLICY};
use reqwest::Method;
use serde_json::json;
use time::{Duration, OffsetDateTime};

use crate::harness::{
    assert_error, cookie_value, csrf_token_in, each_backend, login_form, seed, send, send_text,
    set_cookie, sign_in, Browser, TestApp, PASSWORD,
};

/// The password a new person chooses through the link.
const CHOSEN: &str = "a password I chose myself";

/// Invites `email` as a member with `key`; returns the link's path and the invitation's id.
async fn invite(app: &TestApp, key: &str, email: &str) -> (String, i64) {
    let made = app
        .send_json(
            Method::POST,
            "/api/v1/users",
            key,
            json!({"email": email, "name": "Invited", "role": "member"}),
        )
        .await;
    assert_eq!(made.0, 201, "{}", made.2);
    let url = made.2["invitation"]["accept_url"].as_str().unwrap();
    let path = &url[url
        .find("/invitations/")
        .expect("a link to the invitation page")..];
    (
        path.to_owned(),
        made.2["invitation"]["id"].as_i64().unwrap(),
    )
}

/// Posts an answer form (`accept` or `decline`) as a signed-in browser.
async fn answer(
    app: &TestApp,
    browser: &Browser,
    path: &str,
    what: &str,
) -> (u16, reqwest::header::HeaderMap, String) {
    send_text(
        browser
            .request(app, Method::POST, &format!("{path}/{what}"))
            .form(&[("csrf_token", browser.csrf.as_str())]),
    )
    .await
}

/// Opens the link without a session and submits the choose-a-password form.
async fn register(
    app: &TestApp,
    path: &str,
    password: &str,
) -> (u16, reqwest::header::HeaderMap, String) {
    let (status, headers, page) = send_text(app.http.get(app.url(path))).await;
    assert_eq!(status, 200, "{page}");
    let csrf = cookie_value(set_cookie(&headers, "gatekey_invite_csrf").expect("a CSRF cookie"));
    let token = csrf_token_in(&page);
    send_text(
        app.http
            .post(app.url(&format!("{path}/register")))
            .header(COOKIE, format!("gatekey_invite_csrf={csrf}"))
            .form(&[
                ("csrf_token", token.as_str()),
                ("name", "Newcomer"),
                ("password", password),
            ]),
    )
    .await
}

/// The members of the account `key` administers, by email, with their roles.
async fn members(app: &TestApp, key: &str) -> Vec<(String, String)> {
    let users = send(app.request(Method::GET, "/api/v1/users", key)).await;
    users.2["users"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| {
            (
                u["email"].as_str().unwrap().to_owned(),
                u["role"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

#[tokio::test]
async fn a_person_of_another_account_accepts_when_signed_in() {
    each_backend(|backend| async move {
        let (app, seeded) = TestApp::start_seeded(backend).await;
        app.person(&seeded.other, "ada@other.test", Role::Owner)
            .await;
        let key = app.key(&seeded.owner, None).await;
        let (path, _) = invite(&app, &key, "Ada@Other.TEST").await;

        // Not signed in: the link offers to sign in, and no password form, since a login exists.
        let (status, headers, page) = send_text(app.http.get(app.url(&path))).await;
        assert_eq!(status, 200, "{page}");
        assert_eq!(headers[REFERRER_POLICY], "no-referrer");
        assert!(page.contains("/login?next=/invitations/gk_inv_"), "{page}");
        assert!(!page.contains("name=\"password\""), "{page}");
        assert!(set_cookie(&headers, "gatekey_invite_csrf").is_none());

        // Signing in from the link comes back to it.
        let (cookie, token) = login_form(&app).await;
        let signed_in = send_text(
            app.http
                .post(app.url("/login"))
                .header(COOKIE, format!("gatekey_login_csrf={cookie}"))
                .form(&[
                    ("email", "ada@other.test"),
                    ("password", PASSWORD),
                    ("csrf_token", token.as_str()),
                    ("next", path.as_str()),
                ]),
        )
        .await;
        assert_eq!(signed_in.0, 303, "{}", signed_in.2);
        assert_eq!(signed_in.1[LOCATION], path.as_str());
        let session = set_cookie(&signed_in.1, "gatekey_session").expect("a session");
        let mut ada = Browser {
            session: cookie_value(session).to_owned(),
            csrf: String::new(),
        };
        let (status, _, page) = send_text(ada.request(&app, Method::GET, &path)).await;
        assert_eq!(status, 200, "{page}");
        assert!(
            page.contains("Join acme") && page.contains("Accept"),
            "{page}"
        );
        ada.csrf = csrf_token_in(&page);
        let forged = send_text(
            ada.request(&app, Method::POST, &format!("{path}/accept"))
                .form(&[("csrf_token", "forged")]),
        )
        .await;
        assert_eq!(forged.0, 403, "{}", forged.2);
        let accepted = answer(&app, &ada, &path, "accept").await;
        assert_eq!(accepted.0, 303, "{}", accepted.2);
        assert_eq!(accepted.1[LOCATION], "/");
        assert!(members(&app, &key)
            .await
            .contains(&("ada@other.test".to_owned(), "member".to_owned())));
        // The session now acts in the account joined.
        let (_, _, home) = send_text(ada.request(&app, Method::GET, "/")).await;
        assert!(home.contains("acme (member)"), "{home}");

        // Used once: the link is gone, whoever opens it.
        assert_eq!(answer(&app, &ada, &path, "accept").await.0, 404);
        assert_eq!(send_text(app.http.get(app.url(&path))).await.0, 404);
        let audits = send(app.request(Method::GET, "/api/v1/audits", &key)).await;
        let accepted_event = &audits.2["audits"][0];
        assert_eq!(
            accepted_event["action"], "invitation.accepted",
            "{}",
            audits.2
        );
        app.stop().await;
    })
    .await;
}

#[tokio::test]
async fn a_new_person_chooses_a_password_through_the_link_and_signs_in_with_it() {
    each_backend(|backend| async move {
        let (app, seeded) = TestApp::start_seeded(backend).await;
        let key = app.key(&seeded.owner, None).await;
        let (path, _) = invite(&app, &key, "new@example.test").await;

        let short = register(&app, &path, "short").await;
        assert_eq!(short.0, 400, "{}", short.2);
        let joined = register(&app, &path, CHOSEN).await;
        assert_eq!(joined.0, 303, "{}", joined.2);
        let session = set_cookie(&joined.1, "gatekey_session").expect("signed in at once");
        let browser = Browser {
            session: cookie_value(session).to_owned(),
            csrf: String::new(),
        };
        let (status, _, home) = send_text(browser.request(&app, Method::GET, "/")).await;
        assert_eq!(status, 200, "{home}");
        assert!(home.contains("new@example.test"), "{home}");

        assert!(members(&app, &key)
            .await
            .contains(&("new@example.test".to_owned(), "member".to_owned())));
        sign_in(&app, "new@example.test", CHOSEN).await;
        // The link worked once.
        assert_eq!(send_text(app.http.get(app.url(&path))).await.0, 404);
        app.stop().await;
    })
    .await;
}

#[tokio::test]
async fn a_link_for_an_email_with_a_login_cannot_set_its_password() {
    each_backend(|backend| async move {
        let (app, seeded) = TestApp::start_seeded(backend).await;
        app.person(&seeded.other, "ada@other.test", Role::Owner)
            .await;
        let key = app.key(&seeded.owner, None).await;
        let (path, _) = invite(&app, &key, "ada@other.test").await;
        let taken = send_text(
            app.http
                .post(app.url(&format!("{path}/register")))
                .header(COOKIE, "gatekey_invite_csrf=pair")
                .form(&[
                    ("csrf_token", "pair"),
                    ("name", "Mallory"),
                    ("password", CHOSEN),
                ]),
        )
        .await;
        assert_eq!(taken.0, 409, "{}", taken.2);
        // Ada's password is untouched and the invitation still waits for her.
        sign_in(&app, "ada@other.test", PASSWORD).await;
        let listed = send(app.request(Method::GET, "/api/v1/invitations", &key)).await;
        assert_eq!(listed.2["pagination"]["total_records"], 1, "{}", listed.2);
        app.stop().await;
    })
    .await;
}

#[tokio::test]
async fn a_signed_in_person_with_another_email_cannot_accept() {
    each_backend(|backend| async move {
        let (app, seeded) = TestApp::start_seeded(backend).await;
        app.person(&seeded.other, "eve@other.test", Role::Owner)
            .await;
        let key = app.key(&seeded.owner, None).await;
        let (path, _) = invite(&app, &key, "ada@example.test").await;
        let eve = sign_in(&app, "eve@other.test", PASSWORD).await;
        let (status, _, page) = send_text(eve.request(&app, Method::GET, &path)).await;
        assert_eq!(status, 403, "{page}");
        assert!(!page.contains("/accept"), "{page}");
        for what in ["accept", "decline"] {
            let refused = answer(&app, &eve, &path, what).await;
            assert_eq!(refused.0, 403, "{what}: {}", refused.2);
        }
        assert_eq!(members(&app, &key).await.len(), 1);
        let listed = send(app.request(Method::GET, "/api/v1/invitations", &key)).await;
        assert_eq!(listed.2["pagination"]["total_records"], 1, "{}", listed.2);
        app.stop().await;
    })
    .await;
}

#[tokio::test]
async fn expired_withdrawn_replaced_and_declined_links_are_refused() {
    each_backend(|backend| async move {
        let clock = Arc::new(ManualClock::new(OffsetDateTime::now_utc()));
        let app = TestApp::start_with_clock(backend, clock.clone(), |_| {}).await;
        let seeded = seed(&app).await;
        app.person(&seeded.other, "ada@other.test", Role::Owner)
            .await;
        let key = app.key(&seeded.owner, None).await;
        let refused = |path: String| {
            let app = &app;
            async move {
                let page = send_text(app.http.get(app.url(&path))).await;
                assert_eq!(page.0, 404, "{path}: {}", page.2);
                let posted = send_text(
                    app.http
                        .post(app.url(&format!("{path}/register")))
                        .header(COOKIE, "gatekey_invite_csrf=pair")
                        .form(&[
                            ("csrf_token", "pair"),
                            ("name", "Late"),
                            ("password", CHOSEN),
                        ]),
                )
                .await;
                assert_eq!(posted.0, 404, "{path}: {}", posted.2);
            }
        };

        let (withdrawn, id) = invite(&app, &key, "w@example.test").await;
        let gone =
            send(app.request(Method::DELETE, &format!("/api/v1/invitations/{id}"), &key)).await;
        assert_eq!(gone.0, 204, "{}", gone.2);
        refused(withdrawn).await;

        let (replaced, _) = invite(&app, &key, "r@example.test").await;
        let (fresh, _) = invite(&app, &key, "r@example.test").await;
        refused(replaced).await;
        assert_eq!(send_text(app.http.get(app.url(&fresh))).await.0, 200);

        let (declined, _) = invite(&app, &key, "ada@other.test").await;
        let ada = sign_in(&app, "ada@other.test", PASSWORD).await;
        assert_eq!(answer(&app, &ada, &declined, "decline").await.0, 200);
        assert_eq!(answer(&app, &ada, &declined, "accept").await.0, 404);
        refused(declined).await;

        let malformed = fresh.replace("gk_inv_", "gk_inv_x");
        refused(malformed).await;

        let (late, _) = invite(&app, &key, "late@example.test").await;
        let (late_for_ada, _) = invite(&app, &key, "ada@other.test").await;
        clock.advance(Duration::days(7) + Duration::seconds(1));
        refused(late).await;
        refused(fresh).await;
        let ada = sign_in(&app, "ada@other.test", PASSWORD).await;
        assert_eq!(answer(&app, &ada, &late_for_ada, "accept").await.0, 404);
        let listed = send(app.request(Method::GET, "/api/v1/invitations", &key)).await;
        assert_eq!(listed.2["pagination"]["total_records"], 0, "{}", listed.2);
        assert_eq!(members(&app, &key).await.len(), 1, "nobody joined");
        assert_error(
            &send(app.request(Method::DELETE, "/api/v1/invitations/999999", &key)).await,
            404,
            "not_found",
        );
        app.stop().await;
    })
    .await;
}
