//! `GET /oauth/authorized_applications`: the applications the signed-in user has authorized in
//! the current account, each with a button that revokes it and nothing else.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::Router;
use gatekey_core::oauth::store::GrantStore;
use maud::html;

use super::grants::revoke_application_for;
use crate::auth::ClientInfo;
use crate::state::AppState;
use crate::web::csrf_form::CsrfChecked;
use crate::web::layout::{display_time, error_page, html_response, page};
use crate::web::page_error::PageError;
use crate::web::signed_in::SignedIn;

/// The page's routes.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route(
            "/oauth/authorized_applications",
            get(show_authorized_applications),
        )
        .route(
            "/oauth/authorized_applications/{client_id}/revoke",
            post(revoke_authorized_application),
        )
}

async fn show_authorized_applications(
    State(state): State<AppState>,
    signed_in: Result<SignedIn, PageError>,
) -> Response {
    let SignedIn(web) = match signed_in {
        Ok(signed_in) => signed_in,
        Err(refused) => {
            return refused
                .returning_to("/oauth/authorized_applications")
                .into_response()
        }
    };
    let p = &web.principal;
    let grants = match state.store.grants_of_user(p.user.id, p.account.id).await {
        Ok(grants) => grants,
        Err(error) => return PageError::Store(error).into_response(),
    };
    let csrf = web.session.csrf_token.as_str();
    let body = html! {
        section {
            h1 { "Authorized applications" }
            p.muted { "Applications that act as you (" (p.user.email) ") in " (p.account.name) ". Revoking one ends its access at once and leaves the others alone." }
            @if grants.is_empty() { p.muted { "You have not authorized any application in this account." } } @else {
                table {
                    thead { tr { th { "Application" } th { "Client id" } th { "Scopes" } th { "Authorized" } th {} } }
                    tbody {
                        @for (grant, app) in &grants {
                            tr {
                                td { (app.name) }
                                td { code { (app.client_id) } }
                                td { (grant.scopes) }
                                td { (display_time(grant.created_at)) }
                                td {
                                    form method="post" action={ "/oauth/authorized_applications/" (app.client_id) "/revoke" } {
                                        input type="hidden" name="csrf_token" value=(csrf);
                                        button.danger type="submit" { "Revoke" }
                                    }
                                }
                            }
                        }
                    }
                }
            }
            p { a href="/" { "Back to your API keys" } }
        }
    };
    html_response(
        StatusCode::OK,
        page("Authorized applications", Some((p, csrf)), body),
    )
}

async fn revoke_authorized_application(
    State(state): State<AppState>,
    client: ClientInfo,
    Path(client_id): Path<String>,
    CsrfChecked(SignedIn(web)): CsrfChecked,
) -> Response {
    let actor = web.principal.actor(client.ip, client.user_agent);
    match revoke_application_for(&state, &web.principal, &client_id, &actor).await {
        Ok(true) => Redirect::to("/oauth/authorized_applications").into_response(),
        Ok(false) => error_page(
            StatusCode::NOT_FOUND,
            "You have not authorized that application.",
        ),
        Err(error) => PageError::Store(error).into_response(),
    }
}
