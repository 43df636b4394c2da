//! The "Applications" section of the home page for admins, `POST /applications` (register one,
//! its secret shown once) and `POST /applications/{id}/delete`. CSRF-checked like the key forms.

use axum::extract::rejection::FormRejection;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use gatekey_core::oauth::admin::{
    delete_application as delete_in_store, register_application as register_in_store,
    RegisterApplicationError, Registrar,
};
use gatekey_core::oauth::application::{
    Application, ApplicationInputError, ApplicationSettings, ClientType, GrantType,
};
use gatekey_core::oauth::store::ApplicationStore;
use gatekey_core::page::PageRequest;
use gatekey_core::principal::Principal;
use gatekey_core::scope::{Scope, ScopeSet};
use gatekey_core::secret::Secret;
use gatekey_core::store::{StoreError, UserStore};
use gatekey_core::user::UserKind;
use maud::{html, Markup};
use serde::Deserialize;

use super::csrf::tokens_match;
use super::home::{render_home, Messages};
use super::layout::error_page;
use crate::auth::session::{current_session, WebSession};
use crate::auth::ClientInfo;
use crate::state::AppState;

/// The register form. Checkboxes are present only when ticked.
#[derive(Deserialize)]
pub struct RegisterApplicationForm {
    csrf_token: String,
    name: String,
    client_type: String,
    /// One redirect URI a line.
    #[serde(default)]
    redirect_uris: String,
    grant_authorization_code: Option<String>,
    grant_refresh_token: Option<String>,
    grant_client_credentials: Option<String>,
    grant_device_code: Option<String>,
    scope_read: Option<String>,
    scope_write: Option<String>,
    scope_admin: Option<String>,
    implicit_allowed: Option<String>,
    introspect: Option<String>,
    /// A user id, or empty for none.
    #[serde(default)]
    service_account_id: String,
}

/// The delete form.
#[derive(Deserialize)]
pub struct DeleteApplicationForm {
    csrf_token: String,
}

/// A signed-in admin whose form carried the session's CSRF token, or the page to answer.
async fn signed_in_admin(
    state: &AppState,
    headers: &HeaderMap,
    csrf: &str,
) -> Result<WebSession, Response> {
    match current_session(state, headers).await {
        Ok(Some(web)) if !tokens_match(csrf, &web.session.csrf_token) => Err(error_page(
            StatusCode::FORBIDDEN,
            "The form expired. Please go back and try again.",
        )),
        Ok(Some(web)) if !web.principal.may(Scope::Admin) => Err(error_page(
            StatusCode::FORBIDDEN,
            "Only administrators of this account manage its applications.",
        )),
        Ok(Some(web)) => Ok(web),
        Ok(None) => Err(Redirect::to("/login").into_response()),
        Err(_) => Err(unavailable()),
    }
}

fn unavailable() -> Response {
    error_page(
        StatusCode::SERVICE_UNAVAILABLE,
        "The service is temporarily unavailable.",
    )
}

/// The settings a form asks for, or why it cannot be read.
fn form_settings(
    form: &RegisterApplicationForm,
) -> Result<(ClientType, ApplicationSettings), String> {
    let client_type: ClientType = form
        .client_type
        .parse()
        .map_err(|e: ApplicationInputError| e.to_string())?;
    let mut grant_types = Vec::new();
    for (checked, grant) in [
        (&form.grant_authorization_code, GrantType::AuthorizationCode),
        (&form.grant_refresh_token, GrantType::RefreshToken),
        (&form.grant_client_credentials, GrantType::ClientCredentials),
        (&form.grant_device_code, GrantType::DeviceCode),
    ] {
        if checked.is_some() {
            grant_types.push(grant);
        }
    }
    let mut scopes = ScopeSet::EMPTY;
    for (checked, scope) in [
        (&form.scope_read, Scope::Read),
        (&form.scope_write, Scope::Write),
        (&form.scope_admin, Scope::Admin),
    ] {
        if checked.is_some() {
            scopes = scopes.with(scope);
        }
    }
    let service_account_id = match form.service_account_id.trim() {
        "" => None,
        id => Some(
            id.parse::<i64>()
                .map_err(|_| "Choose a service account from the list.".to_owned())?,
        ),
    };
    let settings = ApplicationSettings {
        name: form.name.trim().to_owned(),
        redirect_uris: form
            .redirect_uris
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .map(str::to_owned)
            .collect(),
        grant_types,
        scopes,
        implicit_allowed: form.implicit_allowed.is_some(),
        introspect: form.introspect.is_some(),
        service_account_id,
    };
    Ok((client_type, settings))
}

/// The home page again, with why the register form was refused.
async fn refuse(state: &AppState, web: &WebSession, error: &str) -> Response {
    let messages = Messages {
        application_error: Some(error),
        ..Messages::default()
    };
    render_home(state, web, StatusCode::BAD_REQUEST, messages).await
}

/// Registers an application and shows its client id, and a confidential client's secret once.
pub async fn register_application(
    State(state): State<AppState>,
    headers: HeaderMap,
    client: ClientInfo,
    form: Result<Form<RegisterApplicationForm>, FormRejection>,
) -> Response {
    let Ok(Form(form)) = form else {
        return error_page(StatusCode::BAD_REQUEST, "The form was incomplete.");
    };
    let web = match signed_in_admin(&state, &headers, &form.csrf_token).await {
        Ok(web) => web,
        Err(response) => return response,
    };
    let (client_type, settings) = match form_settings(&form) {
        Ok(parsed) => parsed,
        Err(error) => return refuse(&state, &web, &error).await,
    };
    let p = &web.principal;
    let actor = p.actor(client.ip, client.user_agent);
    let registrar = Registrar {
        role: p.role,
        actor: &actor,
    };
    match register_in_store(
        &state.store,
        state.clock.now(),
        p.account.id,
        client_type,
        settings,
        registrar,
    )
    .await
    {
        Ok(registered) => {
            let messages = Messages {
                created_application: Some((
                    &registered.application,
                    registered.client_secret.as_ref(),
                )),
                ..Messages::default()
            };
            render_home(&state, &web, StatusCode::CREATED, messages).await
        }
        Err(RegisterApplicationError::Settings(e)) => refuse(&state, &web, &e.to_string()).await,
        Err(RegisterApplicationError::Store(_)) => unavailable(),
    }
}

/// Deletes an application of the admin's account.
pub async fn delete_application(
    State(state): State<AppState>,
    headers: HeaderMap,
    client: ClientInfo,
    Path(id): Path<i64>,
    form: Result<Form<DeleteApplicationForm>, FormRejection>,
) -> Response {
    let csrf = form.map(|Form(f)| f.csrf_token).unwrap_or_default();
    let web = match signed_in_admin(&state, &headers, &csrf).await {
        Ok(web) => web,
        Err(response) => return response,
    };
    let p = &web.principal;
    let app = match state.store.application_in_account(p.account.id, id).await {
        Ok(Some(app)) => app,
        Ok(None) => return error_page(StatusCode::NOT_FOUND, "No such application."),
        Err(_) => return unavailable(),
    };
    let actor = p.actor(client.ip, client.user_agent);
    if delete_in_store(&state.store, state.clock.now(), &app, &actor)
        .await
        .is_err()
    {
        return unavailable();
    }
    Redirect::to("/").into_response()
}

/// The notice shown once after registering: the client id, and a confidential client's secret
/// with a copy button.
pub fn created_notice(app: &Application, secret: Option<&Secret>) -> Markup {
    html! {
        section {
            h2 { "New application “" (app.name) "”" }
            p.muted { "Client id" }
            div.secret { code #new-client-id { (app.client_id) } button.secondary type="button" data-copy="new-client-id" { "Copy" } }
            @if let Some(secret) = secret {
                p.notice { "Copy the client secret now: it will not be shown again." }
                div.secret { code #new-client-secret { (secret.expose()) } button.secondary type="button" data-copy="new-client-secret" { "Copy" } }
                p.muted { "The application authenticates at the token endpoint with HTTP Basic (client id and secret) or in the form body." }
            } @else {
                p.muted { "A public application has no secret: it proves itself with PKCE (RFC 7636)." }
            }
        }
    }
}

/// The admin's "Applications" section: the account's applications, each with a delete button,
/// and the register form.
pub async fn applications_section(
    state: &AppState,
    principal: &Principal,
    csrf: &str,
    error: Option<&str>,
) -> Result<Markup, StoreError> {
    let all = PageRequest::new(Some(1), Some(200)).unwrap_or_default();
    let apps = state
        .store
        .list_applications(principal.account.id, all)
        .await?;
    let robots = state
        .store
        .list_members(Some(principal.account.id), Some(UserKind::Service), all)
        .await?;
    Ok(html! {
        section #applications {
            h2 { "Applications" }
            p.muted { "OAuth applications registered in " (principal.account.name) ". Users authorize them to act on their behalf." }
            @if apps.items.is_empty() { p.muted { "No applications yet." } } @else {
                table {
                    thead { tr { th { "Name" } th { "Client id" } th { "Type" } th { "Redirect URIs" } th { "Grant types" } th {} } }
                    tbody {
                        @for app in &apps.items {
                            tr {
                                td { (app.name) }
                                td { code { (app.client_id) } }
                                td { (app.client_type.as_str()) }
                                td { @for uri in &app.redirect_uris { code { (uri) } br; } }
                                td { @for grant in &app.grant_types { (grant.as_str()) br; } }
                                td {
                                    form method="post" action={ "/applications/" (app.id) "/delete" } {
                                        input type="hidden" name="csrf_token" value=(csrf);
                                        button.danger type="submit" { "Delete" }
                                    }
                                }
                            }
                        }
                    }
                }
            }
            h2 { "Register an application" }
            @if let Some(error) = error { p.error role="alert" { (error) } }
            form method="post" action="/applications" {
                input type="hidden" name="csrf_token" value=(csrf);
                label for="app-name" { "Name (shown on the consent page)" }
                input #app-name type="text" name="name" required maxlength="200";
                label for="app-type" { "Type" }
                select #app-type name="client_type" {
                    option value="confidential" { "confidential: a server that keeps a secret" }
                    option value="public" { "public: a native or browser app (PKCE, no secret)" }
                }
                label for="app-redirect-uris" { "Redirect URIs, one a line" }
                textarea #app-redirect-uris name="redirect_uris" rows="3" cols="60" placeholder="https://app.example.com/callback" {}
                p.muted { "Exact URIs: https, http only on 127.0.0.1 or [::1] (any port), or a reverse-domain scheme such as com.example.app:/cb. No fragment." }
                label { "Grant types" }
                div.inline {
                    label { input type="checkbox" name="grant_authorization_code" value="on" checked; " authorization code" }
                    label { input type="checkbox" name="grant_refresh_token" value="on" checked; " refresh token" }
                    label { input type="checkbox" name="grant_client_credentials" value="on"; " client credentials" }
                    label { input type="checkbox" name="grant_device_code" value="on"; " device code" }
                }
                label { "Scopes" }
                div.inline {
                    @for scope in Scope::ALL {
                        label { input type="checkbox" name={ "scope_" (scope.as_str()) } value="on" checked; " " (scope.as_str()) }
                    }
                }
                label for="app-service-account" { "Service account (client credentials act as it)" }
                select #app-service-account name="service_account_id" {
                    option value="" { "none" }
                    @for robot in &robots.items {
                        option value=(robot.user.id) { (robot.user.name) " (" (robot.membership.role) ")" }
                    }
                }
                label { "Permissions" }
                div.inline {
                    label { input type="checkbox" name="introspect" value="on"; " introspect this account's tokens (resource server)" }
                    label { input type="checkbox" name="implicit_allowed" value="on"; " implicit flow (discouraged)" }
                }
                p { button type="submit" { "Register application" } }
            }
        }
    })
}
