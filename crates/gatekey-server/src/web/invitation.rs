//! `/invitations/{code}`: the page an invited person opens.
//!
//! Signed in as the invited email, they accept or decline. Not signed in, they may sign in and
//! come back; and only when the invited email has no login yet, they may choose a password,
//! which creates their login and their membership in one transaction and signs them in.
//!
//! The link's secret is in the path. That is acceptable only because it works once and for
//! [`INVITATION_TTL`](gatekey_core::invitation::INVITATION_TTL), every page answers
//! `Referrer-Policy: no-referrer`, request logs and metrics never show it, and the database
//! keeps only its SHA-256. A malformed, unknown, used, withdrawn, replaced or expired link all
//! get the same answer.

use axum::extract::rejection::FormRejection;
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use gatekey_core::account::Account;
use gatekey_core::audit::{Actor, AuditAction, AuditEntry, CredentialRef};
use gatekey_core::invitation::{
    check_acceptable, check_usable, invitation_audit, person_for, AcceptRefused, Invitation,
    InvitationEnded, InvitationStore,
};
use gatekey_core::password::hash_password_with;
use gatekey_core::secret::{Secret, SecretKind};
use gatekey_core::store::{SessionStore, UserStore};
use gatekey_core::user::Member;
use maud::html;
use serde::Deserialize;
use time::OffsetDateTime;

use super::csrf::{new_token, tokens_match};
use super::csrf_form::CsrfForm;
use super::layout::{cookie, html_response, page};
use super::page_error::PageError;
use super::session_start::{start_session, SpentCsrfCookie};
use super::signed_in::SignedIn;
use crate::auth::session::{cookie as read_cookie, WebSession};
use crate::auth::ClientInfo;
use crate::state::AppState;

/// The choose-a-password form's CSRF cookie (double submit: there is no session yet).
pub const INVITE_CSRF_COOKIE: &str = "gatekey_invite_csrf";

/// The one answer for every link that cannot be used.
const UNUSABLE: &str = "This invitation link is not valid: it may have been used, withdrawn or \
     replaced by a newer invitation, or it has expired. Ask for a new invitation.";

/// The accept and decline forms: a button and the session's CSRF token.
#[derive(Deserialize)]
pub struct AnswerForm {}

/// The choose-a-password form.
#[derive(Deserialize)]
pub struct RegisterForm {
    csrf_token: String,
    name: String,
    password: String,
}

/// A usable invitation and its account.
struct Found {
    invitation: Invitation,
    account: Account,
}

/// The invitation `code` names, if it can still be used.
async fn find(state: &AppState, code: &str) -> Result<Found, PageError> {
    let Ok(secret) = Secret::parse(SecretKind::Invitation, code) else {
        return Err(unusable());
    };
    match state.store.invitation_by_hash(&secret.hash()).await? {
        Some((invitation, account)) if check_usable(&invitation, state.clock.now()).is_ok() => {
            Ok(Found {
                invitation,
                account,
            })
        }
        _ => Err(unusable()),
    }
}

/// Shows the invitation: accept or decline when signed in, sign in or choose a password when
/// not.
pub async fn show_invitation(
    State(state): State<AppState>,
    Path(code): Path<String>,
    signed_in: Option<SignedIn>,
) -> Result<Response, PageError> {
    let found = find(&state, &code).await?;
    match signed_in {
        Some(SignedIn(web)) => signed_in_page(&state, &web, &found, &code),
        None => signed_out_page(&state, &found, &code, StatusCode::OK, None).await,
    }
}

fn signed_in_page(
    state: &AppState,
    web: &WebSession,
    found: &Found,
    code: &str,
) -> Result<Response, PageError> {
    let user = &web.principal.user;
    check_acceptable(&found.invitation, user, state.clock.now())
        .map_err(|refused| refusal(refused, &user.email))?;
    let csrf = web.session.csrf_token.as_str();
    let body = html! {
        section.login {
            h1 { "Join " (found.account.name) }
            p { "You are invited to join " strong { (found.account.name) } " as "
                strong { (found.invitation.role) } "." }
            p { "Signed in as " (user.email) "." }
            form method="post" action=(format!("/invitations/{code}/accept")) {
                input type="hidden" name="csrf_token" value=(csrf);
                button type="submit" { "Accept" }
            }
            form method="post" action=(format!("/invitations/{code}/decline")) {
                input type="hidden" name="csrf_token" value=(csrf);
                button.secondary type="submit" { "Decline" }
            }
        }
    };
    Ok(html_response(
        StatusCode::OK,
        page("Invitation", Some((&web.principal, csrf)), body),
    ))
}

async fn signed_out_page(
    state: &AppState,
    found: &Found,
    code: &str,
    status: StatusCode,
    message: Option<&str>,
) -> Result<Response, PageError> {
    let has_login = state
        .store
        .user_by_email(&found.invitation.email)
        .await?
        .is_some();
    let token = new_token();
    let body = html! {
        section.login {
            h1 { "Join " (found.account.name) }
            p { "You are invited to join " strong { (found.account.name) } " as "
                strong { (found.invitation.role) } "." }
            @if let Some(message) = message { p.error role="alert" { (message) } }
            p { a href=(format!("/login?next=/invitations/{code}")) { "Sign in" }
                " with your login, then come back to this link to accept." }
            @if !has_login {
                h2 { "New here? Choose your password" }
                form method="post" action=(format!("/invitations/{code}/register")) {
                    input type="hidden" name="csrf_token" value=(token);
                    p { "Your login will be " strong { (found.invitation.email) } "." }
                    label for="name" { "Name" }
                    input #name type="text" name="name" value=(found.invitation.name) required;
                    label for="password" { "Password (at least 12 characters)" }
                    input #password type="password" name="password" autocomplete="new-password"
                        minlength="12" required;
                    p { button type="submit" { "Create my login and join" } }
                }
            }
        }
    };
    let mut response = html_response(status, page("Invitation", None, body));
    if !has_login {
        response.headers_mut().append(
            header::SET_COOKIE,
            cookie(
                INVITE_CSRF_COOKIE,
                &token,
                "/invitations",
                3600,
                state.secure_cookies(),
            ),
        );
    }
    Ok(response)
}

/// An accept or decline form, checked: a usable link, the signed-in session answering it (with
/// its CSRF token), and an invitation that person may answer now.
struct Answer {
    found: Found,
    web: WebSession,
    now: OffsetDateTime,
    /// The answer's audit event.
    audit: AuditEntry,
}

/// Checks an accept or decline form; a visitor without a session signs in and comes back to
/// the invitation.
async fn answer(
    state: &AppState,
    client: ClientInfo,
    code: &str,
    form: Result<CsrfForm<AnswerForm>, PageError>,
    action: AuditAction,
) -> Result<Answer, PageError> {
    let found = find(state, code).await?;
    let CsrfForm {
        signed_in: SignedIn(web),
        ..
    } = form.map_err(|e| e.returning_to(&format!("/invitations/{code}")))?;
    let now = state.clock.now();
    let user = &web.principal.user;
    check_acceptable(&found.invitation, user, now).map_err(|r| refusal(r, &user.email))?;
    let actor = web.principal.actor(client.ip, client.user_agent);
    let audit = invitation_audit(now, &actor, action, found.account.id, found.invitation.role);
    Ok(Answer {
        found,
        web,
        now,
        audit,
    })
}

/// Accepts: the membership is created and the invitation ends in one transaction; the session
/// then acts in the new account.
pub async fn accept_invitation(
    State(state): State<AppState>,
    client: ClientInfo,
    Path(code): Path<String>,
    form: Result<CsrfForm<AnswerForm>, PageError>,
) -> Result<Response, PageError> {
    let answer = answer(&state, client, &code, form, AuditAction::InvitationAccepted).await?;
    let (found, web) = (&answer.found, &answer.web);
    let ended = state
        .store
        .accept_invitation(
            found.invitation.id,
            web.principal.user.id,
            answer.now,
            answer.audit,
        )
        .await?;
    match ended {
        InvitationEnded::Done(_) => {}
        InvitationEnded::AlreadyMember => {
            return Err(PageError::refused(
                StatusCode::CONFLICT,
                format!("You are already a member of {}.", found.account.name),
            ))
        }
        _ => return Err(unusable()),
    }
    state
        .store
        .switch_session_account(web.session.id, found.account.id)
        .await?;
    Ok(Redirect::to("/").into_response())
}

/// Declines: the invitation ends and nothing else changes.
pub async fn decline_invitation(
    State(state): State<AppState>,
    client: ClientInfo,
    Path(code): Path<String>,
    form: Result<CsrfForm<AnswerForm>, PageError>,
) -> Result<Response, PageError> {
    let answer = answer(&state, client, &code, form, AuditAction::InvitationDeclined).await?;
    let (found, web) = (&answer.found, &answer.web);
    let ended = state
        .store
        .decline_invitation(found.invitation.id, answer.now, answer.audit)
        .await?;
    match ended {
        InvitationEnded::Done(()) => {
            let body = html! {
                section.login {
                    h1 { "Invitation declined" }
                    p { "You declined the invitation to join " (found.account.name) "." }
                    p { a href="/" { "Back" } }
                }
            };
            let csrf = web.session.csrf_token.as_str();
            Ok(html_response(
                StatusCode::OK,
                page("Invitation", Some((&web.principal, csrf)), body),
            ))
        }
        _ => Err(unusable()),
    }
}

/// Creates the invited person's login with the password they chose, makes them a member, and
/// signs them in. Only for an email that has no login: with one, the person signs in instead.
pub async fn register_invited_person(
    State(state): State<AppState>,
    headers: HeaderMap,
    client: ClientInfo,
    Path(code): Path<String>,
    form: Result<Form<RegisterForm>, FormRejection>,
) -> Result<Response, PageError> {
    let Ok(Form(form)) = form else {
        return Err(PageError::IncompleteForm);
    };
    let expected = read_cookie(&headers, INVITE_CSRF_COOKIE).unwrap_or("");
    if !tokens_match(&form.csrf_token, expected) {
        return Err(PageError::refused(
            StatusCode::FORBIDDEN,
            "The form expired. Please open the invitation link again.",
        ));
    }
    let found = find(&state, &code).await?;
    if state
        .store
        .user_by_email(&found.invitation.email)
        .await?
        .is_some()
    {
        return login_exists(&state, &found, &code).await;
    }
    let RegisterForm { name, password, .. } = form;
    let hashed = state
        .password_hashing
        .run(move |memory| hash_password_with(&password, memory))
        .await?;
    let now = state.clock.now();
    let person = match hashed
        .map_err(|e| e.to_string())
        .and_then(|hash| person_for(&found.invitation, &name, hash, now).map_err(|e| e.to_string()))
    {
        Ok(person) => person,
        Err(message) => {
            return signed_out_page(
                &state,
                &found,
                &code,
                StatusCode::BAD_REQUEST,
                Some(&message),
            )
            .await
        }
    };
    let actor = Actor {
        user_id: None,
        credential: CredentialRef::Anonymous,
        ip: client.ip.clone(),
        user_agent: client.user_agent.clone(),
    };
    let audit = invitation_audit(
        now,
        &actor,
        AuditAction::InvitationAccepted,
        found.account.id,
        found.invitation.role,
    );
    let member = match state
        .store
        .accept_invitation_as_new_person(found.invitation.id, person, now, audit)
        .await?
    {
        InvitationEnded::Done(member) => member,
        InvitationEnded::LoginExists => return login_exists(&state, &found, &code).await,
        _ => return Err(unusable()),
    };
    sign_in(&state, &member, actor).await
}

/// Starts a session for a person who just created their login, and goes home.
async fn sign_in(state: &AppState, member: &Member, actor: Actor) -> Result<Response, PageError> {
    let actor = Actor {
        user_id: Some(member.user.id),
        credential: CredentialRef::Session,
        ..actor
    };
    let audit = AuditEntry::new(
        state.clock.now(),
        &actor,
        AuditAction::LoginSucceeded,
        "session",
    )
    .detail(format!("email {}", member.user.email));
    let spent = SpentCsrfCookie {
        name: INVITE_CSRF_COOKIE,
        path: "/invitations",
    };
    start_session(
        state,
        member.user.id,
        member.membership.account_id,
        audit,
        "/",
        spent,
    )
    .await
}

async fn login_exists(state: &AppState, found: &Found, code: &str) -> Result<Response, PageError> {
    signed_out_page(
        state,
        found,
        code,
        StatusCode::CONFLICT,
        Some("A login with this email exists: sign in, then open this link again to accept."),
    )
    .await
}

fn refusal(refused: AcceptRefused, signed_in_as: &str) -> PageError {
    match refused {
        AcceptRefused::Unusable => unusable(),
        AcceptRefused::OtherEmail => PageError::refused(
            StatusCode::FORBIDDEN,
            format!(
                "This invitation is for another email address; you are signed in as \
                 {signed_in_as}. Sign out, then open the link again."
            ),
        ),
    }
}

fn unusable() -> PageError {
    PageError::refused(StatusCode::NOT_FOUND, UNUSABLE)
}
