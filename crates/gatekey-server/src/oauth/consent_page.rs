//! The pages a user sees during authorization: which account, and whether to allow.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::Response;
use gatekey_core::account::Account;
use gatekey_core::oauth::authorize::AuthorizationRequest;
use gatekey_core::role::Role;
use gatekey_core::scope::ScopeSet;
use maud::{html, Markup};

use super::approval::{application_identity, registering_account, scope_list};
use crate::auth::session::WebSession;
use crate::state::AppState;
use crate::web::content_security::policy_for_form_leading_to;
use crate::web::layout::{html_response, page};
use crate::web::page_error::storage_failure_page;

fn hidden_params(request: &AuthorizationRequest) -> Markup {
    html! {
        @for (name, value) in request.to_params() {
            input type="hidden" name=(name) value=(value);
        }
    }
}

fn redirect_host(request: &AuthorizationRequest) -> String {
    url::Url::parse(&request.redirect_uri)
        .ok()
        .map(|u| format!("{}://{}", u.scheme(), u.host_str().unwrap_or("")))
        .unwrap_or_default()
}

/// Asks which of the user's accounts the application should act in.
pub fn account_choice_page(
    web: &WebSession,
    request: &AuthorizationRequest,
    accounts: &[(Role, Account)],
) -> Response {
    let body = html! {
        section.login {
            h1 { "Choose an account" }
            p { strong { (request.application.name) } " wants to act as you (" (web.principal.user.email) "). In which account?" }
            @if accounts.is_empty() { p.error { "You are not a member of any account." } } @else {
                form method="get" action="/oauth/authorize" {
                    (hidden_params(request))
                    label for="account" { "Account" }
                    select #account name="account" {
                        @for (role, account) in accounts {
                            option value=(account.slug) selected[request.account.as_deref() == Some(account.slug.as_str())] {
                                (account.name) " (" (role) ")"
                            }
                        }
                    }
                    p { button type="submit" { "Continue" } }
                }
            }
        }
    };
    html_response(
        StatusCode::OK,
        page(
            "Choose an account",
            Some((&web.principal, &web.session.csrf_token)),
            body,
        ),
    )
}

/// The consent page's Content-Security-Policy: the form may also lead to the client's
/// redirect URI.
fn consent_policy(request: &AuthorizationRequest) -> Option<HeaderValue> {
    policy_for_form_leading_to(&request.redirect_uri)
}

/// Asks the user to allow or deny the application in `account`, the one account the form
/// submits: naming it, who registered it (as a notice when another account than `account`),
/// its client id, the account and `offered`, the scopes the user's role there holds of those
/// requested, with their descriptions.
pub async fn consent_page(
    state: &AppState,
    web: &WebSession,
    request: &AuthorizationRequest,
    account: &Account,
    offered: &ScopeSet,
) -> Response {
    let found = async {
        let registrar = registering_account(state, &request.application).await?;
        Ok::<_, gatekey_core::store::StoreError>((
            registrar,
            state.scopes.catalogue(&state.store).await?,
        ))
    };
    let (registrar, catalogue) = match found.await {
        Ok(found) => found,
        Err(error) => {
            tracing::error!(%error, "storage failure on the consent page");
            return storage_failure_page();
        }
    };
    let csrf = web.session.csrf_token.as_str();
    let body = html! {
        section.login {
            h1 { "Authorize " (request.application.name) "?" }
            (application_identity(&request.application, &registrar, &[account]))
            p {
                strong { (request.application.name) } " wants to act as you (" (web.principal.user.email) ") in the account "
                strong { (account.name) } ". It will be able to:"
            }
            (scope_list(offered, &catalogue))
            p.muted { "You will be sent back to " code { (redirect_host(request)) } ". You can revoke this at any time under Authorized applications." }
            form method="post" action="/oauth/authorize" {
                (hidden_params(request))
                input type="hidden" name="account" value=(account.slug);
                input type="hidden" name="csrf_token" value=(csrf);
                p {
                    button type="submit" name="decision" value="allow" { "Allow" }
                    " "
                    button.secondary type="submit" name="decision" value="deny" { "Deny" }
                }
            }
        }
    };
    let mut response = html_response(
        StatusCode::OK,
        page(
            "Authorize an application",
            Some((&web.principal, csrf)),
            body,
        ),
    );
    if let Some(policy) = consent_policy(request) {
        response
            .headers_mut()
            .insert(header::CONTENT_SECURITY_POLICY, policy);
    }
    response
}
