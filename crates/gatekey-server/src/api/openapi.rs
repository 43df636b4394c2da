//! The OpenAPI 3.1 document of the REST API, served at `GET /api/v1/openapi.json` without a
//! credential. The operations come from the handlers' `#[utoipa::path]` annotations, collected
//! by [`super::documented_routes`]; this file adds what every operation shares (the Bearer
//! scheme, the errors the authentication layer answers, the rate-limit headers) and the links
//! from each created resource to the operations on it.

use axum::body::Bytes;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use gatekey_proto::ErrorBody;
use utoipa::openapi::header::HeaderBuilder;
use utoipa::openapi::link::LinkBuilder;
use utoipa::openapi::path::Operation;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::server::Server;
use utoipa::openapi::{ContentBuilder, Object, Ref, RefOr, Response as ApiResponse};
use utoipa::openapi::{ResponseBuilder, Type};
use utoipa::{Modify, OpenApi};

use crate::error::ApiError;
use crate::state::AppState;

/// Where the document is served.
pub const DOCUMENT_PATH: &str = "/api/v1/openapi.json";

/// The name of the security scheme every protected operation requires (as `security` names
/// it in [`ApiDoc`]).
const BEARER: &str = "bearer";

/// The name of the scheme of an OAuth application's client credentials (`client_secret_basic`,
/// RFC 6749 §2.3.1), which the verify API also takes.
const BASIC: &str = "basic";

/// What the document says besides its operations.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "gatekey REST API",
        description = "Manage the users, API keys, OAuth applications and scopes of a gatekey \
            account. Every operation but this document needs `Authorization: Bearer` with an API \
            key or an OAuth access token; errors are `{\"error\", \"error_description\"}`."
    ),
    paths(serve_document),
    components(schemas(ErrorBody)),
    modifiers(&BearerScheme),
    security(("bearer" = [])),
)]
struct ApiDoc;

/// The document for a server whose issuer (public base URL) is `issuer`, before [`render`]
/// writes it.
fn document(issuer: &str) -> utoipa::openapi::OpenApi {
    let (_, operations) = super::documented_routes().split_for_parts();
    let mut doc = ApiDoc::openapi();
    doc.merge(operations);
    doc.servers = Some(vec![Server::new(issuer)]);
    for item in doc.paths.paths.values_mut() {
        let operations = [
            &mut item.get,
            &mut item.post,
            &mut item.put,
            &mut item.patch,
            &mut item.delete,
        ];
        for operation in operations.into_iter().filter_map(Option::as_mut) {
            if !is_public(operation) {
                add_shared_responses(operation);
            }
            add_links(operation);
        }
    }
    doc
}

/// Where a created resource's answer (201) leads (OpenAPI links): (the creating operation, the
/// operation it leads to, that operation's path parameter, where the value is in the answer's
/// body). A client, or a tester such as schemathesis, follows them to act on what it just made.
const LINKS: &[(&str, &str, &str, &str)] = &[
    ("create_api_key", "revoke_api_key", "id", "/id"),
    ("create_api_key", "roll_api_key", "id", "/id"),
    ("create_api_key", "update_api_key", "id", "/id"),
    ("create_user", "withdraw_invitation", "id", "/invitation/id"),
    ("create_service_account", "show_user", "id", "/id"),
    ("create_service_account", "update_user", "id", "/id"),
    ("create_service_account", "list_user_api_keys", "id", "/id"),
    ("create_service_account", "create_user_api_key", "id", "/id"),
    (
        "create_service_account",
        "disable_service_account",
        "id",
        "/id",
    ),
    ("create_application", "show_application", "id", "/id"),
    ("create_application", "update_application", "id", "/id"),
    (
        "create_application",
        "rotate_application_secret",
        "id",
        "/id",
    ),
    ("create_application", "delete_application", "id", "/id"),
    ("create_scope", "update_scope", "name", "/name"),
    ("create_scope", "delete_scope", "name", "/name"),
];

fn add_links(operation: &mut Operation) {
    let Some(id) = operation.operation_id.clone() else {
        return;
    };
    let Some(RefOr::T(created)) = operation.responses.responses.get_mut("201") else {
        return;
    };
    for &(from, to, parameter, pointer) in LINKS {
        if from == id {
            let link = LinkBuilder::new()
                .operation_id(to)
                .parameter(parameter, format!("$response.body#{pointer}"))
                .build();
            created.links.insert(to.to_owned(), RefOr::T(link));
        }
    }
}

/// utoipa 5 writes a Link object's fields as the Rust fields are named (`operation_id`,
/// `request_body`), where OpenAPI names them `operationId` and `requestBody` (OpenAPI 3.1 §4.8.20):
/// renamed here, in the written document.
fn name_link_fields(document: &mut serde_json::Value) {
    let Some(paths) = document.get_mut("paths").and_then(|p| p.as_object_mut()) else {
        return;
    };
    let links = paths
        .values_mut()
        .filter_map(|item| item.as_object_mut())
        .flat_map(|item| item.values_mut())
        .filter_map(|operation| operation.get_mut("responses")?.as_object_mut())
        .flat_map(|responses| responses.values_mut())
        .filter_map(|response| response.get_mut("links")?.as_object_mut())
        .flat_map(|links| links.values_mut())
        .filter_map(|link| link.as_object_mut());
    for link in links {
        for (written, named) in [
            ("operation_id", "operationId"),
            ("request_body", "requestBody"),
        ] {
            if let Some(value) = link.remove(written) {
                link.insert(named.to_owned(), value);
            }
        }
    }
}

/// The route of the document, rendered once here: it changes only with the code and the
/// issuer, so every request is answered from memory.
pub fn route(issuer: &str) -> Router<AppState> {
    let rendered = match render(issuer) {
        Ok(json) => Some(json),
        Err(error) => {
            tracing::error!(%error, "the OpenAPI document could not be written");
            None
        }
    };
    Router::new().route(DOCUMENT_PATH, get(move || serve_document(rendered.clone())))
}

/// The document as JSON.
fn render(issuer: &str) -> Result<Bytes, serde_json::Error> {
    let mut value = serde_json::to_value(document(issuer))?;
    name_link_fields(&mut value);
    Ok(Bytes::from(serde_json::to_vec(&value)?))
}

/// Serves this document. Needs no credential: it describes the API and holds no secret.
#[utoipa::path(
    get,
    path = "/api/v1/openapi.json",
    tag = "openapi",
    security(()),
    responses((status = 200, description = "This document", content_type = "application/json",
        body = Object))
)]
async fn serve_document(rendered: Option<Bytes>) -> Response {
    match rendered {
        Some(json) => ([(header::CONTENT_TYPE, "application/json")], json).into_response(),
        None => ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "server_error",
            "the API description is unavailable; see the server log",
        )
        .into_response(),
    }
}

/// Declares the Bearer scheme: an API key (`gk_key_…`) or an OAuth access token (RFC 6750).
struct BearerScheme;

impl Modify for BearerScheme {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let scheme = HttpBuilder::new()
            .scheme(HttpAuthScheme::Bearer)
            .description(Some(
                "An API key, or an OAuth access token issued by this server (RFC 6750 §2.1)",
            ))
            .build();
        let basic = HttpBuilder::new()
            .scheme(HttpAuthScheme::Basic)
            .description(Some(
                "An OAuth application's client id and secret (client_secret_basic, RFC 6749 \
                 §2.3.1): only `POST /api/v1/keys/verify` takes it, from a confidential \
                 application with the verify_keys permission",
            ))
            .build();
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(BEARER, SecurityScheme::Http(scheme));
        components.add_security_scheme(BASIC, SecurityScheme::Http(basic));
    }
}

/// An operation that overrides the document's security with "none".
fn is_public(operation: &Operation) -> bool {
    operation
        .security
        .as_ref()
        .is_some_and(|requirements| requirements.iter().any(|r| *r == Default::default()))
}

/// The answers every protected operation may give before or around its handler: the
/// authentication layer's 400 and 401, a missing scope's 403, the rate limit's 429, a storage
/// failure's 503, and for a JSON body the extractor's 413, 415 and 422. A status the handler's
/// annotation already describes keeps that description. Every answer after authentication
/// carries the rate-limit headers while a limit is configured.
fn add_shared_responses(operation: &mut Operation) {
    let mut shared = vec![
        ("400", "A malformed request or Authorization header"),
        (
            "401",
            "No credential, or one that is unknown, expired or revoked",
        ),
        (
            "403",
            "The credential lacks the scope (`insufficient_scope`) or the role does not allow it",
        ),
        (
            "429",
            "A rate limit (the account's, or the API key's own) is spent (`rate_limited`), or \
             the API key has no credits left (`usage_exceeded`); see Retry-After",
        ),
        ("503", "Storage is unavailable; see Retry-After"),
    ];
    if operation.request_body.is_some() {
        shared.extend([
            ("413", "The request body is too large"),
            ("415", "The body is not sent as application/json"),
            ("422", "The JSON does not fit the request's schema"),
        ]);
    }
    let responses = &mut operation.responses.responses;
    for (status, description) in shared {
        responses
            .entry(status.to_owned())
            .or_insert_with(|| RefOr::T(error_response(status, description)));
    }
    for (status, response) in responses.iter_mut() {
        if let RefOr::T(response) = response {
            if status != "401" {
                add_rate_limit_headers(response);
            }
        }
    }
}

fn error_response(status: &str, description: &str) -> ApiResponse {
    let mut response = ResponseBuilder::new().description(description).content(
        "application/json",
        ContentBuilder::new()
            .schema(Some(Ref::from_schema_name("ErrorBody")))
            .build(),
    );
    if status == "429" || status == "503" {
        response = response.header(
            "Retry-After",
            HeaderBuilder::new()
                .schema(Object::with_type(Type::Integer))
                .description(Some("Seconds to wait before retrying"))
                .build(),
        );
    }
    response.build()
}

fn add_rate_limit_headers(response: &mut ApiResponse) {
    let headers = [
        (
            "X-Ratelimit-Limit",
            "Requests allowed in the current window",
        ),
        (
            "X-Ratelimit-Remaining",
            "Requests left in the current window",
        ),
        (
            "X-Ratelimit-Reset",
            "When the current window ends, in Unix seconds",
        ),
    ];
    for (name, description) in headers {
        response.headers.entry(name.to_owned()).or_insert_with(|| {
            HeaderBuilder::new()
                .schema(Object::with_type(Type::Integer))
                .description(Some(description))
                .build()
        });
    }
}
