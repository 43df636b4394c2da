//! The home page's key table: rolling a key with the CSRF-protected form (the new secret shown
//! once, the old one's grace on the row), where a key was last used, and a key close to its
//! expiry flagged.

use gatekey_core::role::Role;
use gatekey_core::store::ApiKeyStore;
use reqwest::Method;
use time::Duration;

use crate::harness::{seed, send_text, sign_in, TestApp, PASSWORD};

/// The first `gk_key_…` secret on a page.
fn secret_in(html: &str) -> String {
    let start = html.find("gk_key_").expect("a secret on the page");
    html[start..]
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
        .collect()
}

#[tokio::test]
async fn a_key_is_rolled_from_the_home_page() {
    crate::harness::each_backend(|backend| async move {
        let (app, clock) = TestApp::start_with_manual_clock(backend, |_| {}).await;
        let seeded = seed(&app).await;
        let old = app.key(&seeded.owner, None).await;
        let id = app.key_id(&old).await;
        let browser = sign_in(&app, "owner@acme.test", PASSWORD).await;
        let (_, _, home) = send_text(browser.request(&app, Method::GET, "/")).await;
        let action = format!("action=\"/keys/{id}/roll\"");
        assert!(home.contains(&action), "a Roll form on the row: {home}");
        assert!(
            home.contains("from 127.0.0.1"),
            "the last use's address: {home}"
        );
        let path = format!("/keys/{id}/roll");

        let forged = send_text(
            browser
                .request(&app, Method::POST, &path)
                .form(&[("csrf_token", "forged"), ("grace_seconds", "0")]),
        )
        .await;
        assert_eq!(forged.0, 403, "{}", forged.2);
        let off_the_list = send_text(browser.request(&app, Method::POST, &path).form(&[
            ("csrf_token", browser.csrf.as_str()),
            ("grace_seconds", "999999"),
        ]))
        .await;
        assert_eq!(off_the_list.0, 400, "{}", off_the_list.2);
        assert!(app.accepts(&old).await, "neither changed the key");
        assert!(app.audit_events_of(&old, "api_key.rolled").await.is_empty());

        let (status, headers, page) =
            send_text(browser.request(&app, Method::POST, &path).form(&[
                ("csrf_token", browser.csrf.as_str()),
                ("grace_seconds", "86400"),
            ]))
            .await;
        assert_eq!(status, 200, "{page}");
        assert_eq!(headers["cache-control"], "no-store");
        let new = secret_in(&page);
        assert_ne!(new, old);
        assert!(page.contains("New secret for"), "{page}");
        assert!(page.contains("keeps working until"), "{page}");
        assert!(app.accepts(&new).await && app.accepts(&old).await);

        let (_, _, home) = send_text(browser.request(&app, Method::GET, "/")).await;
        assert!(!home.contains(&new), "the secret is shown once");
        assert!(home.contains(&new[..15]), "the row shows the new prefix");
        assert!(
            home.contains("old secret") && home.contains(&old[..15]),
            "the row shows the old secret in its grace: {home}"
        );
        clock.advance(Duration::days(1));
        let browser = sign_in(&app, "owner@acme.test", PASSWORD).await;
        let (status, _, home) = send_text(browser.request(&app, Method::GET, "/")).await;
        assert_eq!(status, 200, "{home}");
        assert!(home.contains(&new[..15]), "{home}");
        assert!(!home.contains(&old[..15]), "the grace is over: {home}");
        assert!(!app.accepts(&old).await);

        // Another person's key is not theirs to roll.
        let other = app.person(&seeded.acme, "ada@acme.test", Role::Admin).await;
        let others_key = app.key(&other, None).await;
        let others_id = app.key_id(&others_key).await;
        let refused = send_text(
            browser
                .request(&app, Method::POST, &format!("/keys/{others_id}/roll"))
                .form(&[
                    ("csrf_token", browser.csrf.as_str()),
                    ("grace_seconds", "0"),
                ]),
        )
        .await;
        assert_eq!(refused.0, 404, "{}", refused.2);
        assert!(app.accepts(&others_key).await);
        app.stop().await;
    })
    .await;
}

#[tokio::test]
async fn a_key_close_to_its_expiry_is_flagged() {
    crate::harness::each_backend(|backend| async move {
        let (app, clock) = TestApp::start_with_manual_clock(backend, |_| {}).await;
        let seeded = seed(&app).await;
        let in_ten_days = Some(app.now() + Duration::days(10));
        app.key_expiring(&seeded.owner, None, in_ten_days).await;
        let browser = sign_in(&app, "owner@acme.test", PASSWORD).await;
        let (_, _, home) = send_text(browser.request(&app, Method::GET, "/")).await;
        assert!(!home.contains("expires in"), "ten days away: {home}");

        clock.advance(Duration::days(6) + Duration::hours(12));
        let browser = sign_in(&app, "owner@acme.test", PASSWORD).await;
        let (status, _, home) = send_text(browser.request(&app, Method::GET, "/")).await;
        assert_eq!(status, 200, "{home}");
        assert!(home.contains("expires in 3 days"), "{home}");
        app.stop().await;
    })
    .await;
}

/// A real browser rolls a key: the grace chosen in the row's list, the button clicked, the new
/// secret read off the page works, and so does the old one, for now.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_browser_rolls_a_key() {
    use fantoccini::Locator;

    if !crate::browser::enabled() {
        return;
    }
    let (app, seeded) = TestApp::start_seeded(gatekey_store::Backend::Sqlite).await;
    let old = app.key(&seeded.owner, None).await;
    let id = app.key_id(&old).await;
    let (_driver, client) = crate::browser::browser().await;
    client.goto(&app.url("/login")).await.unwrap();
    crate::browser::fill_and_sign_in(&client, "owner@acme.test").await;

    let grace = client
        .wait()
        .for_element(Locator::Css(&format!("select#grace-{id}")))
        .await
        .unwrap();
    grace.select_by_value("604800").await.unwrap();
    client
        .find(Locator::Css(&format!(
            "form[action='/keys/{id}/roll'] button"
        )))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    let shown = client
        .wait()
        .for_element(Locator::Css("#new-secret"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(shown.starts_with("gk_key_") && shown != old, "{shown}");
    assert!(app.accepts(&shown).await && app.accepts(&old).await);
    let key = app.store().api_key_by_id(id).await.unwrap().unwrap();
    let grace = key.previous_secret_expires_at.unwrap() - app.now();
    assert!(
        grace > Duration::days(6) && grace <= Duration::days(7),
        "{grace}"
    );
    client.close().await.unwrap();
    app.stop().await;
}
