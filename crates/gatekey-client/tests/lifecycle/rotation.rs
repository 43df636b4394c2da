//! Rotated refresh tokens: the callback and the cache always hold the newest one, and a
//! program restarted from its cache carries on.

use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use gatekey_client::{ApiClient, ClientError, ConnectionOptions, ExposeSecret};

use crate::harness::{call_for, Server};

fn cached_refresh_token(path: &Path) -> Option<String> {
    let file: serde_json::Value = serde_json::from_slice(&std::fs::read(path).ok()?).ok()?;
    file["refresh_token"].as_str().map(str::to_owned)
}

/// Whether the server still takes `refresh_token` (asking spends it, so only for spent ones).
async fn refresh_is_refused(server: &Server, refresh_token: &str) -> bool {
    server.app.refresh(&server.web_app, refresh_token).await.0 == 400
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_callback_and_the_cache_hold_the_newest_refresh_token_across_restarts() {
    let server = Server::start(2).await;
    let app = &server.web_app;
    let first_refresh = server.refresh_token_for(app).await;
    let dir = tempfile::tempdir().unwrap();
    let cache = dir.path().join("tokens.json");
    let options: ConnectionOptions = server
        .connection(
            app,
            &format!(
                "RefreshToken={first_refresh};TokenCache={};RefreshSkew=1",
                cache.display()
            ),
        )
        .parse()
        .unwrap();

    // Each callback records the token it got and what the cache held at that moment.
    let seen = Arc::new(Mutex::new(Vec::<(String, Option<String>)>::new()));
    let client = {
        let (seen, cache) = (seen.clone(), cache.clone());
        ApiClient::builder(options.clone())
            .on_tokens(move |tokens| {
                let token = tokens.refresh_token().unwrap().expose_secret().to_owned();
                seen.lock()
                    .unwrap()
                    .push((token, cached_refresh_token(&cache)));
            })
            .build()
            .unwrap()
    };
    let (calls, failed, first) = call_for(&client, Duration::from_secs(5)).await;
    assert_eq!(failed, 0, "{failed} of {calls} failed: {first:?}");
    let seen = seen.lock().unwrap().clone();
    assert!(seen.len() >= 3, "{} rotations", seen.len());
    for (token, on_disk) in &seen {
        assert_eq!(
            Some(token),
            on_disk.as_ref(),
            "the cache is written before the callback"
        );
    }
    let newest = seen.last().unwrap().0.clone();
    assert_eq!(cached_refresh_token(&cache).as_ref(), Some(&newest));
    assert_eq!(
        client
            .tokens()
            .unwrap()
            .refresh_token()
            .unwrap()
            .expose_secret(),
        newest
    );
    let mut all: Vec<&String> = seen.iter().map(|(t, _)| t).collect();
    all.dedup();
    assert_eq!(
        all.len(),
        seen.len(),
        "every renewal rotated the refresh token"
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&cache).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
    }
    drop(client);

    // Restarted with the same (long spent) connection string: the cache carries on.
    let restarted = ApiClient::new(options.clone()).unwrap();
    let (calls, failed, first) = call_for(&restarted, Duration::from_secs(3)).await;
    assert_eq!(
        failed, 0,
        "{failed} of {calls} failed after a restart: {first:?}"
    );
    let newest_after_restart = cached_refresh_token(&cache).unwrap();
    assert_ne!(newest_after_restart, newest, "it kept rotating");
    drop(restarted);

    // Without the cache the spent token is replayed: the server treats that as theft,
    // revokes the whole family (RFC 9700 §4.14.2), and the client says to start over.
    std::fs::remove_file(&cache).unwrap();
    let error = ApiClient::new(options)
        .unwrap()
        .get::<serde_json::Value>("/api/v1/me")
        .await
        .expect_err("a spent refresh token");
    assert!(matches!(error, ClientError::OAuth { .. }), "{error:?}");
    assert_eq!(error.code(), Some("invalid_grant"));
    assert!(error.to_string().contains("log in again"), "{error}");
    assert!(!error.to_string().contains(&first_refresh));
    assert!(
        refresh_is_refused(&server, &newest_after_restart).await,
        "the family is revoked"
    );
    server.app.stop().await;
}
