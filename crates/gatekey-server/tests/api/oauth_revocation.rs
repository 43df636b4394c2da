//! Revocation (RFC 7009) and introspection (RFC 7662) over raw HTTP.

use gatekey_core::role::Role;
use reqwest::header::WWW_AUTHENTICATE;
use reqwest::Method;
use serde_json::{json, Value};
use time::Duration;

use crate::harness::{assert_error, each_backend, send, TestApp};
use crate::oauth_fixture::{assert_no_store, ClientSpec};

/// Whether `token` works on the REST API.
async fn works(app: &TestApp, token: &str) -> bool {
    send(app.request(Method::GET, "/api/v1/me", token)).await.0 == 200
}

#[tokio::test]
async fn revocation_of_access_and_refresh_tokens() {
    each_backend(|backend| async move {
        let (app, seeded, client) = TestApp::start_with_client(backend, ClientSpec::public()).await;
        let grant = app.consent(&seeded.owner, &client, "read").await;
        let hour = Duration::hours(1);

        // An access token, with a wrong hint: the token's prefix decides.
        let (access, refresh) = app.issue(&grant, hour).await;
        assert!(works(&app, &access).await, "cached before revocation");
        let answer = app
            .post_as(
                &client,
                "/oauth/revoke",
                &[("token", &access), ("token_type_hint", "refresh_token")],
            )
            .await;
        assert_eq!(answer.0, 200, "{}", answer.2);
        assert_no_store(&answer.1);
        assert!(!works(&app, &access).await, "refused at once");
        let refreshed = app.refresh(&client, &refresh).await;
        assert_eq!(
            refreshed.0, 200,
            "the refresh token survives: {}",
            refreshed.2
        );

        // A refresh token takes its family's access tokens with it; no hint is needed.
        let (access, refresh) = app.issue(&grant, hour).await;
        assert!(works(&app, &access).await);
        let answer = app
            .post_as(&client, "/oauth/revoke", &[("token", &refresh)])
            .await;
        assert_eq!(answer.0, 200, "{}", answer.2);
        assert!(!works(&app, &access).await);

        // Unknown, malformed, already revoked, or an unknown hint: 200 and nothing happens.
        for token in ["gk_at_nonsense", "whatever", refresh.as_str()] {
            let answer = app
                .post_as(
                    &client,
                    "/oauth/revoke",
                    &[("token", token), ("token_type_hint", "device_secret")],
                )
                .await;
            assert_eq!(answer.0, 200, "{token}: {}", answer.2);
        }
        app.stop().await;
    })
    .await;
}

#[tokio::test]
async fn another_clients_token_is_left_alone() {
    each_backend(|backend| async move {
        let (app, seeded, owner_client, intruder) = TestApp::start_with_clients(
            backend,
            ClientSpec::confidential(),
            ClientSpec::confidential(),
        )
        .await;
        let (access, refresh) = app
            .grant_with_tokens(&seeded.owner, &owner_client, "read")
            .await;
        for token in [&access, &refresh] {
            let answer = app
                .post_as(&intruder, "/oauth/revoke", &[("token", token)])
                .await;
            assert_eq!(answer.0, 200, "{}", answer.2);
        }
        assert!(works(&app, &access).await);
        let refreshed = app.refresh(&owner_client, &refresh).await;
        assert_eq!(refreshed.0, 200, "{}", refreshed.2);
        app.stop().await;
    })
    .await;
}

#[tokio::test]
async fn revocation_needs_client_authentication_and_a_token() {
    each_backend(|backend| async move {
        let (app, _, client) =
            TestApp::start_with_client(backend, ClientSpec::confidential()).await;
        let anonymous = app
            .post_form("/oauth/revoke", None, &[("token", "gk_at_x")])
            .await;
        assert_error(&anonymous, 401, "invalid_client");
        assert!(anonymous.1.get(WWW_AUTHENTICATE).is_some());
        let wrong = app
            .post_form(
                "/oauth/revoke",
                Some((&client.id, "gk_cs_wrong")),
                &[("token", "gk_at_x")],
            )
            .await;
        assert_error(&wrong, 401, "invalid_client");
        let missing = app.post_as(&client, "/oauth/revoke", &[]).await;
        assert_error(&missing, 400, "invalid_request");
        let repeated = app
            .post_as(
                &client,
                "/oauth/revoke",
                &[("token", "gk_at_a"), ("token", "gk_at_b")],
            )
            .await;
        assert_error(&repeated, 400, "invalid_request");
        let get = send(app.http.get(app.url("/oauth/revoke"))).await;
        assert_error(&get, 405, "invalid_request");
        app.stop().await;
    })
    .await;
}

#[tokio::test]
async fn a_storage_failure_is_503_never_200() {
    each_backend(|backend| async move {
        let (app, seeded, client) = TestApp::start_with_client(backend, ClientSpec::public()).await;
        let (access, _) = app.grant_with_tokens(&seeded.owner, &client, "read").await;
        app.store().close().await;
        let answer = app
            .post_as(&client, "/oauth/revoke", &[("token", &access)])
            .await;
        assert_error(&answer, 503, "temporarily_unavailable");
        assert_no_store(&answer.1);
        let token = app.refresh(&client, "x").await;
        assert_error(&token, 503, "temporarily_unavailable");
        app.stop().await;
    })
    .await;
}

#[tokio::test]
async fn introspection_shows_active_tokens_to_those_allowed() {
    each_backend(|backend| async move {
        let (app, seeded, client, resource_server) = TestApp::start_with_clients(
            backend,
            ClientSpec::confidential(),
            ClientSpec::resource_server(),
        )
        .await;
        let bystander = app
            .register_client(seeded.acme.id, ClientSpec::confidential())
            .await;
        let viewer = app
            .person(&seeded.acme, "viewer@acme.test", Role::Viewer)
            .await;
        let grant = app.consent(&seeded.owner, &client, "read write").await;
        let (access, refresh) = app.issue(&grant, Duration::hours(1)).await;

        let seen = app.introspect(&resource_server, &access).await;
        let issuer = app.server.state.issuer.clone();
        assert_eq!(seen["active"], true, "{seen}");
        assert_eq!(seen["scope"], "read write");
        assert_eq!(seen["client_id"], client.id.as_str());
        assert_eq!(seen["username"], "owner@acme.test");
        assert_eq!(seen["sub"], seeded.owner.user.id.to_string());
        assert_eq!(seen["account"], "acme");
        assert_eq!(seen["token_type"], "Bearer");
        assert_eq!(seen["iss"], issuer.as_str());
        let (exp, iat) = (seen["exp"].as_i64().unwrap(), seen["iat"].as_i64().unwrap());
        assert!((3595..=3605).contains(&(exp - iat)), "{seen}");

        let own = app.introspect(&client, &access).await;
        assert_eq!(own["active"], true, "a client sees its own tokens");
        let own_refresh = app.introspect(&client, &refresh).await;
        assert_eq!(own_refresh["active"], true);
        assert_eq!(own_refresh["token_type"], "refresh_token");
        let hidden = app.introspect(&bystander, &access).await;
        assert_eq!(hidden, json!({"active": false}), "not another client's");

        // The scope is what the token may do now: within the user's current role.
        let (viewer_access, _) = app.grant_with_tokens(&viewer, &client, "read write").await;
        let narrowed = app.introspect(&resource_server, &viewer_access).await;
        assert_eq!(narrowed["scope"], "read");

        let (expired, _) = app.issue(&grant, -Duration::seconds(1)).await;
        let revoke = app
            .post_as(&client, "/oauth/revoke", &[("token", &access)])
            .await;
        assert_eq!(revoke.0, 200);
        for inactive in [
            access.as_str(),
            expired.as_str(),
            "gk_at_nonsense",
            "not even a token",
        ] {
            let answer = app.introspect(&resource_server, inactive).await;
            assert_eq!(answer, json!({"active": false}), "{inactive}");
        }

        // A spent refresh token is no longer active.
        let rotated = app.refresh(&client, &refresh).await;
        assert_eq!(rotated.0, 200, "{}", rotated.2);
        assert_eq!(
            app.introspect(&resource_server, &refresh).await,
            json!({"active": false})
        );
        let newest = rotated.2["refresh_token"].as_str().unwrap();
        assert_eq!(
            app.introspect(&resource_server, newest).await["active"],
            true
        );
        app.stop().await;
    })
    .await;
}

#[tokio::test]
async fn only_authenticated_confidential_clients_may_introspect() {
    each_backend(|backend| async move {
        let (app, seeded, public) = TestApp::start_with_client(backend, ClientSpec::public()).await;
        let (access, _) = app.grant_with_tokens(&seeded.owner, &public, "read").await;
        let answer = app
            .post_as(&public, "/oauth/introspect", &[("token", &access)])
            .await;
        assert_error(&answer, 401, "invalid_client");
        assert_no_store(&answer.1);
        let anonymous = app
            .post_form("/oauth/introspect", None, &[("token", &access)])
            .await;
        assert_error(&anonymous, 401, "invalid_client");
        let api_key = app.key(&seeded.owner, None).await;
        let bearer = send(
            app.http
                .post(app.url("/oauth/introspect"))
                .bearer_auth(&api_key)
                .form(&[("token", &access)]),
        )
        .await;
        assert_error(&bearer, 401, "invalid_client");
        let resource_server = app
            .register_client(seeded.acme.id, ClientSpec::resource_server())
            .await;
        let missing = app
            .post_as(&resource_server, "/oauth/introspect", &[])
            .await;
        assert_error(&missing, 400, "invalid_request");
        assert_eq!(missing.2["error"], Value::from("invalid_request"));
        app.stop().await;
    })
    .await;
}
