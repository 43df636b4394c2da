//! `GET|POST /oauth/end_session`: an application asks gatekey to sign the user out (OpenID
//! Connect RP-Initiated Logout 1.0 §2), then to send the browser back (§3).
//!
//! The rules are `gatekey_core::oauth::end_session`'s; this file looks up what they need (the
//! published keys, the client's registered URIs, the session) and answers. Unless a valid
//! `id_token_hint` names the signed-in user, the user is asked first, and the confirmation's
//! form (`POST /oauth/end_session/confirm`, CSRF-checked) ends the session; the request is
//! checked again from scratch then, since it came back through the browser. An error is shown
//! on gatekey's own page, never sent to a URI that failed the checks (§4).

use axum::extract::rejection::RawFormRejection;
use axum::extract::{RawForm, RawQuery, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use gatekey_core::oauth::end_session::{
    client_of, decide_end_session, verify_id_token_hint, AfterLogout, Confirmation, CurrentSession,
    EndSession, EndSessionError, EndSessionRequest,
};
use gatekey_core::oauth::sign_in::{session_sid, subject_of};
use gatekey_core::oauth::store::ApplicationStore;
use gatekey_core::store::StoreError;
use maud::html;

use crate::auth::session::{session_allowing_password_change, WebSession};
use crate::auth::ClientInfo;
use crate::state::AppState;
use crate::web::content_security::policy_for_form_leading_to;
use crate::web::csrf_form::CsrfForm;
use crate::web::layout::{error_page, html_response, page};
use crate::web::logout::{clear_session_cookie, end_web_session};
use crate::web::page_error::storage_failure_page;
use crate::web::signed_in::SignedInToChangePassword;

/// The end-session endpoint's routes.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route(
            "/oauth/end_session",
            get(show_end_session).post(submit_end_session),
        )
        .route("/oauth/end_session/confirm", post(confirm_end_session))
}

/// A checked logout request: what to do, and for which application (by name, for the page).
struct CheckedLogout {
    request: EndSessionRequest,
    decision: EndSession,
    application_name: Option<String>,
}

/// Why a logout request gets no logout.
enum Refusal {
    Request(EndSessionError),
    Store(StoreError),
}

impl From<EndSessionError> for Refusal {
    fn from(error: EndSessionError) -> Self {
        Self::Request(error)
    }
}

impl From<StoreError> for Refusal {
    fn from(error: StoreError) -> Self {
        Self::Store(error)
    }
}

impl IntoResponse for Refusal {
    fn into_response(self) -> Response {
        match self {
            Self::Request(error) => error_page(StatusCode::BAD_REQUEST, &error.to_string()),
            Self::Store(error) => {
                tracing::error!(%error, "storage failure at the end-session endpoint");
                storage_failure_page()
            }
        }
    }
}

/// Reads and checks the request in `pairs` for the browser's `session`.
async fn checked_logout(
    state: &AppState,
    pairs: &[(String, String)],
    session: Option<&WebSession>,
) -> Result<CheckedLogout, Refusal> {
    let request = EndSessionRequest::parse(pairs.iter().map(|(k, v)| (k.as_str(), v.as_str())))?;
    let hint = match &request.id_token_hint {
        Some(token) => {
            let verifier = &state.signing_keys.loaded().verifier;
            let now = state.clock.now();
            Some(verify_id_token_hint(token, verifier, &state.issuer, now)?)
        }
        None => None,
    };
    let client_id = client_of(hint.as_ref(), request.client_id.as_deref())?;
    let application = match &client_id {
        Some(client_id) => Some(
            state
                .store
                .application_by_client_id(client_id)
                .await?
                .ok_or(EndSessionError::UnknownClient)?,
        ),
        None => None,
    };
    let facts = session.map(|web| {
        (
            subject_of(web.principal.user.id),
            session_sid(&web.session.hash),
        )
    });
    let current = facts.as_ref().map(|(subject, sid)| CurrentSession {
        subject: subject.as_str(),
        sid: sid.as_str(),
    });
    let registered = application
        .as_ref()
        .map(|app| app.post_logout_redirect_uris.as_slice());
    let decision = decide_end_session(&request, hint.as_ref(), registered, current)?;
    Ok(CheckedLogout {
        request,
        decision,
        application_name: application.map(|app| app.name),
    })
}

fn pairs_of(encoded: &[u8]) -> Vec<(String, String)> {
    url::form_urlencoded::parse(encoded).into_owned().collect()
}

/// `GET /oauth/end_session` (§2).
pub async fn show_end_session(
    State(state): State<AppState>,
    client: ClientInfo,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    let pairs = pairs_of(query.unwrap_or_default().as_bytes());
    end_session(&state, &client, &headers, &pairs).await
}

/// `POST /oauth/end_session`, form-encoded (§2). A body that is not a form is refused.
pub async fn submit_end_session(
    State(state): State<AppState>,
    client: ClientInfo,
    headers: HeaderMap,
    form: Result<RawForm, RawFormRejection>,
) -> Response {
    let Ok(RawForm(body)) = form else {
        return error_page(
            StatusCode::BAD_REQUEST,
            "The logout request must be a form (application/x-www-form-urlencoded).",
        );
    };
    end_session(&state, &client, &headers, &pairs_of(&body)).await
}

/// Checks the request and ends the session, asks the user, or (without a session) goes on.
async fn end_session(
    state: &AppState,
    client: &ClientInfo,
    headers: &HeaderMap,
    pairs: &[(String, String)],
) -> Response {
    let session = match session_allowing_password_change(state, headers).await {
        Ok(session) => session,
        Err(error) => return Refusal::Store(error).into_response(),
    };
    let checked = match checked_logout(state, pairs, session.as_ref()).await {
        Ok(checked) => checked,
        Err(refusal) => return refusal.into_response(),
    };
    match (checked.decision.confirmation, session) {
        (Confirmation::Ask, Some(web)) => confirmation_page(&web, &checked),
        (Confirmation::NotNeeded, Some(web)) => {
            signed_out(state, client, &web, &checked.decision.after).await
        }
        _ => after_logout(&checked.decision.after),
    }
}

/// The confirmation form's fields: the request's parameters (and `csrf_token`, which the
/// extractor checks).
type ConfirmedFields = Vec<(String, String)>;

/// `POST /oauth/end_session/confirm`: the user confirmed on [`confirmation_page`].
pub async fn confirm_end_session(
    State(state): State<AppState>,
    client: ClientInfo,
    CsrfForm {
        signed_in: SignedInToChangePassword(web),
        fields,
    }: CsrfForm<ConfirmedFields, SignedInToChangePassword>,
) -> Response {
    match checked_logout(&state, &fields, Some(&web)).await {
        Ok(checked) => signed_out(&state, &client, &web, &checked.decision.after).await,
        Err(refusal) => refusal.into_response(),
    }
}

/// Ends `web`'s session as the user's browser asked, clears the cookie and goes on.
async fn signed_out(
    state: &AppState,
    client: &ClientInfo,
    web: &WebSession,
    after: &AfterLogout,
) -> Response {
    let actor = web
        .principal
        .actor(client.ip.clone(), client.user_agent.clone());
    if let Err(error) = end_web_session(state, web, &actor).await {
        return Refusal::Store(error).into_response();
    }
    let mut response = after_logout(after);
    clear_session_cookie(state, &mut response);
    response
}

/// To the client's URI (§3), or gatekey's page saying the user is signed out.
fn after_logout(after: &AfterLogout) -> Response {
    match after {
        AfterLogout::Redirect(location) => {
            (StatusCode::FOUND, [(header::LOCATION, location.clone())]).into_response()
        }
        AfterLogout::SignedOutPage => {
            let body = html! {
                section.login {
                    h1 { "Signed out" }
                    p { "You are signed out of gatekey." }
                    p { a href="/login" { "Sign in again" } }
                }
            };
            html_response(StatusCode::OK, page("Signed out", None, body))
        }
    }
}

/// Asks the user whether to sign out (§2), naming the application when it is known. The form
/// carries the request, which is checked again when it comes back.
fn confirmation_page(web: &WebSession, checked: &CheckedLogout) -> Response {
    let body = html! {
        section.login {
            h1 { "Sign out?" }
            @if let Some(name) = &checked.application_name {
                p { "The application " strong { (name) } " asks to sign you out of gatekey." }
            } @else {
                p { "A page asks to sign you out of gatekey." }
            }
            p { "You are signed in as " strong { (web.principal.user.email) } "." }
            form method="post" action="/oauth/end_session/confirm" {
                input type="hidden" name="csrf_token" value=(web.session.csrf_token);
                @for (name, value) in checked.request.to_params() {
                    input type="hidden" name=(name) value=(value);
                }
                button type="submit" { "Sign out" }
            }
            p { a href="/" { "Stay signed in" } }
        }
    };
    let mut response = html_response(StatusCode::OK, page("Sign out", None, body));
    if let AfterLogout::Redirect(location) = &checked.decision.after {
        if let Some(policy) = policy_for_form_leading_to(location) {
            response
                .headers_mut()
                .insert(header::CONTENT_SECURITY_POLICY, policy);
        }
    }
    response
}
