//! What a request costs the resource server: a JWT access token seen before (a SHA-256 and a
//! cache lookup) and one seen for the first time (its Ed25519 signature and claims checked).
//! The issuer is a stand-in on 127.0.0.1 serving metadata and a JWKS, so the figures are the
//! verifier's own CPU time, not gatekey's.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::routing::get;
use axum::{Json, Router};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use criterion::{criterion_group, criterion_main, Criterion};
use ed25519_dalek::{Signer, SigningKey};
use gatekey_verify::Verifier;
use serde_json::{json, Value};

const AUDIENCE: &str = "https://notes.example.com";

/// Serves the metadata and JWKS of an issuer whose one key is `key`; returns the issuer URL.
async fn stand_in_issuer(key: &SigningKey) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let issuer = format!("http://{}", listener.local_addr().expect("address"));
    let metadata = json!({
        "issuer": issuer,
        "authorization_endpoint": format!("{issuer}/oauth/authorize"),
        "token_endpoint": format!("{issuer}/oauth/token"),
        "revocation_endpoint": format!("{issuer}/oauth/revoke"),
        "introspection_endpoint": format!("{issuer}/oauth/introspect"),
        "scopes_supported": ["read"],
        "response_types_supported": ["code"],
        "grant_types_supported": ["client_credentials"],
        "code_challenge_methods_supported": ["S256"],
        "token_endpoint_auth_methods_supported": ["client_secret_basic"],
        "revocation_endpoint_auth_methods_supported": ["client_secret_basic"],
        "introspection_endpoint_auth_methods_supported": ["client_secret_basic"],
        "authorization_response_iss_parameter_supported": true,
        "jwks_uri": format!("{issuer}/oauth/jwks"),
    });
    let jwks = json!({"keys": [{
        "kty": "OKP", "crv": "Ed25519", "alg": "EdDSA", "use": "sig", "kid": "bench",
        "x": URL_SAFE_NO_PAD.encode(key.verifying_key().as_bytes()),
    }]});
    let app = Router::new()
        .route(
            "/.well-known/oauth-authorization-server",
            get(move || async move { Json(metadata) }),
        )
        .route("/oauth/jwks", get(move || async move { Json(jwks) }));
    tokio::spawn(async move { axum::serve(listener, app).await });
    issuer
}

/// A JWT access token like gatekey's, signed with `key`.
fn access_token(key: &SigningKey, issuer: &str) -> String {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("time")
        .as_secs();
    let part = |value: Value| URL_SAFE_NO_PAD.encode(value.to_string());
    let signing_input = format!(
        "{}.{}",
        part(json!({"alg": "EdDSA", "kid": "bench", "typ": "at+jwt"})),
        part(json!({
            "iss": issuer, "sub": "42", "aud": AUDIENCE, "exp": now + 600, "iat": now,
            "jti": "Vx3kqf0s2dQ8GqH1cM9Z1w", "client_id": "app_0123456789abcdef",
            "scope": "read write", "gatekey:account": "acme",
        })),
    );
    let signature = key.sign(signing_input.as_bytes());
    format!(
        "{signing_input}.{}",
        URL_SAFE_NO_PAD.encode(signature.to_bytes())
    )
}

fn verify_jwt(c: &mut Criterion) {
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let key = SigningKey::from_bytes(&[7u8; 32]);
    let issuer = runtime.block_on(stand_in_issuer(&key));
    let token = access_token(&key, &issuer);
    let verifier = |jwt_cache_capacity| {
        Verifier::builder(issuer.as_str(), "app_rs", "gk_cs_bench")
            .audience(AUDIENCE)
            .jwt_cache_capacity(jwt_cache_capacity)
            .build()
            .expect("a verifier")
    };

    let cached = verifier(10_000);
    let uncached = verifier(0);
    for verifier in [&cached, &uncached] {
        runtime
            .block_on(verifier.verify(&token))
            .expect("the token verifies");
    }
    let mut group = c.benchmark_group("jwt");
    group.measurement_time(Duration::from_secs(5));
    group.bench_function("cached", |b| {
        b.iter(|| runtime.block_on(cached.verify(std::hint::black_box(&token))))
    });
    group.bench_function("first_time", |b| {
        b.iter(|| runtime.block_on(uncached.verify(std::hint::black_box(&token))))
    });
    group.finish();
}

criterion_group!(benches, verify_jwt);
criterion_main!(benches);
