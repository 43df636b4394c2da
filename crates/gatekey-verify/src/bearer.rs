//! Taking the credential from a request: the `Authorization: Bearer` header only (RFC 6750
//! §2.1), never a query string, whose URLs end up in logs.

use axum::http::{header, HeaderMap};

use crate::VerifyError;

/// The Bearer credential of `headers`.
///
/// No `Authorization` header, or one of another scheme, is [`VerifyError::Missing`]
/// (RFC 6750 §3.1: a request without Bearer credentials gets a challenge without an error
/// code). Several `Authorization` headers, or a Bearer header that is not one token68, is
/// [`VerifyError::MalformedRequest`].
pub fn bearer_credential(headers: &HeaderMap) -> Result<&str, VerifyError> {
    let mut values = headers.get_all(header::AUTHORIZATION).iter();
    let Some(value) = values.next() else {
        return Err(VerifyError::Missing);
    };
    if values.next().is_some() {
        return Err(VerifyError::MalformedRequest(
            "more than one Authorization header",
        ));
    }
    let value = value
        .to_str()
        .map_err(|_| VerifyError::MalformedRequest("the Authorization header is not ASCII"))?;
    let Some((scheme, credential)) = value.split_once(' ') else {
        return Err(if value.eq_ignore_ascii_case("bearer") {
            VerifyError::MalformedRequest("the Bearer credential is empty")
        } else {
            VerifyError::Missing
        });
    };
    if !scheme.eq_ignore_ascii_case("bearer") {
        return Err(VerifyError::Missing);
    }
    let credential = credential.trim_start_matches(' ');
    if credential.is_empty() || credential.contains([' ', '\t']) {
        return Err(VerifyError::MalformedRequest(
            "the Bearer credential is not one token",
        ));
    }
    Ok(credential)
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn headers(values: &[&str]) -> HeaderMap {
        let mut headers = HeaderMap::new();
        for value in values {
            headers.append(header::AUTHORIZATION, HeaderValue::from_str(value).unwrap());
        }
        headers
    }

    #[test]
    fn the_bearer_credential_is_taken_from_one_header() {
        assert_eq!(
            bearer_credential(&headers(&["Bearer gk_key_a"])),
            Ok("gk_key_a")
        );
        assert_eq!(
            bearer_credential(&headers(&["bearer  gk_at_b"])),
            Ok("gk_at_b")
        );
        assert_eq!(bearer_credential(&headers(&[])), Err(VerifyError::Missing));
        assert_eq!(
            bearer_credential(&headers(&["Basic YTpi"])),
            Err(VerifyError::Missing)
        );
        for bad in [&["Bearer"][..], &["Bearer a b"], &["Bearer a", "Bearer b"]] {
            assert!(matches!(
                bearer_credential(&headers(bad)),
                Err(VerifyError::MalformedRequest(_))
            ));
        }
    }
}
