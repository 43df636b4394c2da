//! The server's parsers of outside input, as plain functions of bytes, so that the fuzz targets
//! (the separate `fuzz/` workspace) run exactly the code the endpoints run on what a client
//! sends before anything about it is trusted. Each function only forwards to the parser its
//! endpoint uses; the server itself does not call them.

use axum::http::{header, HeaderMap, HeaderValue};

pub use crate::oauth::form::OAuthForm;

/// A token, revocation or introspection request body read as those endpoints read it
/// (`application/x-www-form-urlencoded`, each parameter at most once: RFC 6749 §3.2), or the
/// OAuth error code of the refusal.
pub fn token_form(body: &[u8]) -> Result<OAuthForm, &'static str> {
    OAuthForm::parse(body).map_err(|e| e.code())
}

/// The client id and secret in an `Authorization` header value, read as the token endpoint
/// reads `client_secret_basic` (RFC 6749 §2.3.1: Base64 of the form-url-encoded id and secret),
/// or the OAuth error code of the refusal. A value that is not a valid header value (which the
/// HTTP layer refuses before any endpoint runs) is `invalid_request`.
pub fn client_credentials(authorization: &[u8]) -> Result<(String, String), &'static str> {
    let value = HeaderValue::from_bytes(authorization).map_err(|_| "invalid_request")?;
    let mut headers = HeaderMap::new();
    headers.insert(header::AUTHORIZATION, value);
    match crate::oauth::client_auth::basic_credentials(&headers) {
        Ok(Some(credentials)) => Ok(credentials),
        Ok(None) => Err("invalid_client"),
        Err(e) => Err(e.code()),
    }
}

/// The credential in an `Authorization` header value, read as the REST API reads a Bearer
/// token (RFC 6750 §2.1), or the HTTP status of the refusal. A value that is not a valid
/// header value is answered `400`, as the HTTP layer would.
pub fn bearer_credential(authorization: &[u8]) -> Result<String, u16> {
    let value = HeaderValue::from_bytes(authorization).map_err(|_| 400_u16)?;
    crate::auth::caller::bearer_token(&value)
        .map(str::to_owned)
        .map_err(|e| e.status().as_u16())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_parser_answers_as_its_endpoint() {
        let form = token_form(b"grant_type=refresh_token&refresh_token=a%2Bb").expect("form");
        assert_eq!(form.get("refresh_token"), Some("a+b"));
        assert_eq!(token_form(b"code=a&code=b").err(), Some("invalid_request"));
        assert_eq!(
            client_credentials(b"Basic YXBwX3g6cyUyQmNy"),
            Ok(("app_x".into(), "s+cr".into()))
        );
        assert_eq!(
            client_credentials(b"Bearer x").err(),
            Some("invalid_client")
        );
        assert_eq!(
            client_credentials(b"Basic \n").err(),
            Some("invalid_request")
        );
        assert_eq!(bearer_credential(b"Bearer gk_key_x"), Ok("gk_key_x".into()));
        assert_eq!(bearer_credential(b"Bearer a b"), Err(400));
        assert_eq!(bearer_credential(b"Basic abc"), Err(401));
    }
}
