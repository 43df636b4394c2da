//! The web pages of the scope catalogue (`/scopes`, for the operator account's admins) and of
//! the role mapping (`/roles`, for each account's admins), and the key form's catalogue scopes.

use reqwest::header::LOCATION;
use reqwest::Method;

use crate::harness::{each_backend, send_text, sign_in, Browser, Team, TestApp, PASSWORD};

async fn post(
    app: &TestApp,
    browser: &Browser,
    path: &str,
    form: &[(&str, &str)],
) -> (u16, String, String) {
    let mut fields = vec![("csrf_token", browser.csrf.as_str())];
    fields.extend_from_slice(form);
    let (status, headers, body) =
        send_text(browser.request(app, Method::POST, path).form(&fields)).await;
    let location = headers
        .get(LOCATION)
        .map(|l| l.to_str().unwrap().to_owned())
        .unwrap_or_default();
    (status, location, body)
}

async fn get(app: &TestApp, browser: &Browser, path: &str) -> (u16, String) {
    let (status, _, body) = send_text(browser.request(app, Method::GET, path)).await;
    (status, body)
}

#[tokio::test]
async fn the_operator_accounts_admins_edit_the_catalogue_on_its_page() {
    each_backend(|backend| async move {
        let app = TestApp::start_with(backend, |c| c.operator_account = "acme".into()).await;
        let Team { seeded, .. } = Team::seed(&app).await;
        let owner = sign_in(&app, "owner@acme.test", PASSWORD).await;
        let (status, home) = get(&app, &owner, "/").await;
        assert_eq!(status, 200);
        assert!(home.contains("href=\"/scopes\""), "{home}");

        let added = post(
            &app,
            &owner,
            "/scopes",
            &[
                ("name", "features:read"),
                ("description", "Read the feature list"),
                ("group", "Product"),
                ("role_owner", "on"),
                ("role_member", "on"),
            ],
        )
        .await;
        assert_eq!((added.0, added.1.as_str()), (303, "/scopes"), "{}", added.2);
        let (_, page) = get(&app, &owner, "/scopes").await;
        assert!(page.contains("<code>features:read</code>"), "{page}");
        assert!(page.contains("value=\"Read the feature list\""), "{page}");

        let refused = post(
            &app,
            &owner,
            "/scopes",
            &[
                ("name", "two words"),
                ("description", "x"),
                ("role_owner", "on"),
            ],
        )
        .await;
        assert_eq!(refused.0, 400);
        assert!(refused.2.contains("role=\"alert\""), "{}", refused.2);

        let updated = post(
            &app,
            &owner,
            "/scopes/features:read",
            &[
                ("description", "Read features"),
                ("group", ""),
                ("role_admin", "on"),
            ],
        )
        .await;
        assert_eq!(updated.0, 303, "{}", updated.2);
        let (_, page) = get(&app, &owner, "/scopes").await;
        assert!(page.contains("value=\"Read features\""), "{page}");
        let builtin = post(&app, &owner, "/scopes/read/delete", &[]).await;
        assert_eq!(builtin.0, 400, "{}", builtin.2);
        let deleted = post(&app, &owner, "/scopes/features:read/delete", &[]).await;
        assert_eq!(deleted.0, 303, "{}", deleted.2);
        let (_, page) = get(&app, &owner, "/scopes").await;
        assert!(page.contains("The catalogue is empty."), "{page}");

        // Admins of another account, and members, have no catalogue page.
        app.person(
            &seeded.other,
            "admin@other.test",
            gatekey_core::role::Role::Admin,
        )
        .await;
        let elsewhere = sign_in(&app, "admin@other.test", PASSWORD).await;
        assert_eq!(get(&app, &elsewhere, "/scopes").await.0, 403);
        let member = sign_in(&app, "member@acme.test", PASSWORD).await;
        assert_eq!(get(&app, &member, "/scopes").await.0, 403);
        app.stop().await;
    })
    .await;
}

#[tokio::test]
async fn an_admin_maps_roles_on_the_roles_page_and_keys_offer_what_the_role_holds() {
    each_backend(|backend| async move {
        let app = TestApp::start_with(backend, |c| c.operator_account = "acme".into()).await;
        Team::seed(&app).await;
        let owner = sign_in(&app, "owner@acme.test", PASSWORD).await;
        let added = post(
            &app,
            &owner,
            "/scopes",
            &[
                ("name", "billing"),
                ("description", "See invoices"),
                ("role_owner", "on"),
            ],
        )
        .await;
        assert_eq!(added.0, 303, "{}", added.2);

        let member = sign_in(&app, "member@acme.test", PASSWORD).await;
        let (_, home) = get(&app, &member, "/").await;
        assert!(
            !home.contains("name=\"scope_billing\""),
            "a member does not hold billing yet"
        );

        let admin = sign_in(&app, "admin@acme.test", PASSWORD).await;
        let mapped = post(&app, &admin, "/roles/member", &[("scope_billing", "on")]).await;
        assert_eq!(
            (mapped.0, mapped.1.as_str()),
            (303, "/roles"),
            "{}",
            mapped.2
        );
        let (status, roles) = get(&app, &admin, "/roles").await;
        assert_eq!(status, 200);
        assert!(roles.contains("member (mapped)"), "{roles}");
        assert!(roles.contains("read write billing"), "{roles}");
        let over_owner = post(&app, &admin, "/roles/owner", &[]).await;
        assert_eq!(over_owner.0, 400);
        assert!(
            over_owner.2.contains("ranks above yours"),
            "{}",
            over_owner.2
        );
        let unknown = post(&app, &admin, "/roles/member", &[("scope_nope", "on")]).await;
        assert_eq!(unknown.0, 400);
        assert!(unknown.2.contains("unknown scope"), "{}", unknown.2);

        let (_, home) = get(&app, &member, "/").await;
        assert!(home.contains("name=\"scope_billing\""), "{home}");
        let created = post(
            &app,
            &member,
            "/keys",
            &[
                ("name", "invoices"),
                ("scope_read", "on"),
                ("scope_billing", "on"),
            ],
        )
        .await;
        assert_eq!(created.0, 201, "{}", created.2);
        assert!(created.2.contains("<td>read billing</td>"), "{}", created.2);
        let sudo = post(
            &app,
            &member,
            "/keys",
            &[("name", "x"), ("scope_sudo", "on")],
        )
        .await;
        assert_eq!(sudo.0, 400);

        let reset = post(&app, &admin, "/roles/member/reset", &[]).await;
        assert_eq!(reset.0, 303, "{}", reset.2);
        let (_, roles) = get(&app, &admin, "/roles").await;
        assert!(!roles.contains("member (mapped)"), "{roles}");
        assert_eq!(get(&app, &member, "/roles").await.0, 403, "admins only");
        app.stop().await;
    })
    .await;
}
