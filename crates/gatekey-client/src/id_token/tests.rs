//! The verifier against a JWKS served on the loopback interface, with tokens signed here:
//! each algorithm, and each way a token can be wrong.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::routing::get;
use axum::{Json, Router};
use gatekey_core::oauth::signing_key_schedule::SigningAlgorithm;
use serde_json::{json, Value};

use super::test_signer::TestKey;
use super::{IdTokenError, IdTokenVerifier};

const ISSUER: &str = "https://id.example";
const CLIENT_ID: &str = "app_1";
const NONCE: &str = "n-0S6_WzA2Mj";

/// A JWKS endpoint whose keys the test changes, counting how often it is fetched.
struct JwksServer {
    url: String,
    keys: Arc<Mutex<Vec<Value>>>,
    fetches: Arc<AtomicUsize>,
}

impl JwksServer {
    async fn start(keys: Vec<Value>) -> Self {
        let keys = Arc::new(Mutex::new(keys));
        let fetches = Arc::new(AtomicUsize::new(0));
        let app = Router::new().route(
            "/oauth/jwks",
            get({
                let (keys, fetches) = (keys.clone(), fetches.clone());
                move || async move {
                    fetches.fetch_add(1, Ordering::SeqCst);
                    let keys = keys.lock().unwrap().clone();
                    Json(json!({ "keys": keys }))
                }
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/oauth/jwks", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await });
        Self { url, keys, fetches }
    }

    fn verifier(&self) -> IdTokenVerifier {
        IdTokenVerifier::new(
            reqwest::Client::new(),
            Some(self.url.clone()),
            ISSUER,
            CLIENT_ID,
        )
    }

    fn fetches(&self) -> usize {
        self.fetches.load(Ordering::SeqCst)
    }
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

fn claims() -> Value {
    json!({
        "iss": ISSUER,
        "sub": "42",
        "aud": CLIENT_ID,
        "exp": now() + 300,
        "iat": now(),
        "auth_time": now() - 10,
        "nonce": NONCE,
        "email": "ada@acme.test",
        "email_verified": true,
        "name": "Ada Lovelace",
        "gatekey:account": "acme",
    })
}

fn with(mut claims: Value, name: &str, value: Value) -> Value {
    claims[name] = value;
    claims
}

async fn verify(server: &JwksServer, token: &str) -> Result<crate::Identity, IdTokenError> {
    server
        .verifier()
        .verify(token, Some(NONCE), SystemTime::now())
        .await
}

#[tokio::test]
async fn a_good_token_of_each_algorithm_gives_the_identity() {
    for algorithm in SigningAlgorithm::ALL {
        let key = TestKey::generate(algorithm);
        let server = JwksServer::start(vec![key.jwk.clone()]).await;
        let identity = verify(&server, &key.sign(&claims()))
            .await
            .unwrap_or_else(|e| panic!("{}: {e}", key.alg()));
        assert_eq!(identity.subject, "42");
        assert_eq!(identity.issuer, ISSUER);
        assert_eq!(identity.email.as_deref(), Some("ada@acme.test"));
        assert_eq!(identity.email_verified, Some(true));
        assert_eq!(identity.name.as_deref(), Some("Ada Lovelace"));
        assert_eq!(identity.account.as_deref(), Some("acme"));
        assert!(identity.auth_time.is_some());
    }
}

#[tokio::test]
async fn an_unsigned_or_hmac_token_is_refused_before_any_key_is_fetched() {
    let key = TestKey::generate(SigningAlgorithm::EdDsa);
    let server = JwksServer::start(vec![key.jwk.clone()]).await;
    let signed = key.sign(&claims());
    let mut parts = signed.split('.');
    let payload = parts.nth(1).unwrap();
    let none_header = base64_json(&json!({"alg": "none", "kid": key.kid}));
    for token in [
        format!("{none_header}.{payload}."),
        format!("{none_header}.{payload}"),
    ] {
        let error = verify(&server, &token).await.unwrap_err();
        assert!(
            matches!(error, IdTokenError::Algorithm(ref alg) if alg == "none")
                || matches!(error, IdTokenError::Malformed(_)),
            "{error}"
        );
    }
    let hmac = key.sign_with_header(&json!({"alg": "HS256", "kid": key.kid}), &claims());
    assert_eq!(
        verify(&server, &hmac).await.unwrap_err(),
        IdTokenError::Algorithm("HS256".into())
    );
    assert_eq!(server.fetches(), 0);
}

#[tokio::test]
async fn a_wrong_signature_is_refused() {
    let published = TestKey::generate(SigningAlgorithm::Es256);
    let other = TestKey::generate(SigningAlgorithm::Es256);
    let server = JwksServer::start(vec![published.jwk.clone()]).await;
    let forged = other.sign_with_header(&json!({"alg": "ES256", "kid": published.kid}), &claims());
    assert_eq!(
        verify(&server, &forged).await.unwrap_err(),
        IdTokenError::Signature
    );
    // The claims changed after signing: the same.
    let genuine = published.sign(&claims());
    let parts: Vec<&str> = genuine.split('.').collect();
    let altered = base64_json(&with(claims(), "sub", json!("1")));
    let tampered = format!("{}.{altered}.{}", parts[0], parts[2]);
    assert_eq!(
        verify(&server, &tampered).await.unwrap_err(),
        IdTokenError::Signature
    );
    // A key of another algorithm under the header's kid cannot verify it either.
    let ed = TestKey::generate(SigningAlgorithm::EdDsa);
    let mixed = ed.sign_with_header(&json!({"alg": "EdDSA", "kid": published.kid}), &claims());
    assert!(matches!(
        verify(&server, &mixed).await.unwrap_err(),
        IdTokenError::UnknownKey { .. }
    ));
}

#[tokio::test]
async fn wrong_claims_are_refused_naming_the_check() {
    let key = TestKey::generate(SigningAlgorithm::EdDsa);
    let server = JwksServer::start(vec![key.jwk.clone()]).await;
    let cases = [
        (with(claims(), "iss", json!("https://evil.example")), "iss"),
        (with(claims(), "aud", json!("app_2")), "aud"),
        (with(claims(), "aud", json!(["app_1", "api"])), "azp"),
        (with(claims(), "exp", json!(now() - 3600)), "exp"),
        (with(claims(), "nonce", json!("replayed")), "nonce"),
        (with(claims(), "iat", Value::Null), "iat"),
    ];
    let verifier = server.verifier();
    for (claims, what) in cases {
        let error = verifier
            .verify(&key.sign(&claims), Some(NONCE), SystemTime::now())
            .await
            .unwrap_err();
        let expected = match what {
            "iss" => matches!(error, IdTokenError::Issuer { .. }),
            "aud" => matches!(error, IdTokenError::Audience { .. }),
            "azp" => matches!(error, IdTokenError::AuthorizedParty { .. }),
            "exp" => error == IdTokenError::Expired,
            "nonce" => error == IdTokenError::Nonce,
            _ => error == IdTokenError::IssuedAt,
        };
        assert!(expected, "{what}: {error}");
    }
    assert_eq!(server.fetches(), 1, "the key set is fetched once and kept");
}

#[tokio::test]
async fn without_a_nonce_sent_none_is_required() {
    let key = TestKey::generate(SigningAlgorithm::Rs256);
    let server = JwksServer::start(vec![key.jwk.clone()]).await;
    let mut renewed = claims();
    renewed.as_object_mut().unwrap().remove("nonce");
    let identity = server
        .verifier()
        .verify(&key.sign(&renewed), None, SystemTime::now())
        .await
        .expect("a refreshed ID token has no nonce");
    assert_eq!(identity.subject, "42");
}

#[tokio::test]
async fn an_unknown_kid_fetches_the_keys_once_more() {
    let old = TestKey::generate(SigningAlgorithm::EdDsa);
    let server = JwksServer::start(vec![old.jwk.clone()]).await;
    let verifier = server.verifier();
    verifier
        .verify(&old.sign(&claims()), Some(NONCE), SystemTime::now())
        .await
        .expect("the first key");
    assert_eq!(server.fetches(), 1);

    // The server rotates: a new key is published and signs.
    let new = TestKey::generate(SigningAlgorithm::EdDsa);
    server.keys.lock().unwrap().push(new.jwk.clone());
    verifier
        .verify(&new.sign(&claims()), Some(NONCE), SystemTime::now())
        .await
        .expect("found after fetching again");
    assert_eq!(server.fetches(), 2);
    verifier
        .verify(&new.sign(&claims()), Some(NONCE), SystemTime::now())
        .await
        .expect("kept");
    assert_eq!(server.fetches(), 2, "a known kid fetches nothing");

    // A key the server never published: one more fetch, then a clear error.
    let stranger = TestKey::generate(SigningAlgorithm::EdDsa);
    let error = verifier
        .verify(&stranger.sign(&claims()), Some(NONCE), SystemTime::now())
        .await
        .unwrap_err();
    assert_eq!(
        error,
        IdTokenError::UnknownKey {
            kid: Some(stranger.kid.clone()),
            alg: "EdDSA".into()
        }
    );
    assert_eq!(server.fetches(), 3);
}

#[tokio::test]
async fn keys_that_cannot_be_fetched_are_a_clear_error() {
    let key = TestKey::generate(SigningAlgorithm::EdDsa);
    let none = IdTokenVerifier::new(reqwest::Client::new(), None, ISSUER, CLIENT_ID);
    let error = none
        .verify(&key.sign(&claims()), Some(NONCE), SystemTime::now())
        .await
        .unwrap_err();
    assert!(
        matches!(error, IdTokenError::Keys(ref why) if why.contains("jwks_uri")),
        "{error}"
    );
    let server = JwksServer::start(vec![]).await;
    let missing = IdTokenVerifier::new(
        reqwest::Client::new(),
        Some(server.url.replace("/oauth/jwks", "/nothing")),
        ISSUER,
        CLIENT_ID,
    );
    let error = missing
        .verify(&key.sign(&claims()), Some(NONCE), SystemTime::now())
        .await
        .unwrap_err();
    assert!(
        matches!(error, IdTokenError::Keys(ref why) if why.contains("404")),
        "{error}"
    );
}

#[tokio::test]
async fn the_clock_decides_expiry() {
    let key = TestKey::generate(SigningAlgorithm::EdDsa);
    let server = JwksServer::start(vec![key.jwk.clone()]).await;
    let token = key.sign(&claims());
    let later = SystemTime::now() + Duration::from_secs(300 + 61);
    assert_eq!(
        server
            .verifier()
            .verify(&token, Some(NONCE), later)
            .await
            .unwrap_err(),
        IdTokenError::Expired
    );
}

fn base64_json(value: &Value) -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(value.to_string())
}
