//! Domain values as the API shows them.

use gatekey_core::account::Account;
use gatekey_core::api_key::ApiKey;
use gatekey_core::api_key_usage::KeyMeta;
use gatekey_core::audit::{AuditRecord, CredentialRef};
use gatekey_core::oauth::application::Application;
use gatekey_core::page::Page;
use gatekey_core::user::{Member, User};
use gatekey_proto::api::CreditRefill;
use gatekey_proto::api::{
    AccountView, ApiKeyView, ApplicationView, AuditView, CredentialView, MemberView, Pagination,
    UserView,
};
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

/// An RFC 3339 timestamp in UTC, to the second.
pub fn timestamp(at: OffsetDateTime) -> String {
    at.replace_nanosecond(0)
        .unwrap_or(at)
        .format(&Rfc3339)
        .unwrap_or_default()
}

/// The pagination object of a page.
pub fn pagination<T>(page: &Page<T>) -> Pagination {
    let p = page.pagination();
    Pagination {
        total_records: p.total_records,
        total_pages: p.total_pages,
        current_page: p.current_page,
    }
}

/// A user.
pub fn user_view(user: &User) -> UserView {
    UserView {
        id: user.id,
        email: user.email.clone(),
        name: user.name.clone(),
        kind: user.kind.as_str().to_owned(),
        disabled: user.is_disabled(),
        created_at: timestamp(user.created_at),
    }
}

/// A user with their role.
pub fn member_view(member: &Member) -> MemberView {
    MemberView {
        user: user_view(&member.user),
        role: member.membership.role.as_str().to_owned(),
    }
}

/// An account.
pub fn account_view(account: &Account) -> AccountView {
    AccountView {
        id: account.id,
        slug: account.slug.clone(),
        name: account.name.clone(),
    }
}

/// An API key, without its secret.
pub fn api_key_view(key: &ApiKey) -> ApiKeyView {
    api_key_view_timed(key, timestamp)
}

/// An API key, without its secret, with its times written by `time_text`: the API rounds them
/// to the second ([`timestamp`]), the operator's command line keeps what the database holds.
pub fn api_key_view_timed(key: &ApiKey, time_text: fn(OffsetDateTime) -> String) -> ApiKeyView {
    ApiKeyView {
        id: key.id,
        name: key.name.clone(),
        prefix: key.display_prefix.clone(),
        previous_prefix: key.previous_display_prefix.clone(),
        previous_secret_expires_at: key.previous_secret_expires_at.map(time_text),
        user_id: key.user_id,
        scopes: key.scopes.names().into_iter().map(str::to_owned).collect(),
        created_at: time_text(key.created_at),
        last_used_at: key.last_used_at.map(time_text),
        last_used_ip: key.last_used_ip.clone(),
        expires_at: key.expires_at.map(time_text),
        revoked_at: key.revoked_at.map(time_text),
        parent_key_id: key.parent_key_id,
        meta: key.meta.as_ref().map(KeyMeta::to_value),
        rate_per_second: key.limits.per_second,
        rate_per_minute: key.limits.per_minute,
        rate_per_hour: key.limits.per_hour,
        credits_remaining: key.credits.map(|c| c.remaining),
        credits_refill: key
            .credits
            .and_then(|c| c.refill)
            .map(|refill| CreditRefill {
                amount: refill.amount,
                interval: refill.interval.as_str().to_owned(),
            }),
        credits_refilled_at: key.credits.and_then(|c| c.refilled_at).map(time_text),
    }
}

/// A credential reference.
pub fn credential_view(
    credential: &CredentialRef,
    expires_at: Option<OffsetDateTime>,
) -> CredentialView {
    let id = match credential {
        CredentialRef::ApiKey(id) => Some(*id),
        _ => None,
    };
    let client_id = match credential {
        CredentialRef::OAuth { client_id, .. } => Some(client_id.clone()),
        _ => None,
    };
    CredentialView {
        kind: credential.type_name().to_owned(),
        id,
        client_id,
        expires_at: expires_at.map(timestamp),
    }
}

/// An audit event.
pub fn audit_view(record: &AuditRecord) -> AuditView {
    AuditView {
        id: record.id,
        at: timestamp(record.at),
        actor_user_id: record.actor.user_id,
        actor_email: record.actor_email.clone(),
        credential: credential_view(&record.actor.credential, None),
        action: record.action.clone(),
        target_type: record.target_type.clone(),
        target_id: record.target_id.clone(),
        outcome: if record.success { "success" } else { "failure" }.to_owned(),
        ip: record.actor.ip.clone(),
        user_agent: record.actor.user_agent.clone(),
        detail: record.detail.clone(),
    }
}

/// An application as the API shows it: never a secret.
pub fn application_view(app: &Application) -> ApplicationView {
    application_view_timed(app, timestamp)
}

/// An application as the API shows it, with its times written by `time_text` (see
/// [`api_key_view_timed`]).
pub fn application_view_timed(
    app: &Application,
    time_text: fn(OffsetDateTime) -> String,
) -> ApplicationView {
    ApplicationView {
        id: app.id,
        client_id: app.client_id.clone(),
        name: app.name.clone(),
        client_type: app.client_type.as_str().to_owned(),
        redirect_uris: app.redirect_uris.clone(),
        grant_types: app
            .grant_types
            .iter()
            .map(|g| g.as_str().to_owned())
            .collect(),
        scopes: app.scopes.names().into_iter().map(str::to_owned).collect(),
        implicit_allowed: app.implicit_allowed,
        introspect: app.introspect,
        verify_keys: app.verify_keys,
        service_account_id: app.service_account_id,
        id_token_signed_response_alg: app.id_token_signed_response_alg.as_str().to_owned(),
        access_token_format: app.access_token_format.as_str().to_owned(),
        resources: app.resources.clone(),
        post_logout_redirect_uris: app.post_logout_redirect_uris.clone(),
        previous_secret_expires_at: app.previous_secret_expires_at.map(time_text),
        created_at: time_text(app.created_at),
        updated_at: time_text(app.updated_at),
    }
}
