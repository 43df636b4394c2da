//! Asking gatekey about a credential (RFC 7662): the request, authenticated as the
//! introspecting application with HTTP Basic (RFC 6749 §2.3.1), and what its answer means.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use gatekey_proto::oauth::IntrospectionResponse;
use reqwest::header::AUTHORIZATION;

use crate::caller::{
    parse_scopes, CallerAccount, CallerUser, CheckedBy, Credential, CredentialKind,
};
use crate::response_body::read_bounded;
use crate::secret::ClientSecret;
use crate::{Caller, TokenRefusal, VerifyError};

/// `token_type` of an introspected API key, in gatekey's answers.
const API_KEY_TOKEN_TYPE: &str = "api_key";

/// The introspecting application's credentials. `Debug` does not show the secret.
#[derive(Debug, Clone)]
pub(crate) struct Introspector {
    http: reqwest::Client,
    client_id: String,
    client_secret: ClientSecret,
}

impl Introspector {
    /// Introspects as `client_id` with `client_secret`, through `http`.
    pub(crate) fn new(
        http: reqwest::Client,
        client_id: String,
        client_secret: ClientSecret,
    ) -> Self {
        Self {
            http,
            client_id,
            client_secret,
        }
    }

    /// gatekey's answer about `credential`. Any answer but `200` with an RFC 7662 body is
    /// [`VerifyError::Unavailable`]: a `401` means this application's own credentials are
    /// wrong, which is no reason to refuse the caller's.
    pub(crate) async fn introspect(
        &self,
        endpoint: &str,
        credential: &str,
    ) -> Result<IntrospectionResponse, VerifyError> {
        let failed =
            |detail: String| VerifyError::Unavailable(format!("POST {endpoint}: {detail}"));
        let response = self
            .http
            .post(endpoint)
            .header(AUTHORIZATION, self.basic_authorization())
            .form(&[("token", credential)])
            .send()
            .await
            .map_err(|e| failed(e.without_url().to_string()))?;
        let status = response.status();
        if status == reqwest::StatusCode::UNAUTHORIZED {
            return Err(failed(
                "gatekey refused this application's client id or secret".into(),
            ));
        }
        if !status.is_success() {
            return Err(failed(format!("answered {status}")));
        }
        let body = read_bounded(response).await.map_err(failed)?;
        serde_json::from_slice(&body).map_err(|e| failed(format!("not an RFC 7662 answer: {e}")))
    }

    /// `Basic base64(urlencode(id):urlencode(secret))` (RFC 6749 §2.3.1).
    fn basic_authorization(&self) -> String {
        let encode =
            |s: &str| url::form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
        let pair = format!(
            "{}:{}",
            encode(&self.client_id),
            encode(self.client_secret.expose())
        );
        format!("Basic {}", STANDARD.encode(pair))
    }
}

/// The caller an introspection answer describes, or why it is not one: inactive (§2.2: every
/// other field is then meaningless), a refresh token, another issuer, past its `exp`, or
/// lacking what gatekey always states of an active credential.
pub(crate) fn caller_of(
    answer: IntrospectionResponse,
    issuer: &str,
    now: SystemTime,
) -> Result<Caller, TokenRefusal> {
    if !answer.active {
        return Err(TokenRefusal::Inactive);
    }
    let kind = match answer.token_type.as_deref() {
        Some(API_KEY_TOKEN_TYPE) => CredentialKind::ApiKey,
        Some(bearer) if bearer.eq_ignore_ascii_case("bearer") => CredentialKind::OAuth,
        _ => return Err(TokenRefusal::NotAnAccessCredential),
    };
    if answer.iss.as_deref().is_some_and(|iss| iss != issuer) {
        return Err(TokenRefusal::Issuer);
    }
    let expires_at = answer
        .exp
        .map(|exp| UNIX_EPOCH + Duration::from_secs(exp.max(0).unsigned_abs()));
    if expires_at.is_some_and(|at| at <= now) {
        return Err(TokenRefusal::Expired);
    }
    let user_id = answer
        .sub
        .as_deref()
        .and_then(|sub| sub.parse::<i64>().ok())
        .ok_or(TokenRefusal::MissingClaim("sub"))?;
    let account = answer
        .account
        .ok_or(TokenRefusal::MissingClaim("account"))?;
    Ok(Caller {
        user: CallerUser {
            id: user_id,
            email: answer.username,
        },
        account: CallerAccount {
            slug: account,
            id: answer.account_id,
        },
        role: answer.role,
        scopes: parse_scopes(answer.scope.as_deref()),
        credential: Credential {
            kind,
            id: None,
            client_id: answer.client_id,
            checked_by: CheckedBy::Introspection,
        },
        expires_at,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const ISSUER: &str = "https://id.example";

    fn active(token_type: &str) -> IntrospectionResponse {
        IntrospectionResponse {
            active: true,
            scope: Some("read write".into()),
            client_id: None,
            username: Some("ada@acme.test".into()),
            sub: Some("42".into()),
            account: Some("acme".into()),
            account_id: Some(7),
            role: Some("member".into()),
            exp: None,
            iat: Some(1),
            token_type: Some(token_type.into()),
            iss: Some(ISSUER.into()),
        }
    }

    #[test]
    fn an_active_key_names_its_user_account_and_scopes() {
        let caller = caller_of(active("api_key"), ISSUER, SystemTime::now()).expect("caller");
        assert_eq!(caller.user.id, 42);
        assert_eq!(caller.user.email.as_deref(), Some("ada@acme.test"));
        assert_eq!(caller.account.slug, "acme");
        assert_eq!(caller.account.id, Some(7));
        assert_eq!(caller.role.as_deref(), Some("member"));
        assert_eq!(caller.credential.kind, CredentialKind::ApiKey);
        assert_eq!(caller.scopes, ["read", "write"]);
        assert_eq!(caller.expires_at, None);
    }

    #[test]
    fn inactive_refresh_foreign_and_expired_answers_are_refused() {
        let now = SystemTime::now();
        let refused = [
            (IntrospectionResponse::inactive(), TokenRefusal::Inactive),
            (active("refresh_token"), TokenRefusal::NotAnAccessCredential),
            (
                IntrospectionResponse {
                    iss: Some("https://evil.example".into()),
                    ..active("Bearer")
                },
                TokenRefusal::Issuer,
            ),
            (
                IntrospectionResponse {
                    exp: Some(1),
                    ..active("Bearer")
                },
                TokenRefusal::Expired,
            ),
        ];
        for (answer, refusal) in refused {
            assert_eq!(caller_of(answer, ISSUER, now).unwrap_err(), refusal);
        }
    }

    #[test]
    fn the_basic_header_encodes_the_client_credentials() {
        let introspector = Introspector::new(
            reqwest::Client::new(),
            "app 1".into(),
            ClientSecret::new("gk_cs_a:b"),
        );
        let expected = format!("Basic {}", STANDARD.encode("app+1:gk_cs_a%3Ab"));
        assert_eq!(introspector.basic_authorization(), expected);
        assert!(!format!("{introspector:?}").contains("gk_cs_a"));
    }
}
