//! Revoking an application ends everything it obtained: a user authorizes an application
//! through the real authorization flow, the application tries every credential-making door it
//! can reach with its token, then the user revokes it, and nothing it holds works any more.

use gatekey_core::role::Role;
use gatekey_core::store::UserStore;
use reqwest::header::LOCATION;
use reqwest::Method;
use serde_json::{json, Value};

use crate::harness::{
    assert_error, consent_form, each_backend, send, send_text, sign_in, TestApp, PASSWORD,
};
use crate::oauth_fixture::{Client, ClientSpec, REDIRECT};

const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";
const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";

/// Runs the authorization code flow with PKCE as `browser`'s user and returns the token
/// endpoint's answer.
async fn authorize(
    app: &TestApp,
    browser: &crate::harness::Browser,
    client: &Client,
    scope: &str,
) -> Value {
    let path = format!(
        "/oauth/authorize?client_id={}&redirect_uri={}&response_type=code&state=s&scope={}&code_challenge={CHALLENGE}&code_challenge_method=S256",
        client.id,
        url::form_urlencoded::byte_serialize(REDIRECT.as_bytes()).collect::<String>(),
        url::form_urlencoded::byte_serialize(scope.as_bytes()).collect::<String>(),
    );
    let page = send_text(browser.request(app, Method::GET, &path)).await;
    assert_eq!(page.0, 200, "{}", page.2);
    let answer = send_text(
        browser
            .request(app, Method::POST, "/oauth/authorize")
            .form(&consent_form(&page.2, "allow")),
    )
    .await;
    assert_eq!(answer.0, 302, "{}", answer.2);
    let location = url::Url::parse(answer.1[LOCATION].to_str().unwrap()).unwrap();
    let code = location
        .query_pairs()
        .find(|(k, _)| k == "code")
        .map(|(_, v)| v.into_owned())
        .expect("a code");
    let tokens = app
        .token(
            client,
            &[
                ("grant_type", "authorization_code"),
                ("code", &code),
                ("redirect_uri", REDIRECT),
                ("code_verifier", VERIFIER),
            ],
        )
        .await;
    assert_eq!(tokens.0, 200, "{}", tokens.2);
    tokens.2
}

fn text(value: &Value, field: &str) -> String {
    value[field].as_str().expect(field).to_owned()
}

#[tokio::test]
async fn an_oauth_token_cannot_manage_credentials() {
    each_backend(|backend| async move {
        let (app, seeded) = TestApp::start_seeded(backend).await;
        let robot = app
            .service_account(&seeded.acme, "robot", Role::Member)
            .await;
        let mut spec = ClientSpec::confidential();
        spec.scopes = "read write admin";
        let client = app.register_client(seeded.acme.id, spec.clone()).await;
        let (token, _) = app.grant_with_tokens(&seeded.owner, &client, "read write admin").await;
        let key = app.key(&seeded.owner, None).await;
        let key_id = app.key_id(&key).await;
        let other = app.register_client(seeded.acme.id, spec).await;
        app.consent(&seeded.owner, &other, "read").await;
        let app_id = client.application.id;

        let refused = [
            (Method::GET, "/api/v1/api_keys".to_owned(), Value::Null),
            (Method::POST, "/api/v1/api_keys".into(), json!({"name": "k"})),
            (Method::DELETE, format!("/api/v1/api_keys/{key_id}"), Value::Null),
            (Method::GET, format!("/api/v1/users/{}/api_keys", robot.user.id), Value::Null),
            (
                Method::POST,
                format!("/api/v1/users/{}/api_keys", robot.user.id),
                json!({"name": "k"}),
            ),
            (Method::GET, "/api/v1/authorizations".into(), Value::Null),
            (Method::DELETE, format!("/api/v1/authorizations/{}", other.id), Value::Null),
            (
                Method::POST,
                "/api/v1/applications".into(),
                json!({"name": "mine", "client_type": "confidential", "redirect_uris": [REDIRECT]}),
            ),
            (
                Method::PATCH,
                format!("/api/v1/applications/{app_id}"),
                json!({"redirect_uris": ["https://evil.example/cb"]}),
            ),
            (Method::POST, format!("/api/v1/applications/{app_id}/rotate_secret"), Value::Null),
            (Method::DELETE, format!("/api/v1/applications/{}", other.application.id), Value::Null),
            (
                Method::POST,
                "/api/v1/users".into(),
                json!({"email": "x@acme.test", "name": "X", "role": "member", "password": "a long enough password"}),
            ),
            (Method::DELETE, format!("/api/v1/service_accounts/{}", robot.user.id), Value::Null),
            // A role decides what every credential of the member may do, and a service account
            // holds credentials that would outlast the application's revocation.
            (Method::PATCH, format!("/api/v1/users/{}", robot.user.id), json!({"role": "owner"})),
            (Method::POST, "/api/v1/service_accounts".into(), json!({"name": "planted"})),
        ];
        for (method, path, body) in refused {
            let mut request = app.request(method.clone(), &path, &token);
            if !body.is_null() {
                request = request.json(&body);
            }
            let answer = send(request).await;
            assert_error(&answer, 403, "forbidden");
            assert!(
                answer.2["error_description"]
                    .as_str()
                    .unwrap()
                    .contains("OAuth access token"),
                "{method} {path}: {}",
                answer.2
            );
        }
        let robot_now = app.store().member(seeded.acme.id, robot.user.id).await.unwrap().unwrap();
        assert_eq!(robot_now.membership.role, Role::Member, "the role is unchanged");
        let robots = send(app.request(Method::GET, "/api/v1/service_accounts", &key)).await;
        assert_eq!(robots.2["pagination"]["total_records"], 1, "{}", robots.2);
        // What the token may do is untouched: reading, and administering within its scopes.
        assert_eq!(send(app.request(Method::GET, "/api/v1/me", &token)).await.0, 200);
        assert_eq!(send(app.request(Method::GET, "/api/v1/users", &token)).await.0, 200);
        // And the same requests with the user's own key are not refused for the credential.
        let listed = send(app.request(Method::GET, "/api/v1/authorizations", &key)).await;
        assert_eq!(listed.0, 200, "{}", listed.2);
        assert_eq!(listed.2["pagination"]["total_records"], 2);
        app.stop().await;
    })
    .await;
}

#[tokio::test]
async fn after_the_user_revokes_an_application_nothing_it_obtained_works() {
    each_backend(|backend| async move {
        let (app, seeded) = TestApp::start_seeded(backend).await;
        let mut spec = ClientSpec::confidential();
        spec.scopes = "read write admin";
        let client = app.register_client(seeded.acme.id, spec.clone()).await;
        let bystander = app.register_client(seeded.acme.id, spec).await;
        let browser = sign_in(&app, "owner@acme.test", PASSWORD).await;

        // The user authorizes both applications through the real flow.
        let first = authorize(&app, &browser, &client, "read write admin").await;
        let kept = authorize(&app, &browser, &bystander, "read").await;
        let bystander_access = text(&kept, "access_token");

        // The application does everything it can: it uses its token, tries to mint lasting
        // credentials (refused), and rotates its refresh token.
        let mut access_tokens = vec![text(&first, "access_token")];
        let refreshed = app
            .refresh(&client, &text(&first, "refresh_token"))
            .await;
        assert_eq!(refreshed.0, 200, "{}", refreshed.2);
        access_tokens.push(text(&refreshed.2, "access_token"));
        let refresh = text(&refreshed.2, "refresh_token");
        for token in &access_tokens {
            assert_eq!(send(app.request(Method::GET, "/api/v1/me", token)).await.0, 200);
            let minted = app.send_json(Method::POST, "/api/v1/api_keys", token, json!({"name": "lasting"})).await;
            assert_error(&minted, 403, "forbidden");
            let registered = send(app.request(Method::POST, "/api/v1/applications", token).json(
                &json!({"name": "lasting", "client_type": "confidential", "redirect_uris": [REDIRECT]}),
            ))
            .await;
            assert_error(&registered, 403, "forbidden");
        }
        let introspected = app.introspect(&client, &access_tokens[1]).await;
        assert_eq!(introspected["active"], true, "{introspected}");

        // The user revokes it on the authorized applications page.
        let revoke = browser
            .request(
                &app,
                Method::POST,
                &format!("/oauth/authorized_applications/{}/revoke", client.id),
            )
            .form(&[("csrf_token", browser.csrf.as_str())]);
        assert_eq!(send_text(revoke).await.0, 303);

        for token in &access_tokens {
            let me = send(app.request(Method::GET, "/api/v1/me", token)).await;
            assert_error(&me, 401, "invalid_token");
            assert_eq!(app.introspect(&client, token).await, json!({"active": false}));
        }
        assert_eq!(
            app.introspect(&client, &refresh).await,
            json!({"active": false})
        );
        let renewed = app
            .refresh(&client, &refresh)
            .await;
        assert_error(&renewed, 400, "invalid_grant");
        // The code flow needs the user again: the grant is gone, not merely its tokens.
        let authorizations = send(app.request(
            Method::GET,
            "/api/v1/authorizations",
            &app.key(&seeded.owner, None).await,
        ))
        .await;
        let remaining: Vec<&str> = authorizations.2["authorizations"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a["client_id"].as_str().unwrap())
            .collect();
        assert_eq!(remaining, [bystander.id.as_str()]);
        // No credential of the user was minted on the way, and the other application is
        // untouched.
        let keys = send(app.request(
            Method::GET,
            "/api/v1/api_keys",
            &app.key(&seeded.owner, Some("read")).await,
        ))
        .await;
        assert_eq!(keys.2["pagination"]["total_records"], 2, "only the test's keys");
        assert_eq!(
            send(app.request(Method::GET, "/api/v1/me", &bystander_access)).await.0,
            200
        );
        app.stop().await;
    })
    .await;
}
