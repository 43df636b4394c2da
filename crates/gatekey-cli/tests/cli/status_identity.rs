//! `gatekey status` with an OpenID Connect login: the identity of the ID token is shown, in
//! text and in `--json`, and the ID token itself never is. A stand-in authorization server on
//! the loopback interface issues the ID token the test signs, since the server does not issue
//! them yet.

use std::time::{SystemTime, UNIX_EPOCH};

use axum::routing::{get, post};
use axum::{Json, Router};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use ed25519_dalek::Signer;
use serde_json::{json, Value};

use crate::process::gatekey;

/// Serves metadata, a JWKS, a token endpoint answering with `id_token`, and `/api/v1/me`.
async fn stand_in_server() -> (String, String) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let key = ed25519_dalek::SigningKey::generate(&mut rand::rngs::OsRng);
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let claims = json!({
        "iss": base, "sub": "42", "aud": "app_1", "iat": now, "exp": now + 300,
        "email": "ada@acme.test", "name": "Ada", "gatekey:account": "acme",
    });
    let input = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(json!({"alg": "EdDSA", "kid": "k1"}).to_string()),
        URL_SAFE_NO_PAD.encode(claims.to_string())
    );
    let id_token = format!(
        "{input}.{}",
        URL_SAFE_NO_PAD.encode(key.sign(input.as_bytes()).to_bytes())
    );
    let metadata = json!({
        "issuer": base,
        "token_endpoint": format!("{base}/oauth/token"),
        "jwks_uri": format!("{base}/oauth/jwks"),
    });
    let jwks = json!({"keys": [{
        "kty": "OKP", "crv": "Ed25519", "kid": "k1", "alg": "EdDSA", "use": "sig",
        "x": URL_SAFE_NO_PAD.encode(key.verifying_key().as_bytes()),
    }]});
    let token = json!({
        "access_token": "gk_at_1", "token_type": "Bearer", "expires_in": 3600,
        "scope": "openid email read", "account": "acme", "id_token": id_token,
    });
    let me = json!({
        "user": {"id": 42, "email": "ada@acme.test", "name": "Ada", "kind": "person",
                 "disabled": false, "created_at": "2026-11-28T18:00:00Z"},
        "account": {"id": 1, "slug": "acme", "name": "Acme"},
        "role": "owner",
        "credential": {"type": "oauth_token", "client_id": "app_1"},
        "scopes": ["read"],
    });
    let app = Router::new()
        .route(
            "/.well-known/oauth-authorization-server",
            get(move || async move { Json(metadata) }),
        )
        .route("/oauth/jwks", get(move || async move { Json(jwks) }))
        .route("/oauth/token", post(move || async move { Json(token) }))
        .route("/api/v1/me", get(move || async move { Json(me) }));
    tokio::spawn(async move { axum::serve(listener, app).await });
    (base, id_token)
}

async fn status(connection: String, json: bool) -> std::process::Output {
    tokio::task::spawn_blocking(move || {
        let mut command = gatekey();
        command.args(["status", "--connection", &connection]);
        if json {
            command.arg("--json");
        }
        command.output().expect("gatekey runs")
    })
    .await
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn status_shows_the_signed_in_identity_but_never_the_id_token() {
    let (base, id_token) = stand_in_server().await;
    let connection = format!(
        "Server={base};OAuthCode=gk_ac_1;RedirectURI=http://127.0.0.1/callback;\
         ClientId=app_1;Scope=openid email read"
    );

    let text = status(connection.clone(), false).await;
    let shown = String::from_utf8_lossy(&text.stdout);
    assert!(
        text.status.success(),
        "{}",
        String::from_utf8_lossy(&text.stderr)
    );
    assert!(
        shown.contains(&format!(
            "Identity: ada@acme.test (Ada), subject 42, account acme, issued by {base}"
        )),
        "{shown}"
    );
    assert!(!shown.contains(&id_token), "{shown}");

    let json = status(connection, true).await;
    assert!(
        json.status.success(),
        "{}",
        String::from_utf8_lossy(&json.stderr)
    );
    let printed = String::from_utf8_lossy(&json.stdout);
    assert!(!printed.contains(&id_token), "{printed}");
    let document: Value = serde_json::from_str(&printed).expect("one JSON document");
    assert_eq!(document["identity"]["sub"], "42");
    assert_eq!(document["identity"]["email"], "ada@acme.test");
    assert_eq!(document["identity"]["iss"], base.as_str());
    assert_eq!(document["user"]["id"], "ada@acme.test");
    assert_eq!(document["scopes"], json!(["read"]));
    assert!(document["token_expires_at"].is_string(), "{document}");
}
