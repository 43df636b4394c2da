//! `GET|POST /device` (RFC 8628 §3.3): where a user types the code a device shows, signs in,
//! chooses an account and allows or denies the device's application.

use axum::extract::{Query, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use gatekey_core::account::Account;
use gatekey_core::oauth::consent::{
    approve_device, consentable_scopes, deny_device, Consent, ConsentPage,
};
use gatekey_core::oauth::device::{
    display_user_code, normalize_user_code, DeviceCodeRecord, DeviceStatus,
};
use gatekey_core::oauth::store::DeviceStore;
use gatekey_core::scope::ScopeSet;
use gatekey_core::store::{StoreError, UserStore};
use gatekey_core::user::Membership;
use maud::html;
use serde::Deserialize;

use super::approval::{application_identity, registering_account, scope_list};
use crate::auth::session::WebSession;
use crate::auth::ClientInfo;
use crate::state::AppState;
use crate::web::csrf_form::CsrfForm;
use crate::web::layout::{error_page, html_response, page};
use crate::web::page_error::{storage_failure_page, PageError};
use crate::web::signed_in::SignedIn;
use gatekey_core::oauth::sign_in::SignIn;

/// The device page's routes.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/device", get(show_device).post(submit_user_code))
        .route("/device/decision", post(submit_decision))
}

/// `?user_code=` pre-fills the form (the `verification_uri_complete`).
#[derive(Deserialize, Default)]
pub struct DeviceQuery {
    user_code: Option<String>,
}

/// The user-code form.
#[derive(Deserialize)]
pub struct UserCodeForm {
    user_code: String,
}

/// The consent form.
#[derive(Deserialize)]
pub struct DecisionForm {
    user_code: String,
    account: String,
    /// The slugs of the accounts the page offered, comma-separated: the page's notice about who
    /// registered the application was right for these only.
    #[serde(default)]
    offered: String,
    decision: String,
}

fn unavailable(error: &StoreError) -> Response {
    tracing::error!(%error, "storage failure on the device page");
    storage_failure_page()
}

fn code_form(
    web: &WebSession,
    status: StatusCode,
    user_code: &str,
    message: Option<&str>,
) -> Response {
    let csrf = web.session.csrf_token.as_str();
    let body = html! {
        section.login {
            h1 { "Connect a device" }
            p { "Enter the code your device shows." }
            @if let Some(message) = message { p.error role="alert" { (message) } }
            form method="post" action="/device" {
                input type="hidden" name="csrf_token" value=(csrf);
                label for="user-code" { "Code" }
                input #user-code type="text" name="user_code" value=(user_code) autocomplete="off" autocapitalize="characters" placeholder="ABCD-EFGH" required autofocus;
                p { button type="submit" { "Continue" } }
            }
        }
    };
    html_response(
        status,
        page("Connect a device", Some((&web.principal, csrf)), body),
    )
}

/// `GET /device`.
async fn show_device(
    Query(query): Query<DeviceQuery>,
    session: Result<SignedIn, PageError>,
) -> Response {
    let typed = query.user_code.unwrap_or_default();
    let back_to = if typed.is_empty() {
        "/device".to_owned()
    } else {
        format!(
            "/device?user_code={}",
            url::form_urlencoded::byte_serialize(typed.as_bytes()).collect::<String>()
        )
    };
    match session {
        Ok(SignedIn(web)) => code_form(&web, StatusCode::OK, &typed, None),
        Err(refused) => refused.returning_to(&back_to).into_response(),
    }
}

/// Finds a pending, unexpired device authorization by what the user typed, counting failures.
async fn pending_device(
    state: &AppState,
    web: &WebSession,
    client: &ClientInfo,
    typed: &str,
) -> Result<DeviceCodeRecord, Response> {
    let now = state.clock.now();
    let who = format!("user:{}", web.principal.user.id);
    // The guess takes its slot before the lookup, so concurrent guesses cannot all pass.
    let attempt = match state
        .user_code_throttle
        .reserve(&who, client.ip.as_deref(), now)
        .await
    {
        Ok(attempt) => attempt,
        Err(throttled) => {
            let minutes = throttled.retry_after.div_ceil(60);
            let message = format!("Too many wrong codes. Try again in {minutes} minute(s).");
            let mut response = code_form(web, StatusCode::TOO_MANY_REQUESTS, typed, Some(&message));
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, throttled.retry_after.into());
            return Err(response);
        }
    };
    let found = match normalize_user_code(typed) {
        Some(code) => match state.store.device_code_by_user_code(&code).await {
            Ok(found) => found,
            Err(error) => {
                attempt.not_evaluated();
                return Err(unavailable(&error));
            }
        },
        None => None,
    };
    match found {
        Some(device) if device.status == DeviceStatus::Pending && now < device.expires_at => {
            attempt.succeeded();
            Ok(device)
        }
        _ => {
            attempt.failed();
            Err(code_form(
                web,
                StatusCode::BAD_REQUEST,
                typed,
                Some("That code is not valid, or has expired or been used."),
            ))
        }
    }
}

/// A device form: each carries the user code it is about.
trait TypedCode {
    /// The user code as typed (or as the consent page echoed it).
    fn user_code(&self) -> &str;
}

impl TypedCode for UserCodeForm {
    fn user_code(&self) -> &str {
        &self.user_code
    }
}

impl TypedCode for DecisionForm {
    fn user_code(&self) -> &str {
        &self.user_code
    }
}

/// Where both device form posts start from: the signed-in user and their form, the pending
/// request its code names, and the accounts the user may answer it for.
struct DeviceStep<F> {
    web: WebSession,
    form: F,
    device: DeviceCodeRecord,
    accounts: Vec<(Membership, Account)>,
}

/// Reads a device form post into a [`DeviceStep`]. A refused form goes back to `/device`; an
/// unknown code or a storage failure is the page to answer.
async fn device_step<F: TypedCode>(
    state: &AppState,
    client: &ClientInfo,
    form: Result<CsrfForm<F>, PageError>,
) -> Result<DeviceStep<F>, Response> {
    let (SignedIn(web), form) = match form {
        Ok(form) => (form.signed_in, form.fields),
        Err(refused) => return Err(refused.returning_to("/device").into_response()),
    };
    let device = pending_device(state, &web, client, form.user_code()).await?;
    let accounts = state
        .store
        .memberships_of(web.principal.user.id)
        .await
        .map_err(|error| unavailable(&error))?;
    Ok(DeviceStep {
        web,
        form,
        device,
        accounts,
    })
}

/// What the device's request may do in each of the user's accounts: the requested scopes within
/// what the user's role holds there. The page lists them per account, since the user picks the
/// account on the same page and roles differ between accounts.
async fn offered_per_account(
    state: &AppState,
    device: &DeviceCodeRecord,
    accounts: &[(Membership, Account)],
) -> Result<Vec<ScopeSet>, StoreError> {
    let mut offered = Vec::with_capacity(accounts.len());
    for (membership, account) in accounts {
        let held = state.role_scopes(account.id, membership.role).await?;
        offered.push(consentable_scopes(
            &device.scopes,
            &device.application,
            &held,
        ));
    }
    Ok(offered)
}

/// `POST /device`: the typed code; answers with the consent page.
async fn submit_user_code(
    State(state): State<AppState>,
    client: ClientInfo,
    form: Result<CsrfForm<UserCodeForm>, PageError>,
) -> Response {
    let DeviceStep {
        web,
        form: _,
        device,
        accounts,
    } = match device_step(&state, &client, form).await {
        Ok(step) => step,
        Err(response) => return response,
    };
    let found = async {
        let registrar = registering_account(&state, &device.application).await?;
        let catalogue = state.scopes.catalogue(&state.store).await?;
        let offered = offered_per_account(&state, &device, &accounts).await?;
        Ok::<_, StoreError>((registrar, catalogue, offered))
    };
    let (registrar, catalogue, offered_scopes) = match found.await {
        Ok(found) => found,
        Err(error) => return unavailable(&error),
    };
    let offered: Vec<&Account> = accounts.iter().map(|(_, account)| account).collect();
    let offered_slugs = offered
        .iter()
        .map(|account| account.slug.as_str())
        .collect::<Vec<_>>()
        .join(",");
    let csrf = web.session.csrf_token.as_str();
    let body = html! {
        section.login {
            h1 { "Authorize " (device.application.name) "?" }
            (application_identity(&device.application, &registrar, &offered))
            p { "A device showing the code " code { (display_user_code(&device.user_code)) } " asks to act as you (" (web.principal.user.email) "). It will be able to:" }
            @match (accounts.as_slice(), offered_scopes.as_slice()) {
                ([_], [only]) => { (scope_list(only, &catalogue)) }
                _ => {
                    @for ((membership, account), scopes) in accounts.iter().zip(&offered_scopes) {
                        p.account-scopes { "In " strong { (account.name) } " (" (membership.role) "):" }
                        @if scopes.is_empty() {
                            p.muted { "nothing: your role there holds none of the scopes it asks for." }
                        } @else {
                            (scope_list(scopes, &catalogue))
                        }
                    }
                }
            }
            p.muted { "Only allow this if you started the sign-in on that device yourself." }
            form method="post" action="/device/decision" {
                input type="hidden" name="csrf_token" value=(csrf);
                input type="hidden" name="user_code" value=(device.user_code);
                input type="hidden" name="offered" value=(offered_slugs);
                label for="account" { "Account" }
                select #account name="account" {
                    @for (membership, account) in &accounts {
                        option value=(account.slug) selected[account.id == web.principal.account.id] { (account.name) " (" (membership.role) ")" }
                    }
                }
                p {
                    button type="submit" name="decision" value="allow" { "Allow" }
                    " "
                    button.secondary type="submit" name="decision" value="deny" { "Deny" }
                }
            }
        }
    };
    html_response(
        StatusCode::OK,
        page("Authorize a device", Some((&web.principal, csrf)), body),
    )
}

/// `POST /device/decision`.
async fn submit_decision(
    State(state): State<AppState>,
    client: ClientInfo,
    form: Result<CsrfForm<DecisionForm>, PageError>,
) -> Response {
    let DeviceStep {
        web,
        form,
        device,
        accounts,
    } = match device_step(&state, &client, form).await {
        Ok(step) => step,
        Err(response) => return response,
    };
    // Only an account the page offered: who registered the application was shown for those.
    if !form.offered.split(',').any(|slug| slug == form.account) {
        return error_page(
            StatusCode::BAD_REQUEST,
            "That account was not offered on the page you answered. Enter the code again to see the request for it.",
        );
    }
    let Some((membership, account)) = accounts.iter().find(|(_, a)| a.slug == form.account) else {
        return error_page(StatusCode::BAD_REQUEST, "Choose one of your accounts.");
    };
    // What the page showed for that account, computed again: the role may have changed.
    let held = match state.role_scopes(account.id, membership.role).await {
        Ok(held) => held,
        Err(error) => return unavailable(&error),
    };
    let offered = consentable_scopes(&device.scopes, &device.application, &held);
    let allow = form.decision == "allow";
    if allow && offered.is_empty() {
        return error_page(
            StatusCode::FORBIDDEN,
            "Your role in that account holds none of the scopes this device asks for.",
        );
    }
    let now = state.clock.now();
    let actor = web.principal.actor(client.ip, client.user_agent);
    let consent = Consent {
        user_id: web.principal.user.id,
        account_id: account.id,
        application: &device.application,
        scopes: offered,
        actor: &actor,
        page: ConsentPage::Device,
    };
    let decided = if allow {
        // The approving session's sign-in, for the ID token the device may collect.
        let sign_in = SignIn::of_session(&web.session);
        approve_device(&state.store, now, device.id, &consent, &sign_in)
            .await
            .map(|grant| grant.is_some())
    } else {
        deny_device(&state.store, now, device.id, &consent).await
    };
    let (title, message) = match decided {
        Ok(false) => return error_page(StatusCode::CONFLICT, "This code was already used."),
        Err(error) => return unavailable(&error),
        Ok(true) if allow => ("Device connected", "You can go back to your device now."),
        Ok(true) => ("Request denied", "The device was not given access."),
    };
    let body = html! { section.login { h1 { (title) } p { (message) } p { a href="/" { "Back to gatekey" } } } };
    html_response(
        StatusCode::OK,
        page(title, Some((&web.principal, &web.session.csrf_token)), body),
    )
}
