//! The token endpoint's rules (RFC 6749 §4, §5, §6): what each grant type checks before tokens are issued.
//!
//! Each function takes what storage found and decides, doing no I/O, so that a reader finds
//! "a refresh token presented by another client" or "a verifier without a challenge" in one
//! place. The handlers look things up, call these, and store what they allow.

use std::fmt;

use time::OffsetDateTime;

use super::application::{Application, ClientType, GrantType};
use super::grant::Grant;
use super::pkce::verifier_matches;
use super::token::{CodeRecord, TokenRecord};
use crate::role_scopes::AccountScopes;
use crate::scope::ScopeSet;
use crate::user::{Member, UserKind};

/// The error codes of the token endpoint (RFC 6749 §5.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenErrorCode {
    /// The request is missing a parameter, repeats one, or is otherwise malformed.
    InvalidRequest,
    /// Client authentication failed.
    InvalidClient,
    /// The code or refresh token is invalid, expired, revoked, spent, or bound to another
    /// client or redirect URI.
    InvalidGrant,
    /// The client may not use this grant type.
    UnauthorizedClient,
    /// The grant type is not supported by this server.
    UnsupportedGrantType,
    /// The scope asked for is unknown or exceeds what may be granted.
    InvalidScope,
    /// Device flow: the user has not decided yet (RFC 8628 §3.5).
    AuthorizationPending,
    /// Device flow: polling too fast; the interval grows by five seconds (RFC 8628 §3.5).
    SlowDown,
    /// Device flow: the user refused (RFC 8628 §3.5).
    AccessDenied,
    /// Device flow: the device code expired (RFC 8628 §3.5).
    ExpiredToken,
}

impl TokenErrorCode {
    /// The `error` value on the wire.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::InvalidRequest => "invalid_request",
            Self::InvalidClient => "invalid_client",
            Self::InvalidGrant => "invalid_grant",
            Self::UnauthorizedClient => "unauthorized_client",
            Self::UnsupportedGrantType => "unsupported_grant_type",
            Self::InvalidScope => "invalid_scope",
            Self::AuthorizationPending => "authorization_pending",
            Self::SlowDown => "slow_down",
            Self::AccessDenied => "access_denied",
            Self::ExpiredToken => "expired_token",
        }
    }
}

impl fmt::Display for TokenErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A refused token request: an RFC 6749 §5.2 code and a description safe to show the client
/// (it never contains a secret).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{code}: {description}")]
pub struct ExchangeError {
    /// The error code.
    pub code: TokenErrorCode,
    /// What went wrong, for the client's developer.
    pub description: String,
}

impl ExchangeError {
    /// An error with `code`.
    pub fn new(code: TokenErrorCode, description: impl Into<String>) -> Self {
        Self {
            code,
            description: description.into(),
        }
    }

    /// `invalid_request`.
    pub fn invalid_request(description: impl Into<String>) -> Self {
        Self::new(TokenErrorCode::InvalidRequest, description)
    }

    /// `invalid_grant`.
    pub fn invalid_grant(description: impl Into<String>) -> Self {
        Self::new(TokenErrorCode::InvalidGrant, description)
    }

    /// `unauthorized_client`.
    pub fn unauthorized_client(description: impl Into<String>) -> Self {
        Self::new(TokenErrorCode::UnauthorizedClient, description)
    }

    /// `invalid_scope`.
    pub fn invalid_scope(description: impl Into<String>) -> Self {
        Self::new(TokenErrorCode::InvalidScope, description)
    }
}

/// The scopes a request asks for, within `allowed` (RFC 6749 §3.3). No `scope` parameter (or
/// an empty one) asks for all of `allowed`; anything outside it, or an unknown scope, is
/// `invalid_scope`, as is ending up with no scope at all.
pub fn requested_scopes(
    requested: Option<&str>,
    allowed: &ScopeSet,
) -> Result<ScopeSet, ExchangeError> {
    requested_scopes_within(requested, allowed, allowed)
}

/// Like [`requested_scopes`], but `default` when the request names none, and at most
/// `allowed`: for a person's authorization, whose application may ask for the identity scopes
/// beyond its registered scopes but does not get them unasked
/// ([`Application::requestable_scopes`]).
pub fn requested_scopes_within(
    requested: Option<&str>,
    default: &ScopeSet,
    allowed: &ScopeSet,
) -> Result<ScopeSet, ExchangeError> {
    let asked = match requested {
        None => default.clone(),
        Some(text) => {
            let asked =
                ScopeSet::parse(text).map_err(|e| ExchangeError::invalid_scope(e.to_string()))?;
            if asked.is_empty() {
                default.clone()
            } else {
                asked
            }
        }
    };
    if !asked.is_subset_of(allowed) {
        return Err(ExchangeError::invalid_scope(format!(
            "the scope may be at most \"{allowed}\""
        )));
    }
    if asked.is_empty() {
        return Err(ExchangeError::invalid_scope("there is no scope to grant"));
    }
    Ok(asked)
}

/// Whether `client` may use `grant` at all: it must be registered for it (RFC 6749 §5.2
/// `unauthorized_client`).
pub fn check_grant_type(client: &Application, grant: GrantType) -> Result<(), ExchangeError> {
    if client.allows(grant) {
        Ok(())
    } else {
        Err(ExchangeError::unauthorized_client(format!(
            "this client may not use the {grant} grant"
        )))
    }
}

/// The client credentials grant (RFC 6749 §4.4): only a confidential client, authenticated
/// with its secret, linked to a service account that is still an enabled member of the
/// client's own account. Tokens act as that service account, so what they do stays traceable
/// to a user. Returns the scopes to grant: the requested ones within the application's scopes
/// intersected with the service account's role, all of that intersection by default.
///
/// `service_account` is the membership of the linked user in the application's account, if
/// there is one; `held` is what the roles hold in the application's account.
pub fn client_credentials_scopes(
    client: &Application,
    service_account: Option<&Member>,
    held: &AccountScopes,
    requested: Option<&str>,
) -> Result<ScopeSet, ExchangeError> {
    check_grant_type(client, GrantType::ClientCredentials)?;
    if client.client_type != ClientType::Confidential {
        return Err(ExchangeError::unauthorized_client(
            "client_credentials needs a confidential client",
        ));
    }
    let usable = service_account.filter(|m| {
        Some(m.user.id) == client.service_account_id
            && m.membership.account_id == client.account_id
            && m.user.kind == UserKind::Service
            && !m.user.is_disabled()
    });
    let Some(member) = usable else {
        return Err(ExchangeError::unauthorized_client(
            "this client has no usable service account in its account",
        ));
    };
    refuse_identity_scopes(requested)?;
    requested_scopes(
        requested,
        &client_credentials_allowed(client, held.held_by(member.membership.role)),
    )
}

/// A client credentials request naming an identity scope (`openid`, `profile`, `email`,
/// `offline_access`) is `invalid_scope` (RFC 6749 §5.2): no person signs in, so there is no
/// one for them to be about (OpenID Connect Core 1.0 §3.1.2.1 ties `openid` to a person's
/// authentication).
fn refuse_identity_scopes(requested: Option<&str>) -> Result<(), ExchangeError> {
    let named = requested
        .and_then(|text| ScopeSet::parse(text).ok())
        .and_then(|asked| asked.identity_scopes().next());
    match named {
        Some(scope) => Err(ExchangeError::invalid_scope(format!(
            "{} is an OpenID Connect scope, about a person who signs in; no person signs in with client_credentials",
            scope.as_str()
        ))),
        None => Ok(()),
    }
}

/// Every scope a client credentials token of `client` may carry when its service account's
/// role holds `role_scopes`: the application's scopes within what the role holds.
pub fn client_credentials_allowed(client: &Application, role_scopes: &ScopeSet) -> ScopeSet {
    client.scopes.without_identity().intersect(role_scopes)
}

/// The authorization code token request, after the code was spent (RFC 6749 §4.1.3).
#[derive(Debug, Clone, Copy)]
pub struct CodeExchange<'a> {
    /// The authenticated client.
    pub client: &'a Application,
    /// The `redirect_uri` parameter, if sent.
    pub redirect_uri: Option<&'a str>,
    /// The `code_verifier` parameter, if sent (RFC 7636 §4.5).
    pub code_verifier: Option<&'a str>,
}

/// Checks a freshly spent code against the request that presents it: issued to this client
/// (RFC 6749 §4.1.3), not expired, its grant standing, the same `redirect_uri` as the
/// authorization request (exact string), and PKCE (RFC 7636 §4.6): a code with a challenge
/// needs the matching verifier; a verifier for a code without a challenge is refused too
/// (RFC 9700 §2.1.1, against PKCE downgrade); a public client's code must have had a
/// challenge. `holder` is the grant's user in the grant's account, if still a member.
pub fn check_code(
    code: &CodeRecord,
    request: &CodeExchange<'_>,
    holder: Option<&Member>,
    now: OffsetDateTime,
) -> Result<(), ExchangeError> {
    let client = request.client;
    if code.application.id != client.id || code.grant.application_id != client.id {
        return Err(ExchangeError::invalid_grant(
            "the code was issued to another client",
        ));
    }
    if now >= code.expires_at {
        return Err(ExchangeError::invalid_grant("the code has expired"));
    }
    check_grant_standing(&code.grant, holder)?;
    check_code_redirect_uri(code, client, request.redirect_uri)?;
    match (code.code_challenge.as_deref(), request.code_verifier) {
        (Some(challenge), Some(verifier)) => {
            if !verifier_matches(verifier, challenge) {
                return Err(ExchangeError::invalid_grant(
                    "the code_verifier does not match the code_challenge",
                ));
            }
        }
        (Some(_), None) => {
            return Err(ExchangeError::invalid_grant(
                "this code needs a code_verifier (PKCE)",
            ))
        }
        (None, Some(_)) => {
            return Err(ExchangeError::invalid_grant(
                "a code_verifier was sent but the authorization request had no code_challenge",
            ))
        }
        (None, None) if client.client_type == ClientType::Public => {
            return Err(ExchangeError::invalid_grant(
                "a public client's code needs PKCE",
            ))
        }
        (None, None) => {}
    }
    Ok(())
}

/// Whether `grant` still gives anything (RFC 6749 §5.2 `invalid_grant`: the grant "is …
/// revoked"): it was not revoked, and `holder`, its user's membership in its account if there
/// still is one, is an enabled member. Every grant type that issues tokens under a grant the
/// user consented to (authorization code, device code) checks this before issuing.
pub fn check_grant_standing(grant: &Grant, holder: Option<&Member>) -> Result<(), ExchangeError> {
    if !grant.is_active() {
        return Err(ExchangeError::invalid_grant(
            "the authorization was revoked",
        ));
    }
    let active = holder.filter(|m| {
        m.user.id == grant.user_id
            && m.membership.account_id == grant.account_id
            && !m.user.is_disabled()
    });
    if active.is_none() {
        return Err(ExchangeError::invalid_grant(
            "the user is disabled or no longer a member of the account",
        ));
    }
    Ok(())
}

/// RFC 6749 §4.1.3: when the authorization request named a `redirect_uri`, the token request
/// must repeat it exactly. A code whose request named none (the application's only registered
/// URI was used) accepts no `redirect_uri` or one of the registered URIs.
fn check_code_redirect_uri(
    code: &CodeRecord,
    client: &Application,
    presented: Option<&str>,
) -> Result<(), ExchangeError> {
    let matches = match (code.redirect_uri.as_str(), presented) {
        ("", None) => true,
        ("", Some(uri)) => client.redirect_uris.iter().any(|r| r == uri),
        (_, None) => false,
        (expected, Some(uri)) => expected == uri,
    };
    if matches {
        Ok(())
    } else {
        Err(ExchangeError::invalid_grant(
            "redirect_uri must be the one of the authorization request",
        ))
    }
}

/// A token's scopes within its application's *current* scopes, before the user's role is
/// applied: what the token may carry as a credential. Narrowing an application narrows every
/// token already issued to it, at its next use.
pub fn token_scopes_within_application(token: &TokenRecord) -> ScopeSet {
    token
        .scopes
        .intersect(&token.application.requestable_scopes())
}

/// A token's effective scopes, computed when it is used and never frozen at issue: the scopes
/// granted ∩ the application's current scopes ∩ what the user's current role holds in the
/// token's account, `held` (nothing when the user is no longer a member). The REST API,
/// introspection's `scope`, the token responses and the refresh grant all apply this, so
/// narrowing an application, lowering a role or changing what a role holds takes effect on
/// tokens already issued.
pub fn effective_token_scopes(token: &TokenRecord, held: &AccountScopes) -> ScopeSet {
    match token.role {
        Some(role) => token_scopes_within_application(token).within_role(held.held_by(role)),
        None => ScopeSet::EMPTY,
    }
}

/// The scopes of an access token issued now from `granted` (a code's or a device
/// authorization's) for `holder`: within the application's current scopes and what the
/// holder's role holds (`held`). The token response's `scope` says this set (RFC 6749 §5.1
/// requires it when it differs from what was asked for), which is what the REST API and
/// introspection then apply. When nothing is left (the role lost what was consented to), the
/// grant is `invalid_grant`, as for a refresh.
pub fn effective_issued_scopes(
    granted: &ScopeSet,
    client: &Application,
    holder: &Member,
    held: &AccountScopes,
) -> Result<ScopeSet, ExchangeError> {
    let scopes = granted
        .intersect(&client.requestable_scopes())
        .within_role(held.held_by(holder.membership.role));
    if scopes.is_empty() {
        return Err(ExchangeError::invalid_grant(
            "nothing this authorization granted is still allowed by the application's scopes and the user's role",
        ));
    }
    Ok(scopes)
}

/// What a presented refresh token allows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RefreshDecision {
    /// Rotate it: a new refresh token with the same scopes as the spent one (RFC 6749 §6), and
    /// an access token with `access_scopes`.
    Rotate {
        /// The scopes of the new access token.
        access_scopes: ScopeSet,
    },
    /// The token was already spent: someone holds a copy. Refuse, and revoke the whole family
    /// (RFC 9700 §4.14.2).
    Reused,
}

/// The refresh token grant (RFC 6749 §6). The token must have been issued to this client
/// (another client's token is refused and left alone), not revoked, not expired, its grant
/// standing and its user enabled and still a member; a spent token means reuse. The new access
/// token gets the token's effective scopes ([`effective_token_scopes`]): never a scope the
/// application or the user's role no longer has, however often the refresh token rolls. A
/// narrower scope may be asked for; a wider one is `invalid_scope`; when nothing granted is
/// still allowed, the refresh token is `invalid_grant`.
pub fn check_refresh(
    token: &TokenRecord,
    client: &Application,
    held: &AccountScopes,
    requested: Option<&str>,
    now: OffsetDateTime,
) -> Result<RefreshDecision, ExchangeError> {
    if token.application.id != client.id || token.grant.application_id != client.id {
        return Err(ExchangeError::invalid_grant(
            "the refresh token was issued to another client",
        ));
    }
    if token.revoked_at.is_some() || !token.grant.is_active() {
        return Err(ExchangeError::invalid_grant(
            "the refresh token has been revoked",
        ));
    }
    if token.used_at.is_some() {
        return Ok(RefreshDecision::Reused);
    }
    if now >= token.expires_at {
        return Err(ExchangeError::invalid_grant(
            "the refresh token has expired",
        ));
    }
    if token.user.is_disabled() || token.role.is_none() {
        return Err(ExchangeError::invalid_grant(
            "the user is disabled or no longer a member of the account",
        ));
    }
    check_grant_type(client, GrantType::RefreshToken)?;
    let allowed = effective_token_scopes(token, held);
    if allowed.is_empty() {
        return Err(ExchangeError::invalid_grant(
            "nothing this authorization granted is still allowed by the application's scopes and the user's role",
        ));
    }
    let access_scopes = requested_scopes(requested, &allowed)?;
    Ok(RefreshDecision::Rotate { access_scopes })
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use time::Duration;

    use super::*;
    use crate::account::Account;
    use crate::oauth::fixtures::{app, grant, member, t0};
    use crate::role::Role;

    const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";
    const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";

    fn code(client: &Application, redirect_uri: &str, challenge: Option<&str>) -> CodeRecord {
        CodeRecord {
            id: 9,
            grant: grant(client.id),
            application: client.clone(),
            redirect_uri: redirect_uri.into(),
            scopes: ScopeSet::parse("read").unwrap(),
            code_challenge: challenge.map(str::to_owned),
            nonce: None,
            auth_time: None,
            sid: None,
            expires_at: t0() + Duration::seconds(60),
        }
    }

    fn code_grants() -> Vec<GrantType> {
        vec![GrantType::AuthorizationCode, GrantType::RefreshToken]
    }

    fn refresh_token(client: &Application) -> TokenRecord {
        let holder = member(5, UserKind::Person, Role::Member);
        TokenRecord {
            id: 11,
            family_id: Some(11),
            scopes: ScopeSet::parse("read write").unwrap(),
            created_at: t0(),
            expires_at: t0() + Duration::days(30),
            revoked_at: None,
            used_at: None,
            auth_time: None,
            sid: None,
            audience: Vec::new(),
            grant: grant(client.id),
            application: Arc::new(client.clone()),
            user: Arc::new(holder.user),
            account: Arc::new(Account {
                id: 1,
                slug: "acme".into(),
                name: "Acme".into(),
                created_at: t0(),
            }),
            role: Some(Role::Member),
        }
    }

    fn builtin() -> AccountScopes {
        AccountScopes::builtin_only()
    }

    fn code_of(error: Result<impl fmt::Debug, ExchangeError>) -> TokenErrorCode {
        error.expect_err("refused").code
    }

    #[test]
    fn scopes_default_to_what_is_allowed_and_never_exceed_it() {
        let allowed = ScopeSet::parse("read write").unwrap();
        assert_eq!(requested_scopes(None, &allowed), Ok(allowed.clone()));
        assert_eq!(requested_scopes(Some(""), &allowed), Ok(allowed.clone()));
        assert_eq!(
            requested_scopes(Some("read"), &allowed),
            Ok(ScopeSet::parse("read").unwrap())
        );
        assert_eq!(
            code_of(requested_scopes(Some("read admin"), &allowed)),
            TokenErrorCode::InvalidScope
        );
        assert_eq!(
            code_of(requested_scopes(Some("sudo"), &allowed)),
            TokenErrorCode::InvalidScope
        );
        assert_eq!(
            code_of(requested_scopes(None, &ScopeSet::EMPTY)),
            TokenErrorCode::InvalidScope
        );
    }

    #[test]
    fn identity_scopes_are_for_people_only() {
        let person = app(1, ClientType::Public, vec![GrantType::DeviceCode]);
        let requestable = person.requestable_scopes();
        assert_eq!(
            requestable.to_string(),
            "openid profile email offline_access read write"
        );
        // Asked for, they are granted beside the API scopes; not asked for, never.
        assert_eq!(
            requested_scopes_within(Some("openid email"), &person.scopes, &requestable)
                .map(|s| s.to_string()),
            Ok("openid email".into())
        );
        assert_eq!(
            requested_scopes_within(None, &person.scopes, &requestable),
            Ok(person.scopes.clone())
        );
        let mut cc = app(
            2,
            ClientType::Confidential,
            vec![GrantType::ClientCredentials],
        );
        cc.scopes = ScopeSet::parse("openid read").unwrap();
        assert_eq!(cc.requestable_scopes().to_string(), "read");
        let robot = member(9, UserKind::Service, Role::Admin);
        cc.service_account_id = Some(robot.user.id);
        let refused = client_credentials_scopes(&cc, Some(&robot), &builtin(), Some("openid"))
            .expect_err("no person signs in");
        assert_eq!(refused.code, TokenErrorCode::InvalidScope);
        assert_eq!(
            client_credentials_scopes(&cc, Some(&robot), &builtin(), None).map(|s| s.to_string()),
            Ok("read".into())
        );
    }

    #[test]
    fn client_credentials_needs_a_confidential_client_and_a_live_service_account() {
        let cc = app(
            1,
            ClientType::Confidential,
            vec![GrantType::ClientCredentials],
        );
        let robot = member(7, UserKind::Service, Role::Viewer);
        assert_eq!(
            client_credentials_scopes(&cc, Some(&robot), &builtin(), None),
            Ok(ScopeSet::parse("read").unwrap()),
            "the app's scopes within the service account's role"
        );
        assert_eq!(
            code_of(client_credentials_scopes(
                &cc,
                Some(&robot),
                &builtin(),
                Some("write")
            )),
            TokenErrorCode::InvalidScope
        );
        let person = member(7, UserKind::Person, Role::Owner);
        assert_eq!(
            code_of(client_credentials_scopes(
                &cc,
                Some(&person),
                &builtin(),
                None
            )),
            TokenErrorCode::UnauthorizedClient
        );
        let mut disabled = robot.clone();
        disabled.user.disabled_at = Some(t0());
        assert_eq!(
            code_of(client_credentials_scopes(
                &cc,
                Some(&disabled),
                &builtin(),
                None
            )),
            TokenErrorCode::UnauthorizedClient
        );
        let mut elsewhere = robot.clone();
        elsewhere.membership.account_id = 2;
        assert_eq!(
            code_of(client_credentials_scopes(
                &cc,
                Some(&elsewhere),
                &builtin(),
                None
            )),
            TokenErrorCode::UnauthorizedClient
        );
        assert_eq!(
            code_of(client_credentials_scopes(&cc, None, &builtin(), None)),
            TokenErrorCode::UnauthorizedClient
        );
        let public = app(1, ClientType::Public, vec![GrantType::ClientCredentials]);
        assert_eq!(
            code_of(client_credentials_scopes(
                &public,
                Some(&robot),
                &builtin(),
                None
            )),
            TokenErrorCode::UnauthorizedClient
        );
        let no_grant = app(1, ClientType::Confidential, code_grants());
        assert_eq!(
            code_of(client_credentials_scopes(
                &no_grant,
                Some(&robot),
                &builtin(),
                None
            )),
            TokenErrorCode::UnauthorizedClient
        );
    }

    #[test]
    fn a_code_is_bound_to_its_client_redirect_uri_and_pkce() {
        let client = app(1, ClientType::Public, code_grants());
        let holder = member(5, UserKind::Person, Role::Member);
        let uri = "https://a.example/cb";
        let exchange = |redirect_uri, code_verifier| CodeExchange {
            client: &client,
            redirect_uri,
            code_verifier,
        };
        let with_pkce = code(&client, uri, Some(CHALLENGE));
        let ok = check_code(
            &with_pkce,
            &exchange(Some(uri), Some(VERIFIER)),
            Some(&holder),
            t0(),
        );
        assert_eq!(ok, Ok(()));

        let refusals = [
            check_code(&with_pkce, &exchange(Some(uri), None), Some(&holder), t0()),
            check_code(
                &with_pkce,
                &exchange(Some(uri), Some(&VERIFIER.replace('d', "e"))),
                Some(&holder),
                t0(),
            ),
            check_code(
                &with_pkce,
                &exchange(None, Some(VERIFIER)),
                Some(&holder),
                t0(),
            ),
            check_code(
                &with_pkce,
                &exchange(Some("https://a.example/cb/"), Some(VERIFIER)),
                Some(&holder),
                t0(),
            ),
            check_code(
                &with_pkce,
                &exchange(Some(uri), Some(VERIFIER)),
                Some(&holder),
                t0() + Duration::seconds(60),
            ),
            check_code(&with_pkce, &exchange(Some(uri), Some(VERIFIER)), None, t0()),
            check_code(
                &code(&client, uri, None),
                &exchange(Some(uri), None),
                Some(&holder),
                t0(),
            ),
        ];
        for refusal in refusals {
            assert_eq!(code_of(refusal), TokenErrorCode::InvalidGrant);
        }

        let other = app(2, ClientType::Public, code_grants());
        let stolen = CodeExchange {
            client: &other,
            redirect_uri: Some(uri),
            code_verifier: Some(VERIFIER),
        };
        assert_eq!(
            code_of(check_code(&with_pkce, &stolen, Some(&holder), t0())),
            TokenErrorCode::InvalidGrant
        );
    }

    #[test]
    fn a_confidential_client_may_skip_pkce_but_not_send_a_verifier_without_a_challenge() {
        let client = app(1, ClientType::Confidential, code_grants());
        let holder = member(5, UserKind::Person, Role::Member);
        let plain = code(&client, "", None);
        let exchange = |redirect_uri, code_verifier| CodeExchange {
            client: &client,
            redirect_uri,
            code_verifier,
        };
        assert_eq!(
            check_code(&plain, &exchange(None, None), Some(&holder), t0()),
            Ok(())
        );
        assert_eq!(
            check_code(
                &plain,
                &exchange(Some("https://a.example/cb"), None),
                Some(&holder),
                t0()
            ),
            Ok(()),
            "the only registered URI, which the authorization request used"
        );
        assert_eq!(
            code_of(check_code(
                &plain,
                &exchange(None, Some(VERIFIER)),
                Some(&holder),
                t0()
            )),
            TokenErrorCode::InvalidGrant
        );
    }

    #[test]
    fn refresh_rules() {
        let client = app(1, ClientType::Public, code_grants());
        let token = refresh_token(&client);
        assert_eq!(
            check_refresh(&token, &client, &builtin(), None, t0()),
            Ok(RefreshDecision::Rotate {
                access_scopes: token.scopes.clone()
            })
        );
        assert_eq!(
            check_refresh(&token, &client, &builtin(), Some("read"), t0()),
            Ok(RefreshDecision::Rotate {
                access_scopes: ScopeSet::parse("read").unwrap()
            })
        );
        assert_eq!(
            code_of(check_refresh(
                &token,
                &client,
                &builtin(),
                Some("read admin"),
                t0()
            )),
            TokenErrorCode::InvalidScope
        );
        let other = app(2, ClientType::Public, code_grants());
        assert_eq!(
            code_of(check_refresh(&token, &other, &builtin(), None, t0())),
            TokenErrorCode::InvalidGrant
        );
        let spent = TokenRecord {
            used_at: Some(t0()),
            ..token.clone()
        };
        assert_eq!(
            check_refresh(&spent, &client, &builtin(), None, t0()),
            Ok(RefreshDecision::Reused)
        );
        let revoked_spent = TokenRecord {
            revoked_at: Some(t0()),
            ..spent
        };
        assert_eq!(
            code_of(check_refresh(
                &revoked_spent,
                &client,
                &builtin(),
                None,
                t0()
            )),
            TokenErrorCode::InvalidGrant,
            "a revoked family is not detected twice"
        );
        assert_eq!(
            code_of(check_refresh(
                &token,
                &client,
                &builtin(),
                None,
                t0() + Duration::days(30)
            )),
            TokenErrorCode::InvalidGrant
        );
        let gone = TokenRecord {
            role: None,
            ..token.clone()
        };
        assert_eq!(
            code_of(check_refresh(&gone, &client, &builtin(), None, t0())),
            TokenErrorCode::InvalidGrant
        );
        let narrowed_app = TokenRecord {
            application: Arc::new(Application {
                scopes: ScopeSet::parse("read").unwrap(),
                ..client.clone()
            }),
            ..token.clone()
        };
        assert_eq!(
            check_refresh(&narrowed_app, &client, &builtin(), None, t0()),
            Ok(RefreshDecision::Rotate {
                access_scopes: ScopeSet::parse("read").unwrap()
            }),
            "the application's current scopes bound the refresh"
        );
        assert_eq!(
            code_of(check_refresh(
                &narrowed_app,
                &client,
                &builtin(),
                Some("write"),
                t0()
            )),
            TokenErrorCode::InvalidScope
        );
        let viewer = TokenRecord {
            role: Some(Role::Viewer),
            ..token.clone()
        };
        assert_eq!(
            effective_token_scopes(&viewer, &builtin()),
            ScopeSet::parse("read").unwrap(),
            "the user's current role bounds the token"
        );
        let nothing_left = TokenRecord {
            scopes: ScopeSet::parse("write").unwrap(),
            ..viewer
        };
        assert_eq!(
            code_of(check_refresh(
                &nothing_left,
                &client,
                &builtin(),
                None,
                t0()
            )),
            TokenErrorCode::InvalidGrant
        );
        let mut revoked_grant = token.clone();
        revoked_grant.grant.revoked_at = Some(t0());
        assert_eq!(
            code_of(check_refresh(
                &revoked_grant,
                &client,
                &builtin(),
                None,
                t0()
            )),
            TokenErrorCode::InvalidGrant
        );
    }

    #[test]
    fn catalogue_scopes_are_effective_only_while_the_role_holds_them() {
        use crate::role::RoleSet;
        use crate::role_scopes::AccountScopes;
        use crate::scope::ScopeName;
        use crate::scope_catalogue::{CatalogueEntry, RoleOverride, ScopeCatalogue};

        let billing = CatalogueEntry {
            name: ScopeName::parse("billing").unwrap(),
            description: "see invoices".into(),
            group: None,
            default_roles: RoleSet::EMPTY.with(Role::Owner),
            created_at: t0(),
            updated_at: t0(),
        };
        let catalogue = Arc::new(ScopeCatalogue::new(vec![billing]));
        let client = Application {
            scopes: ScopeSet::parse("read write billing").unwrap(),
            ..app(1, ClientType::Public, code_grants())
        };
        let token = TokenRecord {
            scopes: ScopeSet::parse("read write admin billing").unwrap(),
            application: Arc::new(client.clone()),
            ..refresh_token(&client)
        };
        let defaults = AccountScopes::new(catalogue.clone(), &[]);
        assert_eq!(
            effective_token_scopes(&token, &defaults).to_string(),
            "read write"
        );
        let mapped = AccountScopes::new(
            catalogue,
            &[RoleOverride {
                role: Role::Member,
                scopes: ScopeSet::parse("billing").unwrap(),
                updated_at: t0(),
            }],
        );
        assert_eq!(
            effective_token_scopes(&token, &mapped).to_string(),
            "read write billing"
        );
        let deleted = AccountScopes::builtin_only();
        assert_eq!(
            effective_token_scopes(&token, &deleted).to_string(),
            "read write",
            "a scope that left the catalogue is not effective"
        );
        let holder = member(5, UserKind::Person, Role::Member);
        assert_eq!(
            effective_issued_scopes(&token.scopes, &client, &holder, &mapped)
                .map(|s| s.to_string()),
            Ok("read write billing".to_owned())
        );
    }
}
