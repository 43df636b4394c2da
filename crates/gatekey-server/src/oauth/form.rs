//! The body of a token, revocation or introspection request: `application/x-www-form-urlencoded`
//! (RFC 6749 §4.1.3, RFC 7009 §2.1, RFC 7662 §2.1), each parameter at most once (RFC 6749 §3.2)
//! except `resource`, which RFC 8707 §2 lets a request repeat, and no secret in the URL
//! (RFC 6749 §2.3.1).

use std::collections::btree_map::Entry;
use std::collections::BTreeMap;

use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use axum::http::{header, HeaderMap, StatusCode};

use super::error::OAuthError;

/// Parameters that carry a secret and so are refused in the query string.
const SECRET_PARAMETERS: &[&str] = &[
    "client_secret",
    "code",
    "code_verifier",
    "refresh_token",
    "token",
    "access_token",
];

/// The parameter that may be repeated: a resource indicator (RFC 8707 §2).
const RESOURCE: &str = "resource";

/// A form body, checked: the right content type, no repeated parameter but `resource`.
/// Parameters are kept in a sorted map: a request has a handful, which a few comparisons find
/// sooner than a hash of the name, and a body of many costs each lookup only its logarithm.
#[derive(Clone, Default)]
pub struct OAuthForm {
    params: BTreeMap<String, String>,
    resources: Vec<String>,
}

impl std::fmt::Debug for OAuthForm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Values are secrets (codes, tokens, client secrets): print only the names.
        f.debug_set()
            .entries(self.params.keys())
            .entries((!self.resources.is_empty()).then_some(RESOURCE))
            .finish()
    }
}

impl OAuthForm {
    /// Parses a form body; a repeated parameter other than `resource` is `invalid_request`.
    pub fn parse(body: &[u8]) -> Result<Self, OAuthError> {
        let mut params = BTreeMap::new();
        let mut resources = Vec::new();
        for (name, value) in url::form_urlencoded::parse(body) {
            if name == RESOURCE {
                resources.push(value.into_owned());
                continue;
            }
            match params.entry(name.into_owned()) {
                Entry::Occupied(repeated) => {
                    return Err(OAuthError::invalid_request(format!(
                        "the parameter {} is repeated",
                        repeated.key()
                    )));
                }
                Entry::Vacant(new) => {
                    new.insert(value.into_owned());
                }
            }
        }
        Ok(Self { params, resources })
    }

    /// Every `resource` value, in the order sent (RFC 8707 §2), empty ones included so that
    /// they are refused rather than ignored.
    pub fn resources(&self) -> &[String] {
        &self.resources
    }

    /// The value of `name`. A parameter sent without a value counts as not sent (RFC 6749 §3.1).
    pub fn get(&self, name: &str) -> Option<&str> {
        self.params
            .get(name)
            .map(String::as_str)
            .filter(|v| !v.is_empty())
    }

    /// The value of a required parameter, or `invalid_request` naming it.
    pub fn require(&self, name: &str) -> Result<&str, OAuthError> {
        self.get(name)
            .ok_or_else(|| OAuthError::invalid_request(format!("the parameter {name} is missing")))
    }
}

fn is_form(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|mime| {
            mime.trim()
                .eq_ignore_ascii_case("application/x-www-form-urlencoded")
        })
}

impl<S: Send + Sync> FromRequest<S> for OAuthForm {
    type Rejection = OAuthError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        if let Some(query) = req.uri().query() {
            let carries_secret = url::form_urlencoded::parse(query.as_bytes())
                .any(|(name, _)| SECRET_PARAMETERS.contains(&name.as_ref()));
            if carries_secret {
                return Err(OAuthError::invalid_request(
                    "secrets are not accepted in the URL; send them in the request body",
                ));
            }
        }
        if !is_form(req.headers()) {
            return Err(OAuthError::invalid_request(
                "send the parameters with Content-Type: application/x-www-form-urlencoded",
            ));
        }
        let body = Bytes::from_request(req, state).await.map_err(|rejection| {
            if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
                OAuthError::invalid_request("the request body is too large")
            } else {
                OAuthError::invalid_request("the request body could not be read")
            }
        })?;
        Self::parse(&body)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repeated_parameters_are_refused_and_empty_ones_ignored() {
        let form = OAuthForm::parse(b"grant_type=refresh_token&scope=&refresh_token=a%2Bb")
            .expect("well-formed");
        assert_eq!(form.get("grant_type"), Some("refresh_token"));
        assert_eq!(form.get("scope"), None);
        assert_eq!(form.get("refresh_token"), Some("a+b"));
        let repeated = OAuthForm::parse(b"code=a&code=b").expect_err("repeated");
        assert_eq!(repeated.code(), "invalid_request");
        assert!(!format!("{form:?}").contains("a+b"), "no value in Debug");
    }

    #[test]
    fn resource_may_be_repeated() {
        let form = OAuthForm::parse(
            b"grant_type=client_credentials&resource=https%3A%2F%2Fa.example&resource=urn%3Ab",
        )
        .expect("well-formed");
        assert_eq!(form.resources(), ["https://a.example", "urn:b"]);
        assert_eq!(form.get("resource"), None);
        assert!(OAuthForm::parse(b"grant_type=a")
            .unwrap()
            .resources()
            .is_empty());
    }
}
