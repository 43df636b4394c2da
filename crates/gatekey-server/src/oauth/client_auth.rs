//! Client authentication at the token, revocation and introspection endpoints (RFC 6749
//! §2.3): `client_secret_basic`, `client_secret_post`, or for a public client its `client_id`
//! alone. Wrong secrets are counted per client id and source address and refused for a while
//! past a limit.

use std::sync::Arc;

use axum::http::{header, HeaderMap};
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use gatekey_core::audit::{Actor, AuditAction, AuditEntry, CredentialRef};
use gatekey_core::oauth::application::{Application, ClientType};
use gatekey_core::secret::TokenHash;
use gatekey_core::store::AuditStore;

use super::error::OAuthError;
use super::form::OAuthForm;
use crate::auth::ClientInfo;
use crate::metrics::BackgroundOperation;
use crate::state::{AppState, CLIENT_AUTH_WINDOW};

/// Longest client id looked up or counted; longer ones cannot exist.
const MAX_CLIENT_ID_LEN: usize = 200;

/// How the client authenticated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClientAuthMethod {
    /// `Authorization: Basic` with the secret (RFC 6749 §2.3.1).
    SecretBasic,
    /// `client_secret` in the body (RFC 6749 §2.3.1).
    SecretPost,
    /// A public client: `client_id` only (RFC 6749 §2.1, RFC 8414 `none`).
    None,
}

/// A client that passed authentication.
#[derive(Debug, Clone)]
pub struct AuthenticatedClient {
    /// The application, as cached.
    pub application: Arc<Application>,
    /// How it authenticated.
    pub method: ClientAuthMethod,
}

impl AuthenticatedClient {
    /// Whether the client proved itself with a secret (a confidential client).
    pub fn is_confidential(&self) -> bool {
        self.application.client_type == ClientType::Confidential
            && self.method != ClientAuthMethod::None
    }
}

/// What the request presented.
struct Presented {
    client_id: String,
    secret: Option<String>,
    method: ClientAuthMethod,
}

/// Authenticates the client of a request from its `Authorization` header and form.
///
/// Only a confidential client's secret is a secret to guess, so only wrong secrets are
/// throttled, per client id *and* source address: a third party guessing from elsewhere cannot
/// lock a client out of its own servers. Public clients and unknown client ids are never
/// counted. Each slot is reserved before the secret is compared, so concurrent guesses cannot
/// all pass the throttle. The first failure per client per window is audited in the client's
/// account; later ones in the same window are not, so the audit cannot be flooded.
pub async fn authenticate_client(
    state: &AppState,
    origin: &ClientInfo,
    headers: &HeaderMap,
    form: &OAuthForm,
) -> Result<AuthenticatedClient, OAuthError> {
    let presented = presented_credentials(headers, form)?;
    let now = state.clock.now();
    let cache = &state.applications;
    let application = match cache.get(&state.store, &presented.client_id).await? {
        Some(application) => Some(application),
        None => cache.load(&state.store, &presented.client_id).await?,
    };
    let Some(application) = application else {
        return Err(OAuthError::invalid_client("the client is unknown"));
    };
    let guessing =
        application.client_type == ClientType::Confidential && presented.secret.is_some();
    if !guessing {
        return verify(&application, &presented, now)
            .map(|application| AuthenticatedClient {
                application,
                method: presented.method,
            })
            .map_err(OAuthError::invalid_client);
    }
    let subject = match &origin.ip {
        Some(ip) => format!("{}\n{ip}", presented.client_id),
        None => presented.client_id.clone(),
    };
    let attempt = match state
        .client_auth_throttle
        .reserve(&subject, None, now)
        .await
    {
        Ok(attempt) => attempt,
        Err(throttled) => {
            audit_failure(
                state,
                origin,
                &application,
                "too many wrong secrets; refused",
            )
            .await;
            return Err(OAuthError::client_throttled(throttled.retry_after));
        }
    };
    let mut verdict = verify(&application, &presented, now);
    if verdict.is_err() {
        // The cached entry may predate a secret rotation the feed has not brought yet.
        verdict = match cache.load(&state.store, &presented.client_id).await {
            Ok(Some(fresh)) => verify(&fresh, &presented, now),
            Ok(None) => Err("the client is unknown"),
            Err(error) => {
                attempt.not_evaluated();
                return Err(error.into());
            }
        };
    }
    match verdict {
        Ok(application) => {
            attempt.succeeded();
            Ok(AuthenticatedClient {
                application,
                method: presented.method,
            })
        }
        Err(reason) => {
            attempt.failed();
            audit_failure(state, origin, &application, reason).await;
            Err(OAuthError::invalid_client(reason))
        }
    }
}

/// Records `oauth.client_auth_failed` in the client's account, for the first failure of the
/// client in the window only. A storage failure here is logged, not answered: the answer to
/// the client is the same either way.
async fn audit_failure(
    state: &AppState,
    origin: &ClientInfo,
    application: &Application,
    reason: &str,
) {
    if !state.client_auth_audited.first(&application.client_id) {
        return;
    }
    let actor = Actor {
        user_id: None,
        credential: CredentialRef::Anonymous,
        ip: origin.ip.clone(),
        user_agent: origin.user_agent.clone(),
    };
    let detail = format!(
        "{reason}; further failures of this client in the next {} minutes are not recorded",
        CLIENT_AUTH_WINDOW / 60
    );
    let entry = AuditEntry::new(
        state.clock.now(),
        &actor,
        AuditAction::ClientAuthFailed,
        "application",
    )
    .in_account(application.account_id)
    .target(&application.client_id)
    .detail(detail)
    .failed();
    if let Err(error) = state.store.record_audit(entry).await {
        state
            .metrics
            .background_storage_error(BackgroundOperation::ClientAuthAudit);
        tracing::error!(%error, "could not audit a failed client authentication");
    }
}

/// Checks the presented secret against the application: a confidential client needs one of
/// its valid secrets (compared in constant time), a public client must send none.
fn verify(
    application: &Arc<Application>,
    presented: &Presented,
    now: time::OffsetDateTime,
) -> Result<Arc<Application>, &'static str> {
    match (application.client_type, presented.secret.as_deref()) {
        (ClientType::Confidential, Some(secret)) => {
            if application.secret_matches(&TokenHash::of(secret), now) {
                Ok(Arc::clone(application))
            } else {
                Err("the client secret is wrong")
            }
        }
        (ClientType::Confidential, None) => Err("this client must authenticate with its secret"),
        (ClientType::Public, None) => Ok(Arc::clone(application)),
        (ClientType::Public, Some(_)) => Err("a public client has no secret"),
    }
}

/// Reads the credentials from the `Authorization` header or the body. Using both a header and
/// `client_secret` is `invalid_request` (RFC 6749 §2.3: one method per request).
fn presented_credentials(headers: &HeaderMap, form: &OAuthForm) -> Result<Presented, OAuthError> {
    let form_id = form.get("client_id");
    let form_secret = form.get("client_secret");
    let presented = match (basic_credentials(headers)?, form_secret) {
        (Some(_), Some(_)) => {
            return Err(OAuthError::invalid_request(
                "use one client authentication method: the Authorization header or client_secret, not both",
            ))
        }
        (Some((client_id, secret)), None) => {
            if form_id.is_some_and(|id| id != client_id) {
                return Err(OAuthError::invalid_request(
                    "client_id differs from the Authorization header's",
                ));
            }
            Presented {
                client_id,
                secret: Some(secret).filter(|s| !s.is_empty()),
                method: ClientAuthMethod::SecretBasic,
            }
        }
        (None, secret) => Presented {
            client_id: form_id
                .ok_or_else(|| OAuthError::invalid_client("client authentication is missing"))?
                .to_owned(),
            secret: secret.map(str::to_owned),
            method: if secret.is_some() {
                ClientAuthMethod::SecretPost
            } else {
                ClientAuthMethod::None
            },
        },
    };
    if presented.client_id.len() > MAX_CLIENT_ID_LEN {
        return Err(OAuthError::invalid_client("the client is unknown"));
    }
    Ok(presented)
}

/// The client id and secret of an `Authorization: Basic` header: Base64 of `id:secret`, each
/// form-url-encoded first (RFC 6749 §2.3.1, Appendix B). `None` without the header.
pub(crate) fn basic_credentials(
    headers: &HeaderMap,
) -> Result<Option<(String, String)>, OAuthError> {
    let Some(value) = headers.get(header::AUTHORIZATION) else {
        return Ok(None);
    };
    let malformed = || OAuthError::invalid_client("the Authorization header is malformed");
    let text = value.to_str().map_err(|_| malformed())?;
    let (scheme, encoded) = text.split_once(' ').unwrap_or((text, ""));
    if !scheme.eq_ignore_ascii_case("basic") {
        return Err(OAuthError::invalid_client(
            "clients authenticate with the Basic scheme",
        ));
    }
    let decoded = STANDARD.decode(encoded.trim()).map_err(|_| malformed())?;
    let decoded = String::from_utf8(decoded).map_err(|_| malformed())?;
    let (id, secret) = decoded.split_once(':').ok_or_else(malformed)?;
    let id = form_url_decode(id).ok_or_else(malformed)?;
    let secret = form_url_decode(secret).ok_or_else(malformed)?;
    if id.is_empty() {
        return Err(malformed());
    }
    Ok(Some((id, secret)))
}

/// Decodes one `application/x-www-form-urlencoded` value: `+` is a space, `%XX` a byte. `None`
/// for a broken escape or bytes that are not UTF-8.
fn form_url_decode(text: &str) -> Option<String> {
    // Generated client ids and secrets have nothing to decode.
    if !text.bytes().any(|byte| byte == b'+' || byte == b'%') {
        return Some(text.to_owned());
    }
    let mut bytes = Vec::with_capacity(text.len());
    let mut rest = text.bytes();
    while let Some(byte) = rest.next() {
        match byte {
            b'+' => bytes.push(b' '),
            b'%' => {
                let high = char::from(rest.next()?).to_digit(16)?;
                let low = char::from(rest.next()?).to_digit(16)?;
                bytes.push(u8::try_from(high * 16 + low).ok()?);
            }
            other => bytes.push(other),
        }
    }
    String::from_utf8(bytes).ok()
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderValue;

    use super::*;

    fn basic(user_pass: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        let value = format!("Basic {}", STANDARD.encode(user_pass));
        headers.insert(
            header::AUTHORIZATION,
            HeaderValue::from_str(&value).unwrap(),
        );
        headers
    }

    #[test]
    fn basic_credentials_are_form_url_decoded_after_base64() {
        let found = basic_credentials(&basic("app_x%3Ay:s%2Bcr+t%25")).unwrap();
        assert_eq!(found, Some(("app_x:y".into(), "s+cr t%".into())));
        assert!(basic_credentials(&basic("app_x:%zz")).is_err());
        assert!(basic_credentials(&basic("no-colon")).is_err());
        assert_eq!(basic_credentials(&HeaderMap::new()).unwrap(), None);
    }

    #[test]
    fn both_methods_at_once_are_refused() {
        let form = OAuthForm::parse(b"client_secret=x").unwrap();
        let error = presented_credentials(&basic("a:b"), &form).err().unwrap();
        assert_eq!(error.code(), "invalid_request");
        let form = OAuthForm::parse(b"client_id=other").unwrap();
        let error = presented_credentials(&basic("a:b"), &form).err().unwrap();
        assert_eq!(error.code(), "invalid_request");
    }
}
