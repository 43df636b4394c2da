//! `/api/v1/applications`: the OAuth applications (clients) of the caller's account, for admins.
//!
//! `PATCH /api/v1/applications/{id}` changes only the fields it is sent; there is no `PUT`
//! (answered 405), since the client id and the client type of an application never change and
//! a full replacement would have to restate them. Another account's application answers 404,
//! like one that does not exist.

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use gatekey_core::oauth::admin::{
    delete_application as delete_in_store, parse_grant_types,
    register_application as register_in_store, rotate_secret as rotate_in_store,
    update_application as update_in_store, ApplicationChanges, DeleteApplicationError,
    RegisterApplicationError, Registrar, RotateSecretError, ServiceAccountLinkError, SettingsError,
    UpdateApplicationError,
};
use gatekey_core::oauth::application::{
    AccessTokenFormat, Application, ApplicationInputError, ApplicationSettings, ClientType,
    GrantType, SigningAlgorithm,
};
use gatekey_core::oauth::application_tokens::{parse_id_token_alg, DEFAULT_ID_TOKEN_ALG};
use gatekey_core::oauth::store::ApplicationStore;
use gatekey_core::scope::{Scope, ScopeSet};
use gatekey_proto::api::{
    ApplicationList, ApplicationView, CreateApplicationRequest, CreatedApplication, RotatedSecret,
    UpdateApplicationRequest,
};
use gatekey_proto::ErrorBody;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::paging::{PageQuery, Paging};
use super::views::{application_view, pagination};
use crate::auth::Caller;
use crate::error::ApiError;
use crate::json::Json;
use crate::path::Path;
use crate::state::AppState;

/// Grant types of an application registered without any: the code flow with refresh tokens.
const DEFAULT_GRANT_TYPES: [GrantType; 2] = [GrantType::AuthorizationCode, GrantType::RefreshToken];

/// This resource's routes.
pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_applications, create_application))
        .routes(routes!(
            show_application,
            update_application,
            delete_application
        ))
        .routes(routes!(rotate_application_secret))
}

fn registrar<'a>(caller: &Caller, actor: &'a gatekey_core::audit::Actor) -> Registrar<'a> {
    Registrar {
        role: caller.principal.role,
        actor,
    }
}

/// The application `id` of the caller's account, or 404.
async fn find_application(
    state: &AppState,
    caller: &Caller,
    id: i64,
) -> Result<Application, ApiError> {
    state
        .store
        .application_in_account(caller.principal.account.id, id)
        .await?
        .ok_or_else(|| ApiError::not_found("application"))
}

/// The scopes an application may have: each a built-in or a catalogue scope (`invalid_scope`
/// otherwise); none named means every scope the catalogue has now.
async fn application_scopes(
    state: &AppState,
    names: Option<&[String]>,
) -> Result<ScopeSet, ApiError> {
    let catalogue = state.scopes.catalogue(&state.store).await?;
    match names {
        Some(names) => catalogue
            .names_input(names)
            .map_err(|e| ApiError::invalid_scope(e.to_string())),
        None => Ok(catalogue.every_scope()),
    }
}

fn parse_grants(names: &[String]) -> Result<Vec<GrantType>, ApiError> {
    parse_grant_types(names).map_err(|e| ApiError::bad_request(e.to_string()))
}

/// An `id_token_signed_response_alg` (`invalid_request` if gatekey cannot sign with it).
fn parse_alg(name: &str) -> Result<SigningAlgorithm, ApiError> {
    parse_id_token_alg(name).map_err(|e| ApiError::bad_request(e.to_string()))
}

/// An `access_token_format` (`invalid_request` unless `opaque` or `jwt`).
fn parse_format(name: &str) -> Result<AccessTokenFormat, ApiError> {
    name.parse().map_err(
        |e: gatekey_core::oauth::application_tokens::UnknownAccessTokenFormat| {
            ApiError::bad_request(e.to_string())
        },
    )
}

fn settings_error(error: SettingsError) -> ApiError {
    match error {
        SettingsError::ServiceAccount(e @ ServiceAccountLinkError::HigherRole(..)) => {
            ApiError::forbidden(e.to_string())
        }
        // RFC 7591 §3.2.2 names the error of a refused redirect URI.
        SettingsError::Input(e) if e.is_redirect_uri_error() => ApiError::new(
            StatusCode::BAD_REQUEST,
            "invalid_redirect_uri",
            e.to_string(),
        ),
        other => ApiError::bad_request(other.to_string()),
    }
}

/// The application is linked to a service account the caller may not act for.
fn linked_error(error: ServiceAccountLinkError) -> ApiError {
    match error {
        ServiceAccountLinkError::HigherRole(..) => ApiError::forbidden(format!(
            "this application acts as a service account ranking above you: {error}"
        )),
        other => ApiError::conflict(format!(
            "this application's service account can no longer be used: {other}"
        )),
    }
}

/// Lists the caller's account's applications, oldest first.
#[utoipa::path(
    get,
    path = "/api/v1/applications",
    tag = "applications",
    params(PageQuery),
    responses((status = 200, description = "One page of applications", body = ApplicationList))
)]
async fn list_applications(
    State(state): State<AppState>,
    caller: Caller,
    Paging(page): Paging,
) -> Result<Response, ApiError> {
    caller.require(Scope::Admin)?;
    let found = state
        .store
        .list_applications(caller.principal.account.id, page)
        .await?;
    Ok(Json(ApplicationList {
        pagination: pagination(&found),
        applications: found.items.iter().map(application_view).collect(),
    })
    .into_response())
}

/// Registers an application in the caller's account; a confidential client's secret is in the
/// answer, and nowhere else ever again.
#[utoipa::path(
    post,
    path = "/api/v1/applications",
    tag = "applications",
    request_body = CreateApplicationRequest,
    responses(
        (status = 201, description = "The application, with a confidential client's secret shown this once",
            body = CreatedApplication,
            headers(("Location" = String, description = "The application's URL"))),
        (status = 400, description = "A bad setting: `invalid_request`, `invalid_scope` or `invalid_redirect_uri`", body = ErrorBody),
        (status = 403, description = "The linked service account ranks above the caller", body = ErrorBody),
    )
)]
async fn create_application(
    State(state): State<AppState>,
    caller: Caller,
    Json(body): Json<CreateApplicationRequest>,
) -> Result<Response, ApiError> {
    caller.require_first_party_with(Scope::Admin)?;
    let client_type: ClientType = body
        .client_type
        .parse()
        .map_err(|e: ApplicationInputError| ApiError::bad_request(e.to_string()))?;
    let grant_types = match &body.grant_types {
        Some(names) => parse_grants(names)?,
        None => DEFAULT_GRANT_TYPES.to_vec(),
    };
    let scopes = application_scopes(&state, body.scopes.as_deref()).await?;
    let settings = ApplicationSettings {
        name: body.name,
        redirect_uris: body.redirect_uris,
        grant_types,
        scopes,
        implicit_allowed: body.implicit_allowed,
        introspect: body.introspect,
        verify_keys: body.verify_keys,
        service_account_id: body.service_account_id,
        id_token_signed_response_alg: match body.id_token_signed_response_alg.as_deref() {
            Some(name) => parse_alg(name)?,
            None => DEFAULT_ID_TOKEN_ALG,
        },
        access_token_format: match body.access_token_format.as_deref() {
            Some(name) => parse_format(name)?,
            None => AccessTokenFormat::default(),
        },
        resources: body.resources,
        post_logout_redirect_uris: body.post_logout_redirect_uris,
    };
    let actor = caller.actor();
    let registered = register_in_store(
        &state.store,
        state.clock.now(),
        caller.principal.account.id,
        client_type,
        settings,
        registrar(&caller, &actor),
    )
    .await
    .map_err(|e| match e {
        RegisterApplicationError::Settings(e) => settings_error(e),
        RegisterApplicationError::Store(e) => e.into(),
    })?;
    let location = format!("/api/v1/applications/{}", registered.application.id);
    let body = CreatedApplication {
        application: application_view(&registered.application),
        client_secret: registered
            .client_secret
            .as_ref()
            .map(|secret| secret.expose().to_owned()),
    };
    Ok((
        StatusCode::CREATED,
        [(header::LOCATION, location)],
        Json(body),
    )
        .into_response())
}

/// Shows one application of the caller's account.
#[utoipa::path(
    get,
    path = "/api/v1/applications/{id}",
    tag = "applications",
    params(("id" = i64, Path, description = "Application id")),
    responses(
        (status = 200, description = "The application", body = ApplicationView),
        (status = 404, description = "No such application in the caller's account", body = ErrorBody),
    )
)]
async fn show_application(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
) -> Result<Response, ApiError> {
    caller.require(Scope::Admin)?;
    let app = find_application(&state, &caller, id).await?;
    Ok(Json(application_view(&app)).into_response())
}

/// Changes the fields of an application that the body names.
#[utoipa::path(
    patch,
    path = "/api/v1/applications/{id}",
    tag = "applications",
    params(("id" = i64, Path, description = "Application id")),
    request_body = UpdateApplicationRequest,
    responses(
        (status = 200, description = "The changed application", body = ApplicationView),
        (status = 400, description = "A bad setting: `invalid_request`, `invalid_scope` or `invalid_redirect_uri`", body = ErrorBody),
        (status = 403, description = "A service account ranking above the caller", body = ErrorBody),
        (status = 404, description = "No such application in the caller's account", body = ErrorBody),
        (status = 409, description = "Its service account can no longer be used", body = ErrorBody),
    )
)]
async fn update_application(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
    Json(body): Json<UpdateApplicationRequest>,
) -> Result<Response, ApiError> {
    caller.require_first_party_with(Scope::Admin)?;
    let app = find_application(&state, &caller, id).await?;
    if let Some(client_type) = &body.client_type {
        if client_type != app.client_type.as_str() {
            return Err(ApiError::bad_request(
                "client_type cannot be changed; register a new application instead",
            ));
        }
    }
    let changes = ApplicationChanges {
        name: body.name,
        redirect_uris: body.redirect_uris,
        grant_types: body.grant_types.as_deref().map(parse_grants).transpose()?,
        scopes: match body.scopes.as_deref() {
            Some(names) => Some(application_scopes(&state, Some(names)).await?),
            None => None,
        },
        implicit_allowed: body.implicit_allowed,
        introspect: body.introspect,
        verify_keys: body.verify_keys,
        service_account_id: body.service_account_id,
        id_token_signed_response_alg: body
            .id_token_signed_response_alg
            .as_deref()
            .map(parse_alg)
            .transpose()?,
        access_token_format: body
            .access_token_format
            .as_deref()
            .map(parse_format)
            .transpose()?,
        resources: body.resources,
        post_logout_redirect_uris: body.post_logout_redirect_uris,
    };
    let actor = caller.actor();
    let updated = update_in_store(
        &state.store,
        state.clock.now(),
        &app,
        changes,
        registrar(&caller, &actor),
    )
    .await
    .map_err(|e| match e {
        UpdateApplicationError::Settings(e) => settings_error(e),
        UpdateApplicationError::Linked(e) => linked_error(e),
        UpdateApplicationError::NotFound => ApiError::not_found("application"),
        UpdateApplicationError::Store(e) => e.into(),
    })?;
    Ok(Json(application_view(&updated)).into_response())
}

/// Deletes an application: every grant, code and token of it is revoked.
#[utoipa::path(
    delete,
    path = "/api/v1/applications/{id}",
    tag = "applications",
    params(("id" = i64, Path, description = "Application id")),
    responses(
        (status = 204, description = "Deleted; its grants and tokens are revoked"),
        (status = 404, description = "No such application in the caller's account", body = ErrorBody),
    )
)]
async fn delete_application(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
) -> Result<Response, ApiError> {
    caller.require_first_party_with(Scope::Admin)?;
    let app = find_application(&state, &caller, id).await?;
    delete_in_store(&state.store, state.clock.now(), &app, &caller.actor())
        .await
        .map_err(|e| match e {
            DeleteApplicationError::NotFound => ApiError::not_found("application"),
            DeleteApplicationError::Store(e) => e.into(),
        })?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// Gives a confidential application a new secret, shown once; the previous one keeps working
/// for the grace period (`previous_secret_expires_at` in the answer).
#[utoipa::path(
    post,
    path = "/api/v1/applications/{id}/rotate_secret",
    tag = "applications",
    params(("id" = i64, Path, description = "Application id")),
    responses(
        (status = 200, description = "The new secret, shown this once", body = RotatedSecret),
        (status = 403, description = "It acts as a service account ranking above the caller", body = ErrorBody),
        (status = 404, description = "No such application in the caller's account", body = ErrorBody),
        (status = 409, description = "A public client has no secret, or its service account can no longer be used", body = ErrorBody),
    )
)]
async fn rotate_application_secret(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
) -> Result<Response, ApiError> {
    caller.require_first_party_with(Scope::Admin)?;
    let app = find_application(&state, &caller, id).await?;
    let actor = caller.actor();
    let (rotated, secret) = rotate_in_store(
        &state.store,
        state.clock.now(),
        &app,
        registrar(&caller, &actor),
    )
    .await
    .map_err(|e| match e {
        RotateSecretError::PublicClient => ApiError::conflict(e.to_string()),
        RotateSecretError::Linked(e) => linked_error(e),
        RotateSecretError::NotFound => ApiError::not_found("application"),
        RotateSecretError::Store(e) => e.into(),
    })?;
    Ok(Json(RotatedSecret {
        application: application_view(&rotated),
        client_secret: secret.expose().to_owned(),
    })
    .into_response())
}
