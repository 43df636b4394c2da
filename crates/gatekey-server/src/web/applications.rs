//! `POST /applications` (register an application, its secret shown once) and
//! `POST /applications/{id}/delete`, for admins. The section that shows them is in
//! `applications_section`.

use std::collections::HashMap;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use gatekey_core::oauth::admin::{
    delete_application as delete_in_store, register_application as register_in_store,
    DeleteApplicationError, RegisterApplicationError, Registrar,
};
use gatekey_core::oauth::application::{
    AccessTokenFormat, ApplicationInputError, ApplicationSettings, ClientType, GrantType,
};
use gatekey_core::oauth::application_tokens::DEFAULT_ID_TOKEN_ALG;
use gatekey_core::oauth::store::ApplicationStore;
use gatekey_core::scope_catalogue::ScopeCatalogue;
use serde::Deserialize;

use super::csrf_form::{CsrfChecked, CsrfForm};
use super::home::{render_home, Messages};
use super::page_error::PageError;
use super::scope_boxes::ticked_scopes;
use super::signed_in::SignedInAdmin;
use crate::auth::session::WebSession;
use crate::auth::ClientInfo;
use crate::state::AppState;

/// The register form. Checkboxes are present only when ticked.
#[derive(Deserialize)]
pub struct RegisterApplicationForm {
    name: String,
    client_type: String,
    /// One redirect URI a line.
    #[serde(default)]
    redirect_uris: String,
    grant_authorization_code: Option<String>,
    grant_refresh_token: Option<String>,
    grant_client_credentials: Option<String>,
    grant_device_code: Option<String>,
    implicit_allowed: Option<String>,
    introspect: Option<String>,
    verify_keys: Option<String>,
    /// A user id, or empty for none.
    #[serde(default)]
    service_account_id: String,
    /// The ticked `scope_<name>` boxes, among the other fields.
    #[serde(flatten)]
    boxes: HashMap<String, String>,
}

/// The settings a form asks for, or why it cannot be read.
fn form_settings(
    form: &RegisterApplicationForm,
    catalogue: &ScopeCatalogue,
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
    let scopes = ticked_scopes(&form.boxes, catalogue).map_err(|e| e.to_string())?;
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
        verify_keys: form.verify_keys.is_some(),
        service_account_id,
        // The register form asks only for what every application needs; the token settings
        // take their defaults and are changed through the API or the operator commands.
        id_token_signed_response_alg: DEFAULT_ID_TOKEN_ALG,
        access_token_format: AccessTokenFormat::default(),
        resources: Vec::new(),
        post_logout_redirect_uris: Vec::new(),
    };
    Ok((client_type, settings))
}

/// The home page again, with why the register form was refused.
async fn refuse(state: &AppState, web: &WebSession, error: &str) -> Result<Response, PageError> {
    let messages = Messages {
        application_error: Some(error),
        ..Messages::default()
    };
    render_home(state, web, StatusCode::BAD_REQUEST, messages).await
}

/// Registers an application and shows its client id, and a confidential client's secret once.
pub async fn register_application(
    State(state): State<AppState>,
    client: ClientInfo,
    form: CsrfForm<RegisterApplicationForm, SignedInAdmin>,
) -> Result<Response, PageError> {
    let CsrfForm {
        signed_in: SignedInAdmin(web),
        fields: form,
    } = form;
    let catalogue = state.scopes.catalogue(&state.store).await?;
    let (client_type, settings) = match form_settings(&form, &catalogue) {
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
        Err(RegisterApplicationError::Store(error)) => Err(error.into()),
    }
}

/// Deletes an application of the admin's account.
pub async fn delete_application(
    State(state): State<AppState>,
    client: ClientInfo,
    Path(id): Path<i64>,
    CsrfChecked(SignedInAdmin(web)): CsrfChecked<SignedInAdmin>,
) -> Result<Response, PageError> {
    let p = &web.principal;
    let no_such_application = || PageError::refused(StatusCode::NOT_FOUND, "No such application.");
    let app = state
        .store
        .application_in_account(p.account.id, id)
        .await?
        .ok_or_else(no_such_application)?;
    let actor = p.actor(client.ip, client.user_agent);
    match delete_in_store(&state.store, state.clock.now(), &app, &actor).await {
        Ok(()) => {}
        Err(DeleteApplicationError::NotFound) => return Err(no_such_application()),
        Err(DeleteApplicationError::Store(error)) => return Err(error.into()),
    }
    Ok(Redirect::to("/").into_response())
}
