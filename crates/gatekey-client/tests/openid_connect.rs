//! OpenID Connect through the public API: a stand-in authorization server on the loopback
//! interface answers the code and refresh grants with ID tokens the test signs, and the client
//! must keep the identity they name, or refuse them.

use std::sync::{Arc, Mutex};
use std::time::{SystemTime, UNIX_EPOCH};

use axum::routing::{get, post};
use axum::{Json, Router};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use ed25519_dalek::Signer;
use gatekey_client::{ApiClient, ClientError, ConnectionOptions, IdTokenError};
use serde_json::{json, Value};

const CLIENT_ID: &str = "app_1";

/// The stand-in server: its metadata, its JWKS, and a token endpoint that answers with the
/// ID token the test sets (or none).
struct Server {
    base: String,
    key: ed25519_dalek::SigningKey,
    id_token: Arc<Mutex<Option<String>>>,
}

impl Server {
    async fn start() -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let key = ed25519_dalek::SigningKey::generate(&mut rand::rngs::OsRng);
        let id_token: Arc<Mutex<Option<String>>> = Arc::default();
        let metadata = json!({
            "issuer": base,
            "token_endpoint": format!("{base}/oauth/token"),
            "revocation_endpoint": format!("{base}/oauth/revoke"),
            "jwks_uri": format!("{base}/oauth/jwks"),
        });
        let jwks = json!({"keys": [{
            "kty": "OKP", "crv": "Ed25519", "kid": "k1", "alg": "EdDSA", "use": "sig",
            "x": URL_SAFE_NO_PAD.encode(key.verifying_key().as_bytes()),
        }]});
        let app = Router::new()
            .route(
                "/.well-known/oauth-authorization-server",
                get(move || async move { Json(metadata) }),
            )
            .route("/oauth/jwks", get(move || async move { Json(jwks) }))
            .route(
                "/oauth/token",
                post({
                    let id_token = id_token.clone();
                    move || async move {
                        let mut body = json!({
                            "access_token": "gk_at_1",
                            "token_type": "Bearer",
                            "expires_in": 3600,
                            "scope": "openid email read",
                            "refresh_token": "gk_rt_1",
                            "account": "acme",
                        });
                        if let Some(token) = id_token.lock().unwrap().clone() {
                            body["id_token"] = token.into();
                        }
                        Json(body)
                    }
                }),
            );
        tokio::spawn(async move { axum::serve(listener, app).await });
        Self {
            base,
            key,
            id_token,
        }
    }

    /// An ID token for `sub` to this client, valid for five minutes, with `changes` applied.
    fn sign(&self, sub: &str, changes: Value) -> String {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_secs();
        let mut claims = json!({
            "iss": self.base, "sub": sub, "aud": CLIENT_ID, "iat": now, "exp": now + 300,
            "email": "ada@acme.test", "name": "Ada", "gatekey:account": "acme",
        });
        for (name, value) in changes.as_object().unwrap() {
            claims[name] = value.clone();
        }
        let header = json!({"alg": "EdDSA", "kid": "k1", "typ": "JWT"});
        let input = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(header.to_string()),
            URL_SAFE_NO_PAD.encode(claims.to_string())
        );
        let signature = self.key.sign(input.as_bytes()).to_bytes();
        format!("{input}.{}", URL_SAFE_NO_PAD.encode(signature))
    }

    fn answer_with(&self, id_token: Option<String>) {
        *self.id_token.lock().unwrap() = id_token;
    }

    fn client(&self, cache: &std::path::Path) -> ApiClient {
        let options: ConnectionOptions = format!(
            "Server={};OAuthCode=gk_ac_1;RedirectURI=http://127.0.0.1/callback;ClientId={CLIENT_ID};\
             Scope=openid email read;TokenCache={}",
            self.base,
            cache.display()
        )
        .parse()
        .unwrap();
        ApiClient::new(options).unwrap()
    }
}

#[tokio::test]
async fn the_identity_of_a_valid_id_token_is_kept_and_survives_a_restart() {
    let server = Server::start().await;
    let dir = tempfile::tempdir().unwrap();
    let cache = dir.path().join("tokens.json");
    let id_token = server.sign("42", json!({}));
    server.answer_with(Some(id_token.clone()));

    let client = server.client(&cache);
    let tokens = client.login().await.expect("the code is exchanged");
    let identity = tokens.identity().expect("an identity").clone();
    assert_eq!(identity.subject, "42");
    assert_eq!(identity.issuer, server.base);
    assert_eq!(identity.email.as_deref(), Some("ada@acme.test"));
    assert_eq!(identity.account.as_deref(), Some("acme"));
    assert_eq!(client.identity(), Some(identity.clone()));
    assert!(!format!("{tokens:?}").contains(&id_token), "Debug hides it");

    let saved: Value = serde_json::from_str(&std::fs::read_to_string(&cache).unwrap()).unwrap();
    assert_eq!(saved["identity"]["sub"], "42");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&cache).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
    }

    let restarted = server.client(&cache);
    restarted.access_token().await.expect("the cached token");
    assert_eq!(restarted.identity(), Some(identity));
}

#[tokio::test]
async fn a_refresh_keeps_the_user_and_refuses_another() {
    let server = Server::start().await;
    let dir = tempfile::tempdir().unwrap();
    let client = server.client(&dir.path().join("tokens.json"));
    server.answer_with(Some(server.sign("42", json!({}))));
    client.login().await.expect("signed in");

    // A refresh without an ID token keeps the identity.
    server.answer_with(None);
    let renewed = client.login().await.expect("refreshed");
    assert_eq!(renewed.identity().map(|i| i.subject.as_str()), Some("42"));

    // One that names another user is refused (OpenID Connect Core §12.2).
    server.answer_with(Some(server.sign("43", json!({}))));
    let error = client.login().await.unwrap_err();
    assert!(
        matches!(error, ClientError::IdToken(IdTokenError::SubjectChanged)),
        "{error}"
    );
    assert_eq!(client.identity().map(|i| i.subject), Some("42".into()));
}

#[tokio::test]
async fn an_invalid_or_missing_id_token_stops_the_login() {
    let server = Server::start().await;
    let dir = tempfile::tempdir().unwrap();
    let cache = dir.path().join("tokens.json");
    let cases = [
        (Some(server.sign("42", json!({"aud": "app_2"}))), "aud"),
        (
            Some(server.sign("42", json!({"iss": "https://evil.example"}))),
            "iss",
        ),
        (Some("not.a.token".to_owned()), "malformed"),
        (None, "missing"),
    ];
    for (id_token, what) in cases {
        server.answer_with(id_token);
        let error = server.client(&cache).login().await.unwrap_err();
        let refused = matches!(
            (&error, what),
            (ClientError::IdToken(IdTokenError::Audience { .. }), "aud")
                | (ClientError::IdToken(IdTokenError::Issuer { .. }), "iss")
                | (
                    ClientError::IdToken(IdTokenError::Malformed(_)),
                    "malformed"
                )
                | (ClientError::IdToken(IdTokenError::Missing), "missing")
        );
        assert!(refused, "{what}: {error}");
        assert!(error.to_string().starts_with("ID token refused"), "{error}");
        assert!(!cache.exists(), "{what}: refused tokens are not saved");
    }
}
