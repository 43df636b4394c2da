//! Discovery as a relying party sees it: `/.well-known/openid-configuration` (OpenID Connect
//! Discovery 1.0) holds every member of `/.well-known/oauth-authorization-server` (RFC 8414)
//! with the same value, lists the identity scopes and the catalogue, follows a catalogue
//! change, and is served from memory.

use reqwest::Method;
use serde_json::{json, Value};

use crate::harness::{each_backend, send, TestApp};

const OAUTH: &str = "/.well-known/oauth-authorization-server";
const OPENID: &str = "/.well-known/openid-configuration";

async fn document(app: &TestApp, path: &str) -> Value {
    let answer = send(app.http.get(app.url(path))).await;
    assert_eq!(answer.0, 200, "{path}: {}", answer.2);
    answer.2
}

#[tokio::test]
async fn the_openid_configuration_agrees_with_the_oauth_metadata() {
    each_backend(|backend| async move {
        let app = TestApp::start(backend).await;
        let oauth = document(&app, OAUTH).await;
        let openid = document(&app, OPENID).await;
        for (name, value) in oauth.as_object().expect("object") {
            assert_eq!(&openid[name], value, "{name}");
        }
        assert_eq!(openid["issuer"], app.base_url());
        assert_eq!(openid["jwks_uri"], app.url("/oauth/jwks"));
        assert_eq!(openid["userinfo_endpoint"], app.url("/oauth/userinfo"));
        assert_eq!(
            openid["scopes_supported"],
            json!([
                "openid",
                "profile",
                "email",
                "offline_access",
                "read",
                "write",
                "admin"
            ])
        );
        assert_eq!(openid["subject_types_supported"], json!(["public"]));
        assert_eq!(
            openid["id_token_signing_alg_values_supported"],
            json!(["RS256", "ES256", "EdDSA"])
        );
        assert_eq!(openid["response_types_supported"], json!(["code"]));
        assert_eq!(
            openid["response_modes_supported"],
            json!(["query", "fragment"])
        );
        for claim in [
            "sub",
            "auth_time",
            "nonce",
            "email_verified",
            "gatekey:account",
        ] {
            assert!(
                openid["claims_supported"]
                    .as_array()
                    .is_some_and(|claims| claims.contains(&json!(claim))),
                "{claim}"
            );
        }
        assert_eq!(
            openid["prompt_values_supported"],
            json!(["none", "login", "consent", "select_account"])
        );
        for off in [
            "request_parameter_supported",
            "request_uri_parameter_supported",
            "claims_parameter_supported",
        ] {
            assert_eq!(openid[off], false, "{off}");
        }
        app.stop().await;
    })
    .await;
}

#[tokio::test]
async fn both_documents_follow_the_catalogue_and_are_served_from_memory() {
    each_backend(|backend| async move {
        let app =
            TestApp::start_with(backend, |config| config.operator_account = "acme".into()).await;
        let seeded = crate::harness::seed(&app).await;
        let owner_key = app.key(&seeded.owner, None).await;
        let built_in = json!([
            "openid",
            "profile",
            "email",
            "offline_access",
            "read",
            "write",
            "admin"
        ]);
        for path in [OAUTH, OPENID] {
            assert_eq!(document(&app, path).await["scopes_supported"], built_in);
        }

        // With the catalogue's table out of reach, the documents still come, from memory. (This
        // comes before any catalogue change: the invalidation feed delivers a change a second
        // time, a moment later, and the reload that follows would need the table.)
        let database = app.second_connection().await;
        sqlx::query("ALTER TABLE scopes RENAME TO scopes_away")
            .execute(&database)
            .await
            .expect("renamed");
        for _ in 0..3 {
            for path in [OAUTH, OPENID] {
                assert_eq!(document(&app, path).await["scopes_supported"], built_in);
            }
        }
        sqlx::query("ALTER TABLE scopes_away RENAME TO scopes")
            .execute(&database)
            .await
            .expect("renamed back");
        database.close().await;

        let created = app
            .send_json(
                Method::POST,
                "/api/v1/scopes",
                &owner_key,
                json!({"name": "billing", "description": "See invoices"}),
            )
            .await;
        assert_eq!(created.0, 201, "{}", created.2);
        let mut with_billing = built_in.clone();
        with_billing
            .as_array_mut()
            .expect("array")
            .push("billing".into());
        for path in [OAUTH, OPENID] {
            assert_eq!(document(&app, path).await["scopes_supported"], with_billing);
        }
        app.stop().await;
    })
    .await;
}
