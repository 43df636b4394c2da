//! Load client for the code + PKCE flow with a live session: each iteration asks
//! `/oauth/authorize` (consent already remembered for this confidential client, so the answer
//! is the redirect with a code) and exchanges the code at `/oauth/token`. See bench/flows.sh.
//!
//! Usage: code_flow_bench BASE_URL SESSION_COOKIE CLIENT_ID CLIENT_SECRET SECONDS CONCURRENCY

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use sha2::{Digest, Sha256};

const REDIRECT: &str = "http://127.0.0.1/cb";

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let [_, base, cookie, client_id, secret, seconds, concurrency] = args.as_slice() else {
        return Err("usage: code_flow_bench BASE_URL SESSION_COOKIE CLIENT_ID CLIENT_SECRET SECONDS CONCURRENCY".into());
    };
    let deadline = Instant::now() + Duration::from_secs(seconds.parse()?);
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()?;
    let done = Arc::new(AtomicU64::new(0));
    let failed = Arc::new(AtomicU64::new(0));
    let mut workers = Vec::new();
    for worker in 0..concurrency.parse::<usize>()? {
        let (http, base, cookie, client_id, secret) = (
            http.clone(),
            base.clone(),
            cookie.clone(),
            client_id.clone(),
            secret.clone(),
        );
        let (done, failed) = (done.clone(), failed.clone());
        workers.push(tokio::spawn(async move {
            let mut n = 0u64;
            while Instant::now() < deadline {
                n += 1;
                let verifier =
                    format!("verifier-{worker:04}-{n:012}-abcdefghijklmnopqrstuvwxyz0123");
                let challenge = URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()));
                let ok = flow(
                    &http, &base, &cookie, &client_id, &secret, &verifier, &challenge,
                )
                .await
                .unwrap_or(false);
                if ok { &done } else { &failed }.fetch_add(1, Ordering::Relaxed);
            }
        }));
    }
    let started = Instant::now();
    for worker in workers {
        worker.await?;
    }
    let elapsed = started.elapsed().as_secs_f64();
    let ok = done.load(Ordering::Relaxed);
    println!(
        "{:.0} flows/s ({ok} flows in {elapsed:.1} s, {} failed)",
        ok as f64 / elapsed,
        failed.load(Ordering::Relaxed)
    );
    Ok(())
}

async fn flow(
    http: &reqwest::Client,
    base: &str,
    cookie: &str,
    client_id: &str,
    secret: &str,
    verifier: &str,
    challenge: &str,
) -> Result<bool, reqwest::Error> {
    let authorize = http
        .get(format!("{base}/oauth/authorize"))
        .query(&[
            ("client_id", client_id),
            ("response_type", "code"),
            ("redirect_uri", REDIRECT),
            ("scope", "read"),
            ("state", "bench"),
            ("code_challenge", challenge),
            ("code_challenge_method", "S256"),
        ])
        .header(reqwest::header::COOKIE, cookie)
        .send()
        .await?;
    let Some(location) = authorize
        .headers()
        .get(reqwest::header::LOCATION)
        .and_then(|l| l.to_str().ok())
    else {
        return Ok(false);
    };
    let Some(code) = url::Url::parse(location).ok().and_then(|u| {
        u.query_pairs()
            .find(|(k, _)| k == "code")
            .map(|(_, v)| v.into_owned())
    }) else {
        return Ok(false);
    };
    let token = http
        .post(format!("{base}/oauth/token"))
        .basic_auth(client_id, Some(secret))
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", code.as_str()),
            ("redirect_uri", REDIRECT),
            ("code_verifier", verifier),
        ])
        .send()
        .await?;
    Ok(token.status().is_success())
}
