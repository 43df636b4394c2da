//! No wire type prints a secret in `Debug` output: a secret logged by `{:?}` (a `tracing`
//! field, an `expect` message, a test failure) would end up wherever logs go.

use gatekey_proto::api::{
    ApiKeyView, ApplicationView, CreateUserRequest, CreatedApiKey, CreatedApplication,
    RotatedSecret,
};
use gatekey_proto::oauth::TokenResponse;

const KEY_SECRET: &str = "gk_key_3kTy8QvB0wXnLr5sZp2HcJ9mFa7dGe4uYi1oNb6Vq0Xt2W";
const CLIENT_SECRET: &str = "gk_cs_7Hn2Lp9Qx4Vb1Zr8Ks3Mw6Yt0Fd5Gj2Ac9Ue4Io7Py1Rk3";
const PASSWORD: &str = "correct horse battery staple";
const ACCESS_TOKEN: &str = "gk_at_Wq8Er4Ty7Ui1Op5As9Df2Gh6Jk0Lz3Xc8Vb4Nm7Qw1Ea5";
const REFRESH_TOKEN: &str = "gk_rt_Zx2Cv6Bn9Ma3Sd7Fg1Hj5Kl8Qw4Er0Ty2Ui6Op9As3Df7";

/// Asserts that `debug` shows neither `secret` nor its part after the `gk_…_` prefix.
#[track_caller]
fn assert_hidden(debug: &str, secret: &str) {
    assert!(!debug.contains(secret), "{debug}");
    let body = secret.rsplit('_').next().unwrap_or(secret);
    assert!(!debug.contains(body), "{debug}");
    assert!(
        debug.contains("<redacted>"),
        "the field is shown to exist: {debug}"
    );
}

fn key_view() -> ApiKeyView {
    ApiKeyView {
        id: 7,
        name: "laptop".into(),
        prefix: "gk_key_3kTy".into(),
        previous_prefix: None,
        previous_secret_expires_at: None,
        user_id: 3,
        scopes: vec!["read".into()],
        created_at: "2026-01-01T00:00:00Z".into(),
        last_used_at: None,
        last_used_ip: None,
        expires_at: None,
        revoked_at: None,
        parent_key_id: None,
        meta: None,
        rate_per_second: None,
        rate_per_minute: None,
        rate_per_hour: None,
        credits_remaining: None,
        credits_refill: None,
        credits_refilled_at: None,
    }
}

fn application_view() -> ApplicationView {
    ApplicationView {
        id: 1,
        client_id: "app_x".into(),
        name: "Reports".into(),
        client_type: "confidential".into(),
        redirect_uris: vec!["https://reports.example/cb".into()],
        grant_types: vec!["authorization_code".into()],
        scopes: vec!["read".into()],
        implicit_allowed: false,
        introspect: false,
        verify_keys: false,
        service_account_id: None,
        id_token_signed_response_alg: "RS256".into(),
        access_token_format: "opaque".into(),
        resources: vec![],
        post_logout_redirect_uris: vec![],
        previous_secret_expires_at: None,
        created_at: "2026-01-01T00:00:00Z".into(),
        updated_at: "2026-01-01T00:00:00Z".into(),
    }
}

#[test]
fn a_created_api_key_hides_its_secret() {
    let created = CreatedApiKey {
        api_key: key_view(),
        secret: KEY_SECRET.into(),
    };
    let debug = format!("{created:?}");
    assert_hidden(&debug, KEY_SECRET);
    assert!(debug.contains("laptop"), "the rest is shown: {debug}");
    assert_hidden(&format!("{created:#?}"), KEY_SECRET);
}

#[test]
fn created_and_rotated_client_secrets_are_hidden() {
    let created = CreatedApplication {
        application: application_view(),
        client_secret: Some(CLIENT_SECRET.into()),
    };
    assert_hidden(&format!("{created:?}"), CLIENT_SECRET);
    let public = CreatedApplication {
        application: application_view(),
        client_secret: None,
    };
    assert!(format!("{public:?}").contains("client_secret: None"));
    let rotated = RotatedSecret {
        application: application_view(),
        client_secret: CLIENT_SECRET.into(),
    };
    let debug = format!("{rotated:?}");
    assert_hidden(&debug, CLIENT_SECRET);
    assert!(debug.contains("app_x"), "{debug}");
}

#[test]
fn a_new_users_password_is_hidden() {
    let request = CreateUserRequest {
        email: "ada@acme.test".into(),
        name: "Ada".into(),
        role: "member".into(),
        password: Some(PASSWORD.into()),
    };
    let debug = format!("{request:?}");
    assert!(!debug.contains(PASSWORD), "{debug}");
    assert!(!debug.contains("horse"), "{debug}");
    assert!(
        debug.contains("<redacted>") && debug.contains("ada@acme.test"),
        "{debug}"
    );
}

#[test]
fn token_responses_hide_every_token() {
    const ID_TOKEN: &str = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJl";
    let response = TokenResponse {
        access_token: ACCESS_TOKEN.into(),
        token_type: "Bearer".into(),
        expires_in: 3600,
        scope: "openid read".into(),
        refresh_token: Some(REFRESH_TOKEN.into()),
        account: "acme".into(),
        id_token: Some(ID_TOKEN.into()),
    };
    let debug = format!("{response:?}");
    assert_hidden(&debug, ACCESS_TOKEN);
    assert_hidden(&debug, REFRESH_TOKEN);
    assert_hidden(&debug, ID_TOKEN);
}

#[test]
fn a_token_response_without_an_id_token_leaves_the_member_out() {
    let response = TokenResponse {
        access_token: ACCESS_TOKEN.into(),
        token_type: "Bearer".into(),
        expires_in: 3600,
        scope: "read".into(),
        refresh_token: None,
        account: "acme".into(),
        id_token: None,
    };
    let json = serde_json::to_value(&response).expect("serialises");
    assert!(json.get("id_token").is_none(), "{json}");
}

#[test]
fn a_key_sent_to_the_verify_api_is_hidden() {
    let request = gatekey_proto::key_usage::VerifyKeyRequest {
        key: KEY_SECRET.to_owned(),
    };
    assert_hidden(&format!("{request:?}"), KEY_SECRET);
}
