//! `gatekey admin app …`: registering, showing, changing, rotating and deleting OAuth
//! applications from the command line, on every backend.

use gatekey_core::oauth::store::ApplicationStore;
use gatekey_core::page::PageRequest;
use gatekey_core::secret::TokenHash;
use gatekey_core::store::{AccountStore, AuditStore};
use gatekey_store::testing::{backends, TestDatabase};
use gatekey_store::SqlStore;
use serde_json::json;

use crate::fixtures::{create_account, create_app, create_service_account, try_create_app};
use crate::process::{admin, admin_json};

/// Asserts a refusal: exit code 1 and one line on standard error containing `hint`.
#[track_caller]
fn assert_refused(output: &std::process::Output, hint: &str) {
    let reason = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{reason}");
    assert!(
        reason.contains(hint) && reason.trim().lines().count() == 1,
        "{reason}"
    );
}

#[tokio::test]
async fn register_rotate_and_delete_applications() {
    for backend in backends() {
        let db = TestDatabase::create(backend).await;
        let url = db.url.as_str();
        create_account(url, "acme", "Acme");
        create_account(url, "beta", "Beta");
        let robot = create_service_account(url, "acme", "sync");
        let stranger = create_service_account(url, "beta", "x");

        let made = create_app(
            url,
            "Reports",
            "confidential",
            &[
                "--redirect-uri",
                "https://reports.example/cb",
                "--grant-type",
                "client_credentials",
                "--grant-type",
                "authorization_code",
                "--service-account",
                &robot,
                "--scope",
                "read write",
                "--introspect",
            ],
        );
        let client_id = made["client_id"].as_str().unwrap().to_owned();
        let secret = made["client_secret"].as_str().unwrap().to_owned();
        assert!(
            client_id.starts_with("app_") && secret.starts_with("gk_cs_"),
            "{made}"
        );
        assert_eq!(made["account"], "acme");
        assert_eq!(
            made["grant_types"],
            json!(["authorization_code", "client_credentials"])
        );
        assert_eq!(made["scopes"], json!(["read", "write"]));
        assert_eq!(made["introspect"], true);
        assert_eq!(made["implicit_allowed"], false);

        let human = try_create_app(
            url,
            "Desktop",
            "public",
            &["--redirect-uri", "http://127.0.0.1/cb"],
        );
        assert!(human.status.success());
        let text = String::from_utf8_lossy(&human.stdout);
        assert!(
            text.contains("client_id:") && !text.contains("gk_cs_"),
            "a public client has no secret: {text}"
        );
        let desktop_id = text
            .split_whitespace()
            .find(|w| w.starts_with("app_"))
            .unwrap()
            .to_owned();

        let listed = admin(url, &["app", "list", "--account", "acme", "--json"]);
        let listed_text = String::from_utf8_lossy(&listed.stdout);
        assert!(
            !listed_text.contains(&secret) && !listed_text.contains("client_secret"),
            "{listed_text}"
        );
        let listed: serde_json::Value = serde_json::from_str(&listed_text).unwrap();
        assert_eq!(listed["total"], 2);
        let desktop = &listed["applications"][1];
        assert_eq!(desktop["client_id"], desktop_id.as_str());
        assert_eq!(
            desktop["grant_types"],
            json!(["authorization_code", "refresh_token"]),
            "the code flow by default"
        );
        let other = admin_json(url, &["app", "list", "--account", "beta"]);
        assert_eq!(other["total"], 0);
        let shown = admin(url, &["app", "show", &client_id]);
        let shown = String::from_utf8_lossy(&shown.stdout);
        assert!(
            shown.contains("https://reports.example/cb") && !shown.contains(&secret),
            "{shown}"
        );

        let updated = admin_json(
            url,
            &[
                "app",
                "update",
                &client_id,
                "--name",
                "Reports v2",
                "--no-introspect",
            ],
        );
        assert_eq!(
            (&updated["name"], &updated["introspect"], &updated["scopes"]),
            (
                &json!("Reports v2"),
                &json!(false),
                &json!(["read", "write"])
            )
        );
        assert_refused(
            &admin(url, &["app", "update", &client_id]),
            "nothing to change",
        );

        // Introspecting every account's tokens is the operator's setting; it implies
        // --introspect, and turning it off leaves the account's own introspection.
        let widened = admin_json(
            url,
            &["app", "update", &client_id, "--introspect-all-accounts"],
        );
        assert_eq!(
            (&widened["introspect"], &widened["introspect_all_accounts"]),
            (&json!(true), &json!(true))
        );
        let shown = admin(url, &["app", "show", &client_id]);
        assert!(String::from_utf8_lossy(&shown.stdout).contains("all accounts"));
        let narrowed = admin_json(
            url,
            &["app", "update", &client_id, "--no-introspect-all-accounts"],
        );
        assert_eq!(
            (
                &narrowed["introspect"],
                &narrowed["introspect_all_accounts"]
            ),
            (&json!(true), &json!(false))
        );
        assert_refused(
            &admin(
                url,
                &["app", "update", &desktop_id, "--introspect-all-accounts"],
            ),
            "public application",
        );
        admin_json(url, &["app", "update", &client_id, "--no-introspect"]);
        assert_refused(
            &admin(url, &["app", "update", &client_id, "--no-service-account"]),
            "service account",
        );

        let rotated = admin_json(url, &["app", "rotate-secret", &client_id]);
        let new_secret = rotated["client_secret"].as_str().unwrap().to_owned();
        assert!(new_secret.starts_with("gk_cs_") && new_secret != secret);
        assert!(rotated["previous_secret_expires_at"].is_string());
        let human_rotate = admin(url, &["app", "rotate-secret", &client_id]);
        assert!(String::from_utf8_lossy(&human_rotate.stdout).contains("24 more hours"));
        assert_refused(
            &admin(url, &["app", "rotate-secret", &desktop_id]),
            "public application",
        );

        // Refused settings: exit 1 with the rule on one line.
        let create = |extra: &[&str]| {
            let (client_type, extra) = extra.split_first().expect("a type");
            try_create_app(url, "Bad", client_type, extra)
        };
        assert_refused(
            &create(&["public", "--redirect-uri", "http://app.example/cb"]),
            "https",
        );
        assert_refused(
            &create(&["public", "--redirect-uri", "http://localhost/cb"]),
            "127.0.0.1",
        );
        assert_refused(
            &create(&["public", "--redirect-uri", "https://a.example/cb#x"]),
            "fragment",
        );
        assert_refused(
            &create(&[
                "confidential",
                "--grant-type",
                "client_credentials",
                "--service-account",
                &stranger,
            ]),
            "not a member",
        );
        assert_refused(
            &create(&[
                "public",
                "--redirect-uri",
                "https://a.example/cb",
                "--scope",
                "all",
            ]),
            "unknown scope",
        );
        assert_refused(&admin(url, &["app", "show", "app_nope"]), "no application");
        // Bad usage: exit 2.
        assert_eq!(create(&["native"]).status.code(), Some(2));
        assert_eq!(
            create(&["confidential", "--grant-type", "password"])
                .status
                .code(),
            Some(2),
            "password is not a grant type here"
        );
        assert_eq!(
            admin(url, &["app", "create", "--account", "acme", "--name", "x"])
                .status
                .code(),
            Some(2),
            "--type is required"
        );

        let deleted = admin_json(url, &["app", "delete", &desktop_id]);
        assert_eq!(deleted["deleted"], true);
        assert_refused(&admin(url, &["app", "show", &desktop_id]), "no application");
        assert_refused(
            &admin(url, &["app", "delete", &desktop_id]),
            "no application",
        );

        // What the database now holds: both secrets valid during the grace period, and the
        // operator's changes in the audit log.
        let store = SqlStore::connect_existing(url).await.unwrap();
        let app = store
            .application_by_client_id(&client_id)
            .await
            .unwrap()
            .unwrap();
        let now = time::OffsetDateTime::now_utc();
        assert!(
            app.secret_matches(&TokenHash::of(&new_secret), now),
            "the secret before the last rotation works during the grace period"
        );
        assert!(
            !app.secret_matches(&TokenHash::of(&secret), now),
            "a second rotation ends the first secret"
        );
        let acme = store.account_by_slug("acme").await.unwrap().unwrap();
        let audits = store
            .list_audits(acme.id, PageRequest::new(Some(1), Some(200)).unwrap())
            .await
            .unwrap();
        let actions: Vec<(&str, &str)> = audits
            .items
            .iter()
            .filter(|a| a.action.starts_with("application."))
            .map(|a| (a.action.as_str(), a.actor.credential.type_name()))
            .collect();
        assert_eq!(
            actions,
            [
                ("application.deleted", "operator"),
                ("application.secret_rotated", "operator"),
                ("application.secret_rotated", "operator"),
                // --no-introspect; --no-introspect-all-accounts; --introspect-all-accounts
                // (the setting, then the --introspect it implies); the first update.
                ("application.updated", "operator"),
                ("application.updated", "operator"),
                ("application.updated", "operator"),
                ("application.updated", "operator"),
                ("application.updated", "operator"),
                ("application.created", "operator"),
                ("application.created", "operator"),
            ]
        );
        store.close().await;
        db.drop_database().await;
    }
}

#[tokio::test]
async fn smuggled_redirect_uris_are_refused() {
    for backend in backends() {
        let db = TestDatabase::create(backend).await;
        let url = db.url.as_str();
        create_account(url, "acme", "Acme");
        let create = |uri: &str| try_create_app(url, "Evil", "public", &["--redirect-uri", uri]);
        for (uri, hint) in [
            (
                "https://ok.example/cb\nhttp://evil.example/cb",
                "whitespace or a control character",
            ),
            (
                "https://ok.example/c\tb",
                "whitespace or a control character",
            ),
            ("JavaScript:alert(1)", "javascript: scheme is not allowed"),
            ("data:text/html,x", "data: scheme is not allowed"),
            ("FILE:///etc/passwd", "file: scheme is not allowed"),
            ("vbscript:msgbox(1)", "vbscript: scheme is not allowed"),
        ] {
            assert_refused(&create(uri), hint);
        }
        let made = create_app(
            url,
            "Good",
            "public",
            &["--redirect-uri", "https://ok.example/cb"],
        );
        let client_id = made["client_id"].as_str().unwrap();
        assert_refused(
            &admin(
                url,
                &[
                    "app",
                    "update",
                    client_id,
                    "--redirect-uri",
                    "https://ok.example/cb\rjavascript:alert(1)",
                ],
            ),
            "whitespace or a control character",
        );
        let shown = admin_json(url, &["app", "show", client_id]);
        assert_eq!(shown["redirect_uris"], json!(["https://ok.example/cb"]));
        let listed = admin_json(url, &["app", "list", "--account", "acme"]);
        assert_eq!(listed["total"], 1, "only the good one was registered");
        db.drop_database().await;
    }
}
