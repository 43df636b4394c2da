//! The REST API under `/api/v1`. Every route passes [`crate::auth::require_caller`] first.

mod api_keys;
mod applications;
mod audits;
mod authorizations;
mod invitations;
mod me;
mod paging;
mod roles;
pub mod scope_views;
mod scopes;
mod service_accounts;
mod user_api_keys;
mod users;
pub mod views;

use axum::routing::{delete, get};
use axum::Router;

use crate::state::AppState;

/// The API's routes (authentication is layered on by the caller).
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/me", get(me::show_me))
        .route(
            "/api/v1/api_keys",
            get(api_keys::list_api_keys).post(api_keys::create_api_key),
        )
        .route("/api/v1/api_keys/{id}", delete(api_keys::revoke_api_key))
        .route(
            "/api/v1/users",
            get(users::list_users).post(users::create_user),
        )
        .route(
            "/api/v1/users/{id}",
            get(users::show_user).patch(users::update_user),
        )
        .route(
            "/api/v1/users/{id}/api_keys",
            get(user_api_keys::list_user_api_keys).post(user_api_keys::create_user_api_key),
        )
        .route(
            "/api/v1/service_accounts",
            get(service_accounts::list_service_accounts)
                .post(service_accounts::create_service_account),
        )
        .route(
            "/api/v1/service_accounts/{id}",
            delete(service_accounts::disable_service_account),
        )
        .route("/api/v1/audits", get(audits::list_audits))
        .route("/api/v1/invitations", get(invitations::list_invitations))
        .route(
            "/api/v1/invitations/{id}",
            delete(invitations::withdraw_invitation),
        )
        .merge(applications::routes())
        .merge(authorizations::routes())
        .merge(scopes::routes())
        .merge(roles::routes())
}
