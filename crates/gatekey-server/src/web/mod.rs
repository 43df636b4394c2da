//! Server-rendered pages: sign in, your API keys, and (for admins) members, OAuth applications
//! and the audit log.

mod account_switch;
mod applications;
mod applications_section;
mod assets;
pub(crate) mod content_security;
pub(crate) mod csrf;
pub(crate) mod csrf_form;
mod home;
mod invitation;
mod key_roll;
mod key_rows;
mod keys;
pub(crate) mod layout;
pub(crate) mod login;
pub(crate) mod logout;
pub(crate) mod page_error;
mod password;
mod password_page;
mod roles_page;
mod scope_boxes;
mod scope_catalogue_page;
mod session_start;
pub(crate) mod signed_in;

use axum::routing::{get, post};
use axum::Router;

use crate::state::AppState;

/// The web pages' routes.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/", get(home::show_home))
        .route("/login", get(login::show_login).post(login::submit_login))
        .route("/logout", post(logout::submit_logout))
        .route("/logout/everywhere", post(logout::submit_logout_everywhere))
        .route("/account", post(account_switch::switch_account))
        .route(
            "/password",
            get(password_page::show_password_page).post(password::change_password),
        )
        .route("/keys", post(keys::create_key))
        .route("/keys/{id}/revoke", post(keys::revoke_key))
        .route("/keys/{id}/roll", post(key_roll::roll_key))
        .route("/applications", post(applications::register_application))
        .route(
            "/applications/{id}/delete",
            post(applications::delete_application),
        )
        .route(
            "/scopes",
            get(scope_catalogue_page::show_scopes).post(scope_catalogue_page::create_scope),
        )
        .route("/scopes/{name}", post(scope_catalogue_page::update_scope))
        .route(
            "/scopes/{name}/delete",
            post(scope_catalogue_page::delete_scope),
        )
        .route("/roles", get(roles_page::show_roles))
        .route("/roles/{role}", post(roles_page::map_role_scopes))
        .route("/roles/{role}/reset", post(roles_page::reset_role_scopes))
        .route("/invitations/{code}", get(invitation::show_invitation))
        .route(
            "/invitations/{code}/accept",
            post(invitation::accept_invitation),
        )
        .route(
            "/invitations/{code}/decline",
            post(invitation::decline_invitation),
        )
        .route(
            "/invitations/{code}/register",
            post(invitation::register_invited_person),
        )
        .route("/static/app.css", get(assets::stylesheet))
        .route("/static/app.js", get(assets::script))
}
