//! The end-session endpoint's rules (OpenID Connect RP-Initiated Logout 1.0): which client asks,
//! where the browser may go afterwards, and whether the user must confirm first.
//!
//! The functions take what the request carried, what the server's keys and storage said, and
//! the current session, and decide, doing no I/O. The endpoint verifies the hint
//! ([`verify_id_token_hint`]), finds the client ([`client_of`]) and its registered URIs, then
//! asks [`decide_end_session`] what to do.
//!
//! - §2: `id_token_hint`, `logout_hint`, `client_id`, `post_logout_redirect_uri`, `state`,
//!   `ui_locales`, by GET or form-encoded POST. `logout_hint` and `ui_locales` are accepted and
//!   ignored: the hint is only a hint, and gatekey's pages are in English.
//! - §2: an expired ID token is a valid hint; one gatekey did not sign is not.
//! - §2: when both `client_id` and the hint name a client, they must agree.
//! - §2, §3: `post_logout_redirect_uri` must be registered for the client exactly; with no way
//!   to tell the client, it is refused, so the endpoint is never an open redirector.
//! - §2: "the OP SHOULD ask the End-User whether to log out" when the request may not come from
//!   the RP: unless a valid hint names the session's user (and session, when it says which),
//!   the user confirms. A third-party page can thus not sign anyone out (logout CSRF).
//! - §3: after logout, the browser goes to the URI with `state`, or the OP shows that the user
//!   is signed out.
//! - §4: when a check fails, no redirect happens: the error is shown on the OP's own page.

use serde_json::{Map, Value};
use time::OffsetDateTime;

use super::jws::JwsVerifier;
use super::jwt_claims::{audiences, check_claims, ExpectedClaims};
use super::post_logout_redirect_uri::find_post_logout_redirect_uri;

/// The longest value of any parameter accepted; gatekey's ID tokens are far shorter.
pub const MAX_END_SESSION_PARAMETER_LEN: usize = 16 * 1024;

/// Why a logout request is refused. The description is safe to show the user.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EndSessionError {
    /// A parameter appeared twice, or is too long.
    #[error("the parameter {0} is repeated or too long")]
    BadParameter(&'static str),
    /// `id_token_hint` is not an ID token this server issued.
    #[error("id_token_hint is not an ID token of this server: {0}")]
    InvalidHint(String),
    /// `client_id` is not the client the hint was issued to.
    #[error("client_id does not match the id_token_hint's client")]
    ClientMismatch,
    /// The client named is not registered.
    #[error("the client is not registered")]
    UnknownClient,
    /// `post_logout_redirect_uri` came without a hint or `client_id` to check it against.
    #[error("post_logout_redirect_uri needs an id_token_hint or a client_id")]
    RedirectUriWithoutClient,
    /// `post_logout_redirect_uri` is not registered for the client.
    #[error("post_logout_redirect_uri is not registered for this client")]
    UnregisteredRedirectUri,
}

/// The parameters of a logout request (§2), as the request carried them.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct EndSessionRequest {
    /// `id_token_hint`, unverified.
    pub id_token_hint: Option<String>,
    /// `logout_hint`: accepted and ignored.
    pub logout_hint: Option<String>,
    /// `client_id`.
    pub client_id: Option<String>,
    /// `post_logout_redirect_uri`.
    pub post_logout_redirect_uri: Option<String>,
    /// `state`, returned to the client.
    pub state: Option<String>,
    /// `ui_locales`: accepted and ignored.
    pub ui_locales: Option<String>,
}

impl std::fmt::Debug for EndSessionRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The hint names the user and may be replayed as a hint: say only whether there is one.
        f.debug_struct("EndSessionRequest")
            .field("id_token_hint", &self.id_token_hint.is_some())
            .field("client_id", &self.client_id)
            .field("post_logout_redirect_uri", &self.post_logout_redirect_uri)
            .finish_non_exhaustive()
    }
}

impl EndSessionRequest {
    /// Reads the request's parameters. Unknown ones are ignored; an empty value counts as
    /// absent; a repeated or overlong one is refused (as RFC 6749 §3.1 has it for OAuth).
    pub fn parse<'a>(
        pairs: impl IntoIterator<Item = (&'a str, &'a str)>,
    ) -> Result<Self, EndSessionError> {
        let mut request = Self::default();
        for (name, value) in pairs {
            let (name, slot) = match name {
                "id_token_hint" => ("id_token_hint", &mut request.id_token_hint),
                "logout_hint" => ("logout_hint", &mut request.logout_hint),
                "client_id" => ("client_id", &mut request.client_id),
                "post_logout_redirect_uri" => (
                    "post_logout_redirect_uri",
                    &mut request.post_logout_redirect_uri,
                ),
                "state" => ("state", &mut request.state),
                "ui_locales" => ("ui_locales", &mut request.ui_locales),
                _ => continue,
            };
            if value.len() > MAX_END_SESSION_PARAMETER_LEN || slot.is_some() {
                return Err(EndSessionError::BadParameter(name));
            }
            if !value.is_empty() {
                *slot = Some(value.to_owned());
            }
        }
        Ok(request)
    }

    /// The parameters that decide the logout, to carry through the confirmation form.
    pub fn to_params(&self) -> Vec<(&'static str, &str)> {
        [
            ("id_token_hint", &self.id_token_hint),
            ("client_id", &self.client_id),
            ("post_logout_redirect_uri", &self.post_logout_redirect_uri),
            ("state", &self.state),
        ]
        .into_iter()
        .filter_map(|(name, value)| value.as_deref().map(|value| (name, value)))
        .collect()
    }
}

/// What a verified `id_token_hint` says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HintClaims {
    /// `sub`: the user.
    pub subject: String,
    /// The client it was issued to: `azp`, else the one `aud` (OpenID Connect Core §2).
    pub client_id: Option<String>,
    /// `sid`: the sign-in session, when the token names it.
    pub sid: Option<String>,
}

impl HintClaims {
    /// Reads the claims of a token whose signature and issuer were checked.
    pub fn from_claims(claims: &Map<String, Value>) -> Result<Self, EndSessionError> {
        let text = |name: &str| {
            claims
                .get(name)
                .and_then(Value::as_str)
                .filter(|value| !value.is_empty())
                .map(str::to_owned)
        };
        let subject = text("sub").ok_or_else(|| EndSessionError::InvalidHint("no sub".into()))?;
        let client_id = text("azp").or_else(|| {
            let mut all = audiences(claims);
            match (all.next(), all.next()) {
                (Some(one), None) => Some(one.to_owned()),
                _ => None,
            }
        });
        Ok(Self {
            subject,
            client_id,
            sid: text("sid"),
        })
    }
}

/// Verifies `token` as one of this server's ID tokens: signed with a key `verifier` holds,
/// `typ` `JWT` when it has a `typ` (which refuses access tokens, `at+jwt`), issued by `issuer`,
/// and not dated in the future. Its expiry is not checked (§2: "the ID Token ... MAY have
/// expired").
pub fn verify_id_token_hint(
    token: &str,
    verifier: &JwsVerifier,
    issuer: &str,
    now: OffsetDateTime,
) -> Result<HintClaims, EndSessionError> {
    let refused = |why: String| EndSessionError::InvalidHint(why);
    let verified = verifier
        .verify(token, None)
        .map_err(|e| refused(e.to_string()))?;
    if !verified.typ_allows("JWT") {
        return Err(refused("it is not an ID token".into()));
    }
    let expected = ExpectedClaims {
        issuer,
        audience: None,
        require_unexpired: false,
        now,
    };
    check_claims(&verified.claims, &expected).map_err(|e| refused(e.to_string()))?;
    HintClaims::from_claims(&verified.claims)
}

/// The client the request is from (§2): the hint's, or `client_id`, which must agree when both
/// are present. `None` when neither says.
pub fn client_of(
    hint: Option<&HintClaims>,
    client_id: Option<&str>,
) -> Result<Option<String>, EndSessionError> {
    let from_hint = hint.and_then(|hint| hint.client_id.as_deref());
    match (from_hint, client_id) {
        (Some(hinted), Some(named)) if hinted != named => Err(EndSessionError::ClientMismatch),
        (Some(client), _) | (None, Some(client)) => Ok(Some(client.to_owned())),
        (None, None) => Ok(None),
    }
}

/// The session the browser is signed in with, as ID tokens name it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CurrentSession<'a> {
    /// Its user's `sub`.
    pub subject: &'a str,
    /// Its `sid`.
    pub sid: &'a str,
}

/// Whether the user must confirm before their session ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Confirmation {
    /// No session: there is nothing to end; go on to where the logout leads.
    NothingToEnd,
    /// The request is known to come from the user's client: end the session now.
    NotNeeded,
    /// Ask the user first (§2): the request may come from anyone.
    Ask,
}

/// Where the browser goes once the session has ended (§3).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AfterLogout {
    /// To the client's registered URI, `state` added.
    Redirect(String),
    /// To the provider's own page saying the user is signed out.
    SignedOutPage,
}

/// What to do with a logout request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EndSession {
    /// Whether to ask the user first.
    pub confirmation: Confirmation,
    /// Where to go afterwards.
    pub after: AfterLogout,
}

/// Decides a logout `request` whose hint verified as `hint` (when it had one), from a client
/// that registered `registered` post-logout URIs (`None` when no client could be told), for
/// the browser's `session` (if any).
pub fn decide_end_session(
    request: &EndSessionRequest,
    hint: Option<&HintClaims>,
    registered: Option<&[String]>,
    session: Option<CurrentSession<'_>>,
) -> Result<EndSession, EndSessionError> {
    let after = match (&request.post_logout_redirect_uri, registered) {
        (None, _) => AfterLogout::SignedOutPage,
        (Some(_), None) => return Err(EndSessionError::RedirectUriWithoutClient),
        (Some(presented), Some(registered)) => {
            let uri = find_post_logout_redirect_uri(registered, presented)
                .ok_or(EndSessionError::UnregisteredRedirectUri)?;
            AfterLogout::Redirect(with_state(uri, request.state.as_deref()))
        }
    };
    let confirmation = match (session, hint) {
        (None, _) => Confirmation::NothingToEnd,
        (Some(session), Some(hint))
            if hint.subject == session.subject
                && hint.sid.as_deref().is_none_or(|sid| sid == session.sid) =>
        {
            Confirmation::NotNeeded
        }
        (Some(_), _) => Confirmation::Ask,
    };
    Ok(EndSession {
        confirmation,
        after,
    })
}

/// `uri` with `state` added to its query, form-encoded (§3: "the OP ... MUST include state").
/// Registered URIs carry no fragment, so the query is the URI's end.
fn with_state(uri: &str, state: Option<&str>) -> String {
    let Some(state) = state else {
        return uri.to_owned();
    };
    let encoded: String = url::form_urlencoded::byte_serialize(state.as_bytes()).collect();
    let separator = match uri.split_once('?') {
        None => "?",
        Some((_, "")) => "",
        Some(_) => "&",
    };
    format!("{uri}{separator}state={encoded}")
}

#[cfg(test)]
#[path = "end_session_tests.rs"]
mod tests;
