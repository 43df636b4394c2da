//! The REST API under `/api/v1`. Every route passes [`crate::auth::require_caller`] first,
//! except the OpenAPI document ([`openapi`]), which describes the API and holds no secret.

mod api_key_roll;
mod api_key_update;
mod api_keys;
mod applications;
mod audits;
mod authorizations;
mod expiring_within;
mod invitations;
mod key_usage_input;
mod keys_verify;
mod me;
pub mod openapi;
mod paging;
mod roles;
pub mod scope_views;
mod scopes;
mod service_accounts;
mod user_api_keys;
mod users;
pub mod views;

use axum::Router;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::state::AppState;

/// The API's routes (authentication is layered on by the caller).
pub fn routes() -> Router<AppState> {
    authenticated_routes().split_for_parts().0
}

/// The API's routes that authenticate their callers themselves, outside the layer of
/// [`routes`]: the verify API, which an application calls with its client secret.
pub fn self_authenticating_routes() -> Router<AppState> {
    self_authenticating().split_for_parts().0
}

fn self_authenticating() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(keys_verify::verify_key))
}

/// Every route of the API with its OpenAPI operation, for the document.
fn documented_routes() -> OpenApiRouter<AppState> {
    authenticated_routes().merge(self_authenticating())
}

/// The API's routes behind its authentication layer, together with their OpenAPI operations.
/// Each is registered with `routes!`, which takes the path and method from the handler's
/// `#[utoipa::path]`: a handler without one does not compile, so the document cannot miss a
/// route or name a wrong path.
fn authenticated_routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(me::show_me))
        .routes(routes!(api_keys::list_api_keys, api_keys::create_api_key))
        .routes(routes!(
            api_keys::revoke_api_key,
            api_key_update::update_api_key
        ))
        .routes(routes!(api_key_roll::roll_api_key))
        .routes(routes!(users::list_users, users::create_user))
        .routes(routes!(users::show_user, users::update_user))
        .routes(routes!(
            user_api_keys::list_user_api_keys,
            user_api_keys::create_user_api_key
        ))
        .routes(routes!(
            service_accounts::list_service_accounts,
            service_accounts::create_service_account
        ))
        .routes(routes!(service_accounts::disable_service_account))
        .routes(routes!(audits::list_audits))
        .routes(routes!(invitations::list_invitations))
        .routes(routes!(invitations::withdraw_invitation))
        .merge(applications::routes())
        .merge(authorizations::routes())
        .merge(scopes::routes())
        .merge(roles::routes())
}
