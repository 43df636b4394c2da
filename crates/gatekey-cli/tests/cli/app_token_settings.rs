//! `gatekey admin app create|update|show` with the token settings: `--id-token-alg`,
//! `--access-token-format`, `--resource` and `--post-logout-redirect-uri`, in the `--json`
//! output and the text, and refused when bad.

use gatekey_store::testing::{backends, TestDatabase};
use serde_json::json;

use crate::fixtures::{create_account, create_app, try_create_app};
use crate::process::{admin, admin_json};

#[tokio::test]
async fn token_settings_are_set_shown_and_changed() {
    for backend in backends() {
        let db = TestDatabase::create(backend).await;
        let url = db.url.as_str();
        create_account(url, "acme", "Acme");
        let plain = create_app(
            url,
            "Plain",
            "public",
            &["--redirect-uri", "http://127.0.0.1/cb"],
        );
        assert_eq!(plain["id_token_signed_response_alg"], "RS256");
        assert_eq!(plain["access_token_format"], "opaque");
        assert_eq!(plain["resources"], json!([]));
        assert_eq!(plain["post_logout_redirect_uris"], json!([]));

        let made = create_app(
            url,
            "Portal",
            "public",
            &[
                "--redirect-uri",
                "https://portal.example/cb",
                "--id-token-alg",
                "ES256",
                "--access-token-format",
                "jwt",
                "--resource",
                "https://api.example.com",
                "--resource",
                "urn:example:billing",
                "--post-logout-redirect-uri",
                "https://portal.example/bye",
            ],
        );
        assert_eq!(made["id_token_signed_response_alg"], "ES256");
        assert_eq!(made["access_token_format"], "jwt");
        assert_eq!(
            made["resources"],
            json!(["https://api.example.com", "urn:example:billing"])
        );
        assert_eq!(
            made["post_logout_redirect_uris"],
            json!(["https://portal.example/bye"])
        );
        let client_id = made["client_id"].as_str().unwrap();

        let shown = admin(url, &["app", "show", client_id]);
        let text = String::from_utf8_lossy(&shown.stdout);
        assert!(shown.status.success(), "{text}");
        for line in [
            "ID token alg:    ES256",
            "access tokens:   jwt",
            "resources:       https://api.example.com urn:example:billing",
            "logout URIs:     https://portal.example/bye",
        ] {
            assert!(text.contains(line), "{line:?} in {text}");
        }

        let updated = admin_json(
            url,
            &[
                "app",
                "update",
                client_id,
                "--id-token-alg",
                "EdDSA",
                "--resource",
                "https://other.example/api",
                "--no-post-logout-redirect-uri",
            ],
        );
        assert_eq!(updated["id_token_signed_response_alg"], "EdDSA");
        assert_eq!(updated["access_token_format"], "jwt", "left as it was");
        assert_eq!(updated["resources"], json!(["https://other.example/api"]));
        assert_eq!(updated["post_logout_redirect_uris"], json!([]));
        let cleared = admin_json(url, &["app", "update", client_id, "--no-resource"]);
        assert_eq!(cleared["resources"], json!([]));
        let shown = admin_json(url, &["app", "show", client_id]);
        assert_eq!(shown["id_token_signed_response_alg"], "EdDSA");
        assert_eq!(shown["resources"], json!([]));
        db.drop_database().await;
    }
}

#[tokio::test]
async fn bad_token_settings_are_refused() {
    let db = TestDatabase::create(backends()[0]).await;
    let url = db.url.as_str();
    create_account(url, "acme", "Acme");
    let create = |extra: &[&str]| {
        let mut args = vec!["--redirect-uri", "https://portal.example/cb"];
        args.extend(extra);
        try_create_app(url, "Portal", "public", &args)
    };
    for usage in [
        &["--id-token-alg", "none"][..],
        &["--id-token-alg", "rs256"],
        &["--access-token-format", "JWT"],
        &["--resource", "https://a.example", "--no-resource"],
    ] {
        let refused = create(usage);
        assert_eq!(
            refused.status.code(),
            Some(2),
            "{usage:?}: {}",
            String::from_utf8_lossy(&refused.stderr)
        );
    }
    for (flags, hint) in [
        (&["--resource", "/api"][..], "not an absolute URI"),
        (&["--resource", "https://api.example#x"], "fragment"),
        (
            &["--post-logout-redirect-uri", "http://portal.example/bye"],
            "must use https",
        ),
        (
            &[
                "--post-logout-redirect-uri",
                "https://portal.example/bye\nx",
            ],
            "whitespace or a control character",
        ),
    ] {
        let refused = create(flags);
        let reason = String::from_utf8_lossy(&refused.stderr);
        assert_eq!(refused.status.code(), Some(1), "{flags:?}: {reason}");
        assert!(reason.contains(hint), "{flags:?}: {reason}");
    }
    let listed = admin_json(url, &["app", "list", "--account", "acme"]);
    assert_eq!(listed["total"], 0, "nothing was registered");
    db.drop_database().await;
}
