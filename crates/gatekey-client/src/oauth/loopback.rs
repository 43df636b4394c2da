//! The authorization code flow with PKCE for a program on the user's machine (RFC 8252): the
//! browser is sent to the authorization endpoint, and the server redirects it back to a
//! listener on the loopback interface, on a port chosen when the flow starts (§7.3).

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::Duration;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use oauth2::{CsrfToken, PkceCodeChallenge, RedirectUrl};
use rand::RngCore;
use secrecy::SecretString;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use url::Url;

use crate::interaction::Interaction;
use crate::oauth::OAuthClient;
use crate::tokens::TokenSet;
use crate::ClientError;

/// The redirect URI when the connection names none; register it (any port matches).
pub(crate) const DEFAULT_REDIRECT_URI: &str = "http://127.0.0.1/callback";

/// How long the user has to sign in.
const LOGIN_TIMEOUT: Duration = Duration::from_secs(300);

/// The most a redirect request may send before its blank line.
const MAX_REQUEST_HEAD: usize = 16 * 1024;

/// Runs the flow: listen, show the authorization URL, wait for the redirect, check `state`
/// and `iss` (RFC 9207), and exchange the code with its verifier.
pub(crate) async fn browser_login(
    oauth: &OAuthClient,
    redirect_uri: Option<&str>,
    open_browser: bool,
    interaction: &dyn Interaction,
) -> Result<TokenSet, ClientError> {
    let mut redirect = Url::parse(redirect_uri.unwrap_or(DEFAULT_REDIRECT_URI))
        .map_err(|_| ClientError::Login("RedirectURI is not a URL".into()))?;
    let ip: IpAddr = match redirect.host_str() {
        Some("127.0.0.1") => Ipv4Addr::LOCALHOST.into(),
        Some("[::1]") => std::net::Ipv6Addr::LOCALHOST.into(),
        _ => {
            return Err(ClientError::Login(
                "RedirectURI must be http://127.0.0.1/… or http://[::1]/…".into(),
            ))
        }
    };
    let listener = TcpListener::bind(SocketAddr::new(ip, redirect.port().unwrap_or(0)))
        .await
        .map_err(|e| ClientError::Login(format!("cannot listen on the loopback interface: {e}")))?;
    let port = listener
        .local_addr()
        .map_err(|e| ClientError::Login(e.to_string()))?
        .port();
    redirect
        .set_port(Some(port))
        .map_err(|_| ClientError::Login("RedirectURI cannot take a port".into()))?;
    let redirect_uri = redirect.to_string();

    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let nonce = oauth.wants_openid().then(new_nonce);
    let mut request = oauth
        .inner
        .authorize_url(CsrfToken::new_random)
        .map_err(|_| ClientError::Metadata("the server has no authorization_endpoint".into()))?
        .set_redirect_uri(std::borrow::Cow::Owned(
            RedirectUrl::new(redirect_uri.clone())
                .map_err(|_| ClientError::Login("RedirectURI is not a URL".into()))?,
        ))
        .add_scopes(oauth.scopes())
        .set_pkce_challenge(challenge);
    if let Some(nonce) = &nonce {
        request = request.add_extra_param("nonce", nonce.clone());
    }
    let (url, state) = request.url();
    interaction.authorize_in_browser(url.as_str(), open_browser);

    let answer = tokio::time::timeout(LOGIN_TIMEOUT, wait_for_redirect(&listener, redirect.path()))
        .await
        .map_err(|_| ClientError::Login("nobody signed in within five minutes".into()))??;
    interaction.finished();
    check_state(&answer, state.secret())?;
    check_issuer(
        &answer,
        &oauth.metadata.issuer,
        oauth
            .metadata
            .authorization_response_iss_parameter_supported,
    )?;
    if let Some(error) = answer.get("error") {
        let description = answer.get("error_description").cloned().unwrap_or_default();
        return Err(ClientError::Login(format!(
            "the server answered {error}: {description}"
        )));
    }
    let code = answer
        .get("code")
        .ok_or_else(|| ClientError::Login("the redirect carried no code".into()))?;
    let verifier = SecretString::from(verifier.secret().to_owned());
    oauth
        .exchange_code(
            &SecretString::from(code.clone()),
            &redirect_uri,
            Some(&verifier),
            nonce.as_deref(),
        )
        .await
}

/// A fresh `nonce` for an OpenID Connect authentication request (OpenID Connect Core 1.0
/// §3.1.2.1, §15.5.2): 256 random bits, base64url, bound to this one login so that an ID
/// token replayed from another login is refused.
fn new_nonce() -> String {
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

/// `state` protects against a redirect this client did not ask for (RFC 9700 §4.7).
fn check_state(answer: &HashMap<String, String>, expected: &str) -> Result<(), ClientError> {
    match answer.get("state") {
        Some(state) if state == expected => Ok(()),
        _ => Err(ClientError::Login(
            "the redirect's state does not match this login; it was not answered by the server we asked".into(),
        )),
    }
}

/// `iss` names the server that answered (RFC 9207 §2.4): it must be ours when present, and
/// present when the server says it sends it.
fn check_issuer(
    answer: &HashMap<String, String>,
    issuer: &str,
    required: bool,
) -> Result<(), ClientError> {
    match answer.get("iss") {
        Some(iss) if iss == issuer => Ok(()),
        None if !required => Ok(()),
        _ => Err(ClientError::Login(format!(
            "the redirect did not come from {issuer} (iss mismatch, RFC 9207)"
        ))),
    }
}

/// Accepts connections until one asks for `path`; answers it with a page the user can close
/// and returns its query parameters. Requests for other paths (a browser's favicon) get 404.
async fn wait_for_redirect(
    listener: &TcpListener,
    path: &str,
) -> Result<HashMap<String, String>, ClientError> {
    loop {
        let (mut stream, _) = listener
            .accept()
            .await
            .map_err(|e| ClientError::Login(format!("loopback listener: {e}")))?;
        let Ok(Ok(target)) =
            tokio::time::timeout(Duration::from_secs(10), read_target(&mut stream)).await
        else {
            continue;
        };
        let Ok(url) = Url::parse(&format!("http://127.0.0.1{target}")) else {
            respond(&mut stream, "400 Bad Request", "Bad request.").await;
            continue;
        };
        if url.path() != path {
            respond(&mut stream, "404 Not Found", "Not found.").await;
            continue;
        }
        let params: HashMap<String, String> = url.query_pairs().into_owned().collect();
        let page = if params.contains_key("code") {
            "Signed in. You can close this window and return to the program."
        } else {
            "Sign-in did not complete. You can close this window; the program says why."
        };
        respond(&mut stream, "200 OK", page).await;
        return Ok(params);
    }
}

/// Reads a request head and returns its target (`/callback?code=…`).
async fn read_target(stream: &mut TcpStream) -> std::io::Result<String> {
    let mut head = Vec::with_capacity(1024);
    let mut buffer = [0u8; 1024];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
        let read = stream.read(&mut buffer).await?;
        if read == 0 || head.len() + read > MAX_REQUEST_HEAD {
            return Err(std::io::ErrorKind::InvalidData.into());
        }
        head.extend_from_slice(&buffer[..read]);
    }
    let text = String::from_utf8_lossy(&head);
    let mut request_line = text.lines().next().unwrap_or("").split(' ');
    match (request_line.next(), request_line.next()) {
        (Some("GET"), Some(target)) if target.starts_with('/') => Ok(target.to_owned()),
        _ => Err(std::io::ErrorKind::InvalidData.into()),
    }
}

async fn respond(stream: &mut TcpStream, status: &str, text: &str) {
    let body = format!("<!doctype html><meta charset=utf-8><title>gatekey</title><p>{text}</p>");
    let response = format!(
        "HTTP/1.1 {status}\r\nContent-Type: text/html; charset=utf-8\r\nContent-Length: {}\r\n\
         Cache-Control: no-store\r\nReferrer-Policy: no-referrer\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    let _ = stream.write_all(response.as_bytes()).await;
    let _ = stream.shutdown().await;
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answer(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn a_wrong_or_missing_state_is_refused() {
        assert!(check_state(&answer(&[("state", "abc")]), "abc").is_ok());
        assert!(check_state(&answer(&[("state", "abd")]), "abc").is_err());
        assert!(check_state(&answer(&[]), "abc").is_err());
    }

    #[test]
    fn iss_must_name_our_server_and_be_present_when_promised() {
        let ours = "http://127.0.0.1:8080";
        assert!(check_issuer(&answer(&[("iss", ours)]), ours, true).is_ok());
        assert!(check_issuer(&answer(&[("iss", "https://evil.example")]), ours, false).is_err());
        assert!(check_issuer(&answer(&[]), ours, true).is_err());
        assert!(check_issuer(&answer(&[]), ours, false).is_ok());
    }

    #[test]
    fn every_nonce_is_fresh_and_long_enough() {
        let (a, b) = (new_nonce(), new_nonce());
        assert_ne!(a, b);
        assert_eq!(URL_SAFE_NO_PAD.decode(&a).unwrap().len(), 32);
    }

    #[tokio::test]
    async fn the_listener_ignores_other_paths_and_returns_the_redirect() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let waiting = tokio::spawn(async move { wait_for_redirect(&listener, "/callback").await });
        let http = reqwest::Client::new();
        let favicon = http
            .get(format!("{base}/favicon.ico"))
            .send()
            .await
            .unwrap();
        assert_eq!(favicon.status(), 404);
        let page = http
            .get(format!("{base}/callback?code=abc&state=xyz"))
            .send()
            .await
            .unwrap();
        assert_eq!(page.status(), 200);
        let params = waiting.await.unwrap().unwrap();
        assert_eq!(params.get("code").map(String::as_str), Some("abc"));
        assert_eq!(params.get("state").map(String::as_str), Some("xyz"));
    }
}
