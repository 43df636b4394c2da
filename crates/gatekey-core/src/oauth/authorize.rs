//! The authorization request (RFC 6749 §4.1.1, RFC 7636, RFC 9207): what is checked before a
//! user is asked, and the answer sent back to the client.
//!
//! Checking is a small state machine without I/O: [`RawAuthorizeRequest::parse`] reads the
//! parameters (refusing repeats, RFC 6749 §3.1), then [`RawAuthorizeRequest::validate`] takes
//! the application the `client_id` named. Until `client_id` and `redirect_uri` are known to be
//! good, an error is shown to the user and never redirected (RFC 6749 §4.1.2.1); after that,
//! errors go back to the client with `state` and `iss`.

use url::Url;

use super::application::{Application, ClientType, GrantType};
use super::authentication_request::{AuthenticationParameters, RawAuthenticationParameters};
use super::pkce::{validate_challenge, PkceError};
use super::prompt::Prompt;
use super::redirect_uri::{find_redirect_uri, usable_redirect_uris};
use crate::scope::ScopeSet;

/// What the client asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResponseType {
    /// `code`: the authorization code flow.
    Code,
    /// `token`: the implicit flow, only for applications that allow it.
    Token,
}

/// An authorization request whose parameters have been read but not yet checked against the
/// application.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawAuthorizeRequest {
    client_id: Option<String>,
    redirect_uri: Option<String>,
    response_type: Option<String>,
    scope: Option<String>,
    state: Option<String>,
    code_challenge: Option<String>,
    code_challenge_method: Option<String>,
    account: Option<String>,
    prompt: Option<String>,
    max_age: Option<String>,
    nonce: Option<String>,
    login_hint: Option<String>,
    id_token_hint: Option<String>,
    repeated: Option<String>,
}

/// A checked authorization request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthorizationRequest {
    /// The application.
    pub application: Application,
    /// Where to send the answer: the registered URI as presented (or the only registered one).
    pub redirect_uri: String,
    /// Whether the client sent `redirect_uri` (then the token request must repeat it).
    pub redirect_uri_presented: bool,
    /// Code or token.
    pub response_type: ResponseType,
    /// The scopes asked for (the application's scopes when none were named).
    pub scopes: ScopeSet,
    /// The client's `state`, returned byte for byte.
    pub state: Option<String>,
    /// The S256 PKCE challenge.
    pub code_challenge: Option<String>,
    /// An account slug to pre-select.
    pub account: Option<String>,
    /// The OpenID Connect parameters (`prompt`, `max_age`, `nonce`, hints).
    pub authentication: AuthenticationParameters,
}

/// Why an authorization request failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuthorizeError {
    /// The client or redirect URI cannot be trusted: tell the user, never redirect.
    Page(String),
    /// Tell the client, at its redirect URI.
    Redirect(ErrorRedirect),
}

/// An error answer to send to the client's redirect URI.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ErrorRedirect {
    /// The redirect URI.
    pub redirect_uri: String,
    /// Whether the answer goes in the fragment (implicit flow) rather than the query.
    pub in_fragment: bool,
    /// The RFC 6749 §4.1.2.1 error code.
    pub error: &'static str,
    /// A description for the developer.
    pub description: String,
    /// The client's `state`.
    pub state: Option<String>,
}

impl RawAuthorizeRequest {
    /// Reads the parameters of an authorization request (from the query of a GET or the
    /// form of the consent POST). Unknown parameters are ignored (RFC 6749 §3.1).
    pub fn parse<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> Self {
        let mut raw = Self {
            client_id: None,
            redirect_uri: None,
            response_type: None,
            scope: None,
            state: None,
            code_challenge: None,
            code_challenge_method: None,
            account: None,
            prompt: None,
            max_age: None,
            nonce: None,
            login_hint: None,
            id_token_hint: None,
            repeated: None,
        };
        for (name, value) in pairs {
            let slot = match name {
                "client_id" => &mut raw.client_id,
                "redirect_uri" => &mut raw.redirect_uri,
                "response_type" => &mut raw.response_type,
                "scope" => &mut raw.scope,
                "state" => &mut raw.state,
                "code_challenge" => &mut raw.code_challenge,
                "code_challenge_method" => &mut raw.code_challenge_method,
                "account" => &mut raw.account,
                "prompt" => &mut raw.prompt,
                "max_age" => &mut raw.max_age,
                "nonce" => &mut raw.nonce,
                "login_hint" => &mut raw.login_hint,
                "id_token_hint" => &mut raw.id_token_hint,
                _ => continue,
            };
            if slot.is_some() {
                raw.repeated.get_or_insert_with(|| name.to_owned());
            } else {
                *slot = Some(value.to_owned());
            }
        }
        raw
    }

    /// The `client_id`, to look the application up with.
    pub fn client_id(&self) -> Option<&str> {
        self.client_id.as_deref().filter(|id| !id.is_empty())
    }

    /// Checks the request against the application `client_id` named (`None` if unknown).
    pub fn validate(
        self,
        application: Option<Application>,
    ) -> Result<AuthorizationRequest, AuthorizeError> {
        if self.repeated.as_deref() == Some("client_id")
            || self.repeated.as_deref() == Some("redirect_uri")
        {
            return Err(AuthorizeError::Page(
                "The request repeats client_id or redirect_uri.".into(),
            ));
        }
        let Some(application) = application else {
            return Err(AuthorizeError::Page(match self.client_id() {
                None => "The request has no client_id.".into(),
                Some(_) => "The application (client_id) is not known.".into(),
            }));
        };
        let redirect_uri = match self.redirect_uri.as_deref() {
            Some(presented) => find_redirect_uri(
                &application.redirect_uris,
                application.client_type,
                presented,
            )
            .map(|_| presented.to_owned())
            .ok_or_else(|| {
                AuthorizeError::Page(
                    "The redirect_uri is not registered for this application.".into(),
                )
            })?,
            None => match usable_redirect_uris(&application.redirect_uris)
                .collect::<Vec<_>>()
                .as_slice()
            {
                [only] => (*only).to_owned(),
                [] => {
                    return Err(AuthorizeError::Page(
                        "This application has no redirect URI.".into(),
                    ))
                }
                _ => {
                    return Err(AuthorizeError::Page(
                        "The request needs a redirect_uri.".into(),
                    ))
                }
            },
        };
        let in_fragment =
            self.response_type.as_deref() == Some("token") && application.implicit_allowed;
        let fail = |error: &'static str, description: String| {
            AuthorizeError::Redirect(ErrorRedirect {
                redirect_uri: redirect_uri.clone(),
                in_fragment,
                error,
                description,
                state: self.state.clone(),
            })
        };
        if let Some(name) = &self.repeated {
            return Err(fail(
                "invalid_request",
                format!("the parameter {name} is repeated"),
            ));
        }
        let response_type = match self.response_type.as_deref() {
            None | Some("") => {
                return Err(fail("invalid_request", "response_type is required".into()))
            }
            Some("code") if application.allows(GrantType::AuthorizationCode) => ResponseType::Code,
            Some("code") => {
                return Err(fail(
                    "unauthorized_client",
                    "this application may not use the code flow".into(),
                ))
            }
            Some("token") if application.implicit_allowed => ResponseType::Token,
            Some(other) => {
                return Err(fail(
                    "unsupported_response_type",
                    format!("response_type {other:?} is not supported"),
                ))
            }
        };
        let scopes = match self.scope.as_deref() {
            None => application.scopes.clone(),
            Some(text) => {
                let asked =
                    ScopeSet::parse(text).map_err(|e| fail("invalid_scope", e.to_string()))?;
                let requestable = application.requestable_scopes();
                if asked.is_empty() {
                    application.scopes.clone()
                } else if asked.is_subset_of(&requestable) {
                    asked
                } else {
                    return Err(fail(
                        "invalid_scope",
                        // Identity scopes are always requestable here, so the API scopes
                        // are what the client got wrong.
                        format!("this application may ask for {}", application.scopes),
                    ));
                }
            }
        };
        if scopes.is_empty() {
            return Err(fail(
                "invalid_scope",
                "this application has no scope to ask for".into(),
            ));
        }
        let code_challenge = match (&self.code_challenge, response_type) {
            (Some(challenge), ResponseType::Code) => {
                validate_challenge(challenge, self.code_challenge_method.as_deref()).map_err(
                    |e| match e {
                        PkceError::UnsupportedMethod => fail(
                            "invalid_request",
                            "code_challenge_method must be S256".into(),
                        ),
                        other => fail("invalid_request", other.to_string()),
                    },
                )?;
                Some(challenge.clone())
            }
            (None, ResponseType::Code) if application.client_type == ClientType::Public => {
                return Err(fail(
                    "invalid_request",
                    "a public client must send a PKCE code_challenge (S256)".into(),
                ))
            }
            (None, ResponseType::Code) if self.code_challenge_method.is_some() => {
                return Err(fail(
                    "invalid_request",
                    "code_challenge_method without code_challenge".into(),
                ))
            }
            _ => None,
        };
        let authentication = RawAuthenticationParameters {
            prompt: self.prompt.as_deref(),
            max_age: self.max_age.as_deref(),
            nonce: self.nonce.as_deref(),
            login_hint: self.login_hint.as_deref(),
            id_token_hint: self.id_token_hint.as_deref(),
        }
        .check()
        .map_err(|e| fail("invalid_request", e.0))?;
        Ok(AuthorizationRequest {
            application,
            redirect_uri_presented: self.redirect_uri.is_some(),
            redirect_uri,
            response_type,
            scopes,
            state: self.state,
            code_challenge,
            account: self.account.filter(|a| !a.is_empty()),
            authentication,
        })
    }
}

impl AuthorizationRequest {
    /// The parameters that carry this request on from the account choice and the consent
    /// form. Of `prompt`, only `consent` goes on: the account was just chosen, and the user
    /// signed in or was found signed in just now, so `login`, `select_account` and `max_age`
    /// are satisfied (repeating them would ask again forever). `login_hint` goes on for a
    /// later sign-in; `id_token_hint` does not, having served its purpose.
    pub fn to_params(&self) -> Vec<(&'static str, String)> {
        let prompt = Prompt {
            consent: self.authentication.prompt.consent,
            ..Prompt::default()
        };
        self.params_with(prompt)
    }

    /// The parameters of the request to come back to once the user has signed in: as
    /// [`Self::to_params`], but `select_account` and the account named stay, since the
    /// sign-in chose neither.
    pub fn to_params_after_sign_in(&self) -> Vec<(&'static str, String)> {
        let prompt = Prompt {
            login: false,
            none: false,
            ..self.authentication.prompt
        };
        let mut params = self.params_with(prompt);
        if let Some(account) = &self.account {
            params.push(("account", account.clone()));
        }
        params
    }

    fn params_with(&self, prompt: Prompt) -> Vec<(&'static str, String)> {
        let mut params = vec![
            ("client_id", self.application.client_id.clone()),
            (
                "response_type",
                match self.response_type {
                    ResponseType::Code => "code".to_owned(),
                    ResponseType::Token => "token".to_owned(),
                },
            ),
            ("scope", self.scopes.to_string()),
        ];
        if self.redirect_uri_presented {
            params.push(("redirect_uri", self.redirect_uri.clone()));
        }
        if let Some(state) = &self.state {
            params.push(("state", state.clone()));
        }
        if let Some(challenge) = &self.code_challenge {
            params.push(("code_challenge", challenge.clone()));
            params.push(("code_challenge_method", "S256".to_owned()));
        }
        if !prompt.is_empty() {
            params.push(("prompt", prompt.to_text()));
        }
        if let Some(nonce) = &self.authentication.nonce {
            params.push(("nonce", nonce.clone()));
        }
        if let Some(hint) = &self.authentication.login_hint {
            params.push(("login_hint", hint.clone()));
        }
        params
    }

    /// Whether the answer goes in the fragment (implicit flow).
    pub fn in_fragment(&self) -> bool {
        self.response_type == ResponseType::Token
    }

    /// An error answer for this request (such as `access_denied`).
    pub fn error(&self, error: &'static str, description: &str) -> ErrorRedirect {
        ErrorRedirect {
            redirect_uri: self.redirect_uri.clone(),
            in_fragment: self.in_fragment(),
            error,
            description: description.to_owned(),
            state: self.state.clone(),
        }
    }
}

impl ErrorRedirect {
    /// The URI to redirect to, with `error`, `error_description`, `state` and `iss`.
    pub fn location(&self, issuer: &str) -> String {
        let mut params = vec![
            ("error", self.error.to_owned()),
            ("error_description", self.description.clone()),
        ];
        if let Some(state) = &self.state {
            params.push(("state", state.clone()));
        }
        params.push(("iss", issuer.to_owned()));
        response_location(&self.redirect_uri, self.in_fragment, &params)
    }
}

/// Adds `params` to `redirect_uri`: to its query (keeping what is there, RFC 6749 §3.1.2), or
/// as its fragment for the implicit flow (RFC 6749 §4.2.2).
pub fn response_location(
    redirect_uri: &str,
    in_fragment: bool,
    params: &[(&str, String)],
) -> String {
    let Ok(mut url) = Url::parse(redirect_uri) else {
        return redirect_uri.to_owned();
    };
    if in_fragment {
        let encoded = url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(params)
            .finish();
        url.set_fragment(Some(&encoded));
    } else {
        url.query_pairs_mut().extend_pairs(params);
    }
    url.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::oauth::fixtures;

    fn app(client_type: ClientType) -> Application {
        Application {
            redirect_uris: vec![
                "https://app.example.com/cb".into(),
                "http://127.0.0.1/cb".into(),
            ],
            service_account_id: None,
            ..fixtures::app(1, client_type, vec![GrantType::AuthorizationCode])
        }
    }

    const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

    fn request(extra: &[(&'static str, &'static str)]) -> RawAuthorizeRequest {
        let mut pairs = vec![
            ("client_id", "app_1"),
            ("redirect_uri", "https://app.example.com/cb"),
            ("response_type", "code"),
            ("state", "a b&c"),
        ];
        pairs.extend_from_slice(extra);
        RawAuthorizeRequest::parse(pairs)
    }

    fn redirect_error(result: Result<AuthorizationRequest, AuthorizeError>) -> ErrorRedirect {
        match result {
            Err(AuthorizeError::Redirect(e)) => e,
            other => panic!("expected a redirect error, got {other:?}"),
        }
    }

    #[test]
    fn a_good_request() {
        let ok = request(&[
            ("code_challenge", CHALLENGE),
            ("code_challenge_method", "S256"),
            ("scope", "read"),
        ])
        .validate(Some(app(ClientType::Public)))
        .expect("valid");
        assert_eq!(ok.scopes.to_string(), "read");
        assert_eq!(ok.state.as_deref(), Some("a b&c"));
        let loopback = || {
            RawAuthorizeRequest::parse([
                ("client_id", "app_1"),
                ("redirect_uri", "http://127.0.0.1:4711/cb"),
                ("response_type", "code"),
                ("code_challenge", CHALLENGE),
                ("code_challenge_method", "S256"),
            ])
        };
        let native = loopback()
            .validate(Some(app(ClientType::Public)))
            .expect("any loopback port for a native app");
        assert_eq!(native.redirect_uri, "http://127.0.0.1:4711/cb");
        assert!(
            matches!(
                loopback().validate(Some(app(ClientType::Confidential))),
                Err(AuthorizeError::Page(_))
            ),
            "a confidential client's loopback URI is matched exactly (RFC 9700 §2.1)"
        );
    }

    #[test]
    fn untrusted_client_or_redirect_is_never_redirected() {
        assert!(matches!(
            request(&[]).validate(None),
            Err(AuthorizeError::Page(_))
        ));
        let wrong = RawAuthorizeRequest::parse([
            ("client_id", "app_1"),
            ("redirect_uri", "https://evil.example/cb"),
            ("response_type", "code"),
        ]);
        assert!(matches!(
            wrong.validate(Some(app(ClientType::Confidential))),
            Err(AuthorizeError::Page(_))
        ));
        let missing =
            RawAuthorizeRequest::parse([("client_id", "app_1"), ("response_type", "code")]);
        assert!(
            matches!(
                missing.validate(Some(app(ClientType::Confidential))),
                Err(AuthorizeError::Page(_))
            ),
            "two URIs registered"
        );
        let twice = request(&[("client_id", "app_1")]);
        assert!(matches!(
            twice.validate(Some(app(ClientType::Confidential))),
            Err(AuthorizeError::Page(_))
        ));
    }

    #[test]
    fn other_errors_go_back_with_state() {
        let public_without_pkce =
            redirect_error(request(&[]).validate(Some(app(ClientType::Public))));
        assert_eq!(
            (
                public_without_pkce.error,
                public_without_pkce.state.as_deref()
            ),
            ("invalid_request", Some("a b&c"))
        );
        let plain = redirect_error(
            request(&[
                ("code_challenge", CHALLENGE),
                ("code_challenge_method", "plain"),
            ])
            .validate(Some(app(ClientType::Confidential))),
        );
        assert_eq!(plain.error, "invalid_request");
        let token = redirect_error(
            RawAuthorizeRequest::parse([
                ("client_id", "app_1"),
                ("redirect_uri", "https://app.example.com/cb"),
                ("response_type", "token"),
            ])
            .validate(Some(app(ClientType::Confidential))),
        );
        assert_eq!(token.error, "unsupported_response_type");
        let scope = redirect_error(
            request(&[("scope", "admin")]).validate(Some(app(ClientType::Confidential))),
        );
        assert_eq!(scope.error, "invalid_scope");
        let repeated = redirect_error(
            request(&[("state", "again")]).validate(Some(app(ClientType::Confidential))),
        );
        assert_eq!(repeated.error, "invalid_request");
        let location = scope.location("https://auth.example.com");
        assert_eq!(
            location,
            "https://app.example.com/cb?error=invalid_scope&error_description=this+application+may+ask+for+read+write&state=a+b%26c&iss=https%3A%2F%2Fauth.example.com"
        );
    }

    #[test]
    fn openid_connect_parameters_are_checked_and_carried_on() {
        let bad_prompt = redirect_error(
            request(&[("prompt", "sometimes")]).validate(Some(app(ClientType::Confidential))),
        );
        assert_eq!(
            (bad_prompt.error, bad_prompt.state.as_deref()),
            ("invalid_request", Some("a b&c"))
        );
        let none_and_login = redirect_error(
            request(&[("prompt", "none login")]).validate(Some(app(ClientType::Confidential))),
        );
        assert_eq!(none_and_login.error, "invalid_request");
        let bad_age = redirect_error(
            request(&[("max_age", "-5")]).validate(Some(app(ClientType::Confidential))),
        );
        assert_eq!(bad_age.error, "invalid_request");
        let ok = request(&[
            ("prompt", "login select_account consent"),
            ("max_age", "0"),
            ("nonce", "n-1"),
            ("login_hint", "ann@example.com"),
            ("ui_locales", "de fr"),
            ("display", "popup"),
            ("account", "acme"),
        ])
        .validate(Some(app(ClientType::Confidential)))
        .expect("valid");
        assert_eq!(ok.authentication.max_age, Some(0));
        let value = |params: Vec<(&'static str, String)>, name: &str| {
            params.into_iter().find(|(k, _)| *k == name).map(|(_, v)| v)
        };
        assert_eq!(value(ok.to_params(), "prompt").as_deref(), Some("consent"));
        assert_eq!(value(ok.to_params(), "nonce").as_deref(), Some("n-1"));
        assert_eq!(value(ok.to_params(), "max_age"), None);
        assert_eq!(
            value(ok.to_params_after_sign_in(), "prompt").as_deref(),
            Some("consent select_account")
        );
        assert_eq!(
            value(ok.to_params_after_sign_in(), "account").as_deref(),
            Some("acme")
        );
    }

    #[test]
    fn response_locations_keep_the_query_or_use_the_fragment() {
        let params = [("code", "x".to_owned())];
        assert_eq!(
            response_location("https://a.example/cb?keep=1", false, &params),
            "https://a.example/cb?keep=1&code=x"
        );
        assert_eq!(
            response_location("https://a.example/cb", true, &params),
            "https://a.example/cb#code=x"
        );
    }
}
