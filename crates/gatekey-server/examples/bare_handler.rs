//! The baseline of the `/api/v1/me` benchmark: a bare axum handler returning a body of the same
//! shape and size, with no authentication, metrics or rate limit. See bench/me.sh.

use axum::routing::get;
use axum::{Json, Router};

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:18081".into());
    let body: serde_json::Value = serde_json::json!({
        "user": {"id": 1, "email": "owner@example.com", "name": "Owner", "kind": "person", "disabled": false,
                 "created_at": "2026-11-28T12:25:12Z"},
        "account": {"id": 1, "slug": "default", "name": "Default"},
        "role": "owner",
        "credential": {"type": "api_key", "id": 1},
        "scopes": ["read", "write", "admin"]
    });
    let app = Router::new().route(
        "/api/v1/me",
        get(move || std::future::ready(Json(body.clone()))),
    );
    let listener = tokio::net::TcpListener::bind(&addr).await?;
    axum::serve(listener, app).await
}
