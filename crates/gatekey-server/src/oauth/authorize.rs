//! `GET|POST /oauth/authorize` (RFC 6749 §4.1, §4.2; RFC 7636; RFC 9207).
//!
//! GET checks the request, sends a visitor without a session to sign in, asks which account
//! when the user has several, and shows the consent page — or, for a confidential client the
//! user already consented to with these scopes, answers at once. OpenID Connect's `prompt`
//! and `max_age` (Core §3.1.2.1) change which of these happen, by the rule in
//! `gatekey_core::oauth::prompt`. POST is the consent form (CSRF-checked); the request is
//! checked again from scratch, since the form came back through the browser.

use axum::extract::{RawQuery, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use axum::Router;
use gatekey_core::account::Account;
use gatekey_core::oauth::authorize::{
    response_location, AuthorizationRequest, AuthorizeError, RawAuthorizeRequest, ResponseType,
};
use gatekey_core::oauth::consent::{
    consentable_scopes, deny_consent, grant_consent, remembered_consent, Consent, ConsentPage,
};
use gatekey_core::oauth::grant::Grant;
use gatekey_core::oauth::identity_claims::subject_of_id;
use gatekey_core::oauth::prompt::{decide_prompt, PromptDecision, PromptError, SessionFacts};
use gatekey_core::oauth::sign_in::SignIn;
use gatekey_core::oauth::store::{ApplicationStore, GrantStore, TokenStore};
use gatekey_core::oauth::token::{NewAccessToken, NewCode};
use gatekey_core::role::Role;
use gatekey_core::scope::ScopeSet;
use gatekey_core::secret::{Secret, SecretKind};
use gatekey_core::store::{StoreError, UserStore};

use super::consent_page::{account_choice_page, consent_page};
use crate::auth::session::WebSession;
use crate::auth::ClientInfo;
use crate::state::AppState;
use crate::web::csrf_form::with_csrf_token;
use crate::web::layout::error_page;
use crate::web::login::sign_in_again;
use crate::web::page_error::{storage_failure_page, PageError};
use crate::web::signed_in::SignedIn;

/// The authorization endpoint's routes.
pub fn routes() -> Router<AppState> {
    Router::new().route(
        "/oauth/authorize",
        get(show_authorization).post(submit_consent),
    )
}

fn unavailable(error: &StoreError) -> Response {
    tracing::error!(%error, "storage failure at the authorization endpoint");
    storage_failure_page()
}

/// A `302 Found` to the client (RFC 6749 §4.1.2 uses 302 in its examples; any 3xx but 307
/// would do, and 307 would resend a POSTed password, RFC 9700 §4.12).
fn found(location: &str) -> Response {
    (StatusCode::FOUND, [(header::LOCATION, location.to_owned())]).into_response()
}

/// Reads and checks a request from `pairs`.
async fn checked_request(
    state: &AppState,
    pairs: Vec<(String, String)>,
) -> Result<AuthorizationRequest, Response> {
    let raw = RawAuthorizeRequest::parse(pairs.iter().map(|(k, v)| (k.as_str(), v.as_str())));
    let application = match raw.client_id() {
        Some(client_id) => state
            .store
            .application_by_client_id(client_id)
            .await
            .map_err(|e| unavailable(&e))?,
        None => None,
    };
    let request = raw.validate(application).map_err(|error| match error {
        AuthorizeError::Page(message) => error_page(StatusCode::BAD_REQUEST, &message),
        AuthorizeError::Redirect(redirect) => found(&redirect.location(&state.issuer)),
    })?;
    // An id_token_hint must be one of this server's tokens (OpenID Connect Core §3.1.2.1).
    if let Some(hint) = &request.authentication.id_token_hint {
        let verifier = &state.signing_keys.loaded().verifier;
        if let Err(refused) = hint.verify(verifier, &state.issuer, state.clock.now()) {
            let error = request.error("invalid_request", &refused.0);
            return Err(found(&error.location(&state.issuer)));
        }
    }
    Ok(request)
}

fn query_pairs(query: Option<&str>) -> Vec<(String, String)> {
    url::form_urlencoded::parse(query.unwrap_or("").as_bytes())
        .into_owned()
        .collect()
}

/// The accounts the user may authorize for, oldest membership first.
async fn accounts_of(
    state: &AppState,
    web: &WebSession,
) -> Result<Vec<(Role, Account)>, StoreError> {
    let memberships = state.store.memberships_of(web.principal.user.id).await?;
    Ok(memberships.into_iter().map(|(m, a)| (m.role, a)).collect())
}

/// What the user may allow `request` to do in `account`, where they have `role`: the requested
/// scopes within what the role holds there. `Err` is the answer when that is nothing: the
/// client learns `invalid_scope` (RFC 6749 §4.1.2.1) instead of a grant that does nothing.
async fn offered_scopes(
    state: &AppState,
    request: &AuthorizationRequest,
    account: &Account,
    role: Role,
) -> Result<ScopeSet, Response> {
    let held = state
        .role_scopes(account.id, role)
        .await
        .map_err(|e| unavailable(&e))?;
    let offered = consentable_scopes(&request.scopes, &request.application, &held);
    if offered.is_empty() {
        let refusal = request.error(
            "invalid_scope",
            "the user's role in this account holds none of the requested scopes",
        );
        return Err(found(&refusal.location(&state.issuer)));
    }
    Ok(offered)
}

/// `GET /oauth/authorize`.
pub async fn show_authorization(
    State(state): State<AppState>,
    RawQuery(query): RawQuery,
    session: Result<SignedIn, PageError>,
) -> Response {
    let request = match checked_request(&state, query_pairs(query.as_deref())).await {
        Ok(request) => request,
        Err(response) => return response,
    };
    // Checked after the request, so a bad request is answered without signing in first.
    let web = match session {
        Ok(SignedIn(web)) => web,
        Err(PageError::NotSignedIn { .. }) => return without_session(&state, &request),
        Err(refused) => return refused.into_response(),
    };
    let accounts = match accounts_of(&state, &web).await {
        Ok(accounts) => accounts,
        Err(error) => return unavailable(&error),
    };
    let chosen = match &request.account {
        Some(slug) => accounts.iter().find(|(_, a)| &a.slug == slug),
        None if accounts.len() == 1 => accounts.first(),
        None => None,
    };
    // What the chosen account would be asked for, and whether a standing grant covers it.
    let mut consent = None;
    if let Some((role, account)) = chosen {
        let offered = match offered_scopes(&state, &request, account, *role).await {
            Ok(offered) => offered,
            Err(response) => return response,
        };
        let standing = match state
            .store
            .active_grant(web.principal.user.id, account.id, request.application.id)
            .await
        {
            Ok(standing) => standing,
            Err(error) => return unavailable(&error),
        };
        let remembered = remembered_consent(&request.application, standing, &offered);
        consent = Some((account, offered, remembered));
    }
    let facts = SessionFacts {
        auth_time: web.session.created_at,
        hint_names_another_user: hint_names_another_user(&request, &web),
        accounts: accounts.len(),
        account_chosen: consent.is_some(),
        consent_remembered: consent.as_ref().is_some_and(|(_, _, r)| r.is_some()),
    };
    let authentication = &request.authentication;
    let decision = decide_prompt(
        authentication.prompt,
        authentication.max_age,
        Some(&facts),
        state.clock.now(),
    );
    match (decision, consent) {
        (Err(error), _) => prompt_refused(&state, &request, error),
        (Ok(PromptDecision::SignIn), _) => {
            let email = authentication
                .login_hint
                .as_deref()
                .unwrap_or(&web.principal.user.email);
            sign_in_again(&state, email, &after_sign_in(&request))
        }
        (Ok(PromptDecision::AskConsent), Some((account, offered, _))) => {
            consent_page(&state, &web, &request, account, &offered).await
        }
        (Ok(PromptDecision::Proceed), Some((_, offered, Some(grant)))) => {
            let sign_in = SignIn::of_session(&web.session);
            answer(&state, &request, &grant, &offered, &sign_in).await
        }
        // The account choice, and any decision the facts cannot back (none should reach here).
        _ => account_choice_page(&web, &request, &accounts),
    }
}

/// A visitor without a session: to the sign-in page and back, or with `prompt=none` the
/// client hears `login_required` (OpenID Connect Core §3.1.2.6).
fn without_session(state: &AppState, request: &AuthorizationRequest) -> Response {
    let authentication = &request.authentication;
    if let Err(error) = decide_prompt(
        authentication.prompt,
        authentication.max_age,
        None,
        state.clock.now(),
    ) {
        return prompt_refused(state, request, error);
    }
    let next: String =
        url::form_urlencoded::byte_serialize(after_sign_in(request).as_bytes()).collect();
    let mut login = format!("/login?next={next}");
    if let Some(hint) = &authentication.login_hint {
        login.push_str("&login_hint=");
        login.extend(url::form_urlencoded::byte_serialize(hint.as_bytes()));
    }
    Redirect::to(&login).into_response()
}

/// Where to come back to once signed in: this request without `prompt=login` or `max_age`,
/// which the new sign-in satisfies (else the user would be asked to sign in forever).
fn after_sign_in(request: &AuthorizationRequest) -> String {
    let query = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(request.to_params_after_sign_in())
        .finish();
    format!("/oauth/authorize?{query}")
}

/// Whether the request's `id_token_hint` (verified in [`checked_request`]) names another user
/// than the session's.
fn hint_names_another_user(request: &AuthorizationRequest, web: &WebSession) -> bool {
    request
        .authentication
        .id_token_hint
        .as_ref()
        .is_some_and(|hint| hint.subject() != subject_of_id(web.principal.user.id))
}

/// The client hears that the user would have had to act (OpenID Connect Core §3.1.2.6), at
/// its redirect URI with `state` and `iss`, as every other authorization error.
fn prompt_refused(
    state: &AppState,
    request: &AuthorizationRequest,
    error: PromptError,
) -> Response {
    found(
        &request
            .error(error.as_str(), error.description())
            .location(&state.issuer),
    )
}

/// `POST /oauth/authorize`: the consent form.
pub async fn submit_consent(
    State(state): State<AppState>,
    client: ClientInfo,
    session: Result<SignedIn, PageError>,
    body: axum::body::Bytes,
) -> Response {
    let pairs: Vec<(String, String)> = url::form_urlencoded::parse(&body).into_owned().collect();
    let field = |name: &str| {
        pairs
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
    };
    let (csrf, decision) = (field("csrf_token").unwrap_or_default(), field("decision"));
    let request = match checked_request(&state, pairs.clone()).await {
        Ok(request) => request,
        Err(response) => return response,
    };
    // Checked after the request, as the page was: the form came back through the browser.
    let web = match session.and_then(|SignedIn(web)| with_csrf_token(web, &csrf)) {
        Ok(web) => web,
        Err(refused) => return consent_refused(refused).into_response(),
    };
    let accounts = match accounts_of(&state, &web).await {
        Ok(accounts) => accounts,
        Err(error) => return unavailable(&error),
    };
    let Some((role, account)) = request
        .account
        .as_ref()
        .and_then(|slug| accounts.iter().find(|(_, a)| &a.slug == slug))
    else {
        return error_page(StatusCode::BAD_REQUEST, "Choose one of your accounts.");
    };
    // Computed again, as on the page: what the role holds may have changed meanwhile.
    let offered = match offered_scopes(&state, &request, account, *role).await {
        Ok(offered) => offered,
        Err(response) => return response,
    };
    let now = state.clock.now();
    let actor = web.principal.actor(client.ip, client.user_agent);
    let consent = Consent {
        user_id: web.principal.user.id,
        account_id: account.id,
        application: &request.application,
        scopes: offered.clone(),
        actor: &actor,
        page: ConsentPage::Authorize,
    };
    match decision.as_deref() {
        Some("allow") => match grant_consent(&state.store, now, &consent).await {
            Ok(grant) => {
                let sign_in = SignIn::of_session(&web.session);
                answer(&state, &request, &grant, &offered, &sign_in).await
            }
            Err(error) => unavailable(&error),
        },
        Some("deny") => {
            if let Err(error) = deny_consent(&state.store, now, &consent).await {
                return unavailable(&error);
            }
            found(
                &request
                    .error("access_denied", "the user denied the request")
                    .location(&state.issuer),
            )
        }
        _ => error_page(StatusCode::BAD_REQUEST, "Choose Allow or Deny."),
    }
}

/// Why a consent form was not taken: the page that sent it is gone, so the user starts again
/// from the application rather than going back.
fn consent_refused(refused: PageError) -> PageError {
    match refused {
        PageError::NotSignedIn { .. } => PageError::refused(
            StatusCode::UNAUTHORIZED,
            "Your session ended. Please start again from the application.",
        ),
        PageError::FormExpired => PageError::refused(
            StatusCode::FORBIDDEN,
            "The form expired. Please start again from the application.",
        ),
        other => other,
    }
}

/// Sends the client its answer under `grant` for `scopes` (what the user was offered): a code
/// (RFC 6749 §4.1.2), or for the implicit flow an access token in the fragment (§4.2.2), with
/// `state` and `iss` (RFC 9207). A code keeps the request's `nonce` and `sign_in`, the
/// session's, for the ID token (OpenID Connect Core §3.1.3.6).
async fn answer(
    state: &AppState,
    request: &AuthorizationRequest,
    grant: &Grant,
    scopes: &ScopeSet,
    sign_in: &SignIn,
) -> Response {
    let now = state.clock.now();
    let seconds = |ttl: u64| time::Duration::seconds(i64::try_from(ttl).unwrap_or(i64::MAX / 2));
    let mut params: Vec<(&str, String)> = Vec::new();
    match request.response_type {
        ResponseType::Code => {
            let code = Secret::generate(SecretKind::AuthorizationCode);
            let new = NewCode {
                hash: code.hash(),
                grant_id: grant.id,
                // Empty when the request named none: the token request need not repeat it.
                redirect_uri: if request.redirect_uri_presented {
                    request.redirect_uri.clone()
                } else {
                    String::new()
                },
                scopes: scopes.clone(),
                code_challenge: request.code_challenge.clone(),
                nonce: request.authentication.nonce.clone(),
                auth_time: Some(sign_in.auth_time),
                sid: Some(sign_in.sid.clone()),
                created_at: now,
                expires_at: now + seconds(state.config.authorization_code_ttl),
            };
            if let Err(error) = state.store.create_code(new).await {
                return unavailable(&error);
            }
            params.push(("code", code.expose().to_owned()));
        }
        ResponseType::Token => {
            let token = Secret::generate(SecretKind::AccessToken);
            let ttl = state.config.access_token_ttl;
            let access = NewAccessToken {
                hash: token.hash(),
                scopes: scopes.clone(),
                created_at: now,
                expires_at: now + seconds(ttl),
                code_id: None,
                audience: Vec::new(),
            };
            if let Err(error) = state.store.issue_tokens(grant.id, access, None).await {
                return unavailable(&error);
            }
            params.push(("access_token", token.expose().to_owned()));
            params.push(("token_type", "Bearer".to_owned()));
            params.push(("expires_in", ttl.to_string()));
            params.push(("scope", scopes.to_string()));
        }
    }
    if let Some(client_state) = &request.state {
        params.push(("state", client_state.clone()));
    }
    params.push(("iss", state.issuer.clone()));
    found(&response_location(
        &request.redirect_uri,
        request.in_fragment(),
        &params,
    ))
}
