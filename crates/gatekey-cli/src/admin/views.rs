//! What `gatekey admin … --json` prints: the REST API's views (`gatekey_proto::api`), with
//! what only the operator sees added (the account's slug, `introspect_all_accounts`, a key's
//! state), and times that keep their milliseconds (the API rounds them to the second).
//!
//! The documented output of `admin user …` and `admin api-key …` predates two fields of the
//! API's views (a member's `created_at`, a key's `parent_key_id`); those views are taken apart
//! field by field, so that a field added to a view is a compile error here, not a silent
//! change of the printed output.

use gatekey_core::account::Account;
use gatekey_core::api_key::ApiKey;
use gatekey_core::oauth::application::Application;
use gatekey_core::user::{Member, User};
use gatekey_proto::api::{AccountView, ApiKeyView, ApplicationView, MemberView, UserView};
use serde::Serialize;
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

/// An RFC 3339 time in UTC, as precise as the database keeps it.
pub fn timestamp(at: OffsetDateTime) -> String {
    at.format(&Rfc3339).unwrap_or_default()
}

/// An account.
pub fn account_view(account: &Account) -> AccountView {
    AccountView {
        id: account.id,
        slug: account.slug.clone(),
        name: account.name.clone(),
    }
}

/// A user, as the API shows it.
fn user_view(user: &User) -> UserView {
    UserView {
        id: user.id,
        email: user.email.clone(),
        name: user.name.clone(),
        kind: user.kind.as_str().to_owned(),
        disabled: user.is_disabled(),
        created_at: timestamp(user.created_at),
    }
}

/// A membership: the user, their role, and the account.
#[derive(Debug, Serialize)]
pub struct MemberOutput {
    /// User id.
    pub id: i64,
    /// Email.
    pub email: String,
    /// Display name.
    pub name: String,
    /// `person` or `service`.
    pub kind: String,
    /// Whether the user is disabled.
    pub disabled: bool,
    /// The account's id.
    pub account_id: i64,
    /// The account's slug, when known.
    pub account: Option<String>,
    /// The role in that account.
    pub role: String,
}

impl MemberOutput {
    /// `member` in the account with slug `account`.
    pub fn new(member: &Member, account: Option<&str>) -> Self {
        let MemberView {
            user:
                UserView {
                    id,
                    email,
                    name,
                    kind,
                    disabled,
                    created_at: _,
                },
            role,
        } = MemberView {
            user: user_view(&member.user),
            role: member.membership.role.as_str().to_owned(),
        };
        Self {
            id,
            email,
            name,
            kind,
            disabled,
            account_id: member.membership.account_id,
            account: account.map(str::to_owned),
            role,
        }
    }
}

/// Whether a user is now disabled, after `user enable` or `user disable`.
#[derive(Debug, Serialize)]
pub struct UserState {
    /// User id.
    pub id: i64,
    /// Email.
    pub email: String,
    /// Whether the user is disabled.
    pub disabled: bool,
}

/// A password set by `user set-password`.
#[derive(Debug, Serialize)]
pub struct PasswordChanged {
    /// User id.
    pub id: i64,
    /// Email.
    pub email: String,
    /// Always `true`.
    pub password_changed: bool,
}

/// An API key, without its secret.
#[derive(Debug, Serialize)]
pub struct ApiKeyOutput {
    /// Key id.
    pub id: i64,
    /// Its name.
    pub name: String,
    /// The non-secret beginning of the key.
    pub prefix: String,
    /// The user it acts as.
    pub user_id: i64,
    /// The account it acts in.
    pub account_id: i64,
    /// Its scopes.
    pub scopes: Vec<String>,
    /// Creation time.
    pub created_at: String,
    /// Last use, to within a few seconds.
    pub last_used_at: Option<String>,
    /// Expiry, if any.
    pub expires_at: Option<String>,
    /// Revocation time, if revoked.
    pub revoked_at: Option<String>,
}

impl ApiKeyOutput {
    /// The key as printed.
    pub fn new(key: &ApiKey) -> Self {
        let ApiKeyView {
            id,
            name,
            prefix,
            user_id,
            scopes,
            created_at,
            last_used_at,
            expires_at,
            revoked_at,
            parent_key_id: _,
        } = ApiKeyView {
            id: key.id,
            name: key.name.clone(),
            prefix: key.display_prefix.clone(),
            user_id: key.user_id,
            scopes: key.scopes.names().into_iter().map(str::to_owned).collect(),
            created_at: timestamp(key.created_at),
            last_used_at: key.last_used_at.map(timestamp),
            expires_at: key.expires_at.map(timestamp),
            revoked_at: key.revoked_at.map(timestamp),
            parent_key_id: key.parent_key_id,
        };
        Self {
            id,
            name,
            prefix,
            user_id,
            account_id: key.account_id,
            scopes,
            created_at,
            last_used_at,
            expires_at,
            revoked_at,
        }
    }
}

/// A newly created API key: the only time its secret is printed.
#[derive(Serialize)]
pub struct CreatedApiKeyOutput {
    /// The key.
    #[serde(flatten)]
    pub key: ApiKeyOutput,
    /// The secret.
    pub secret: String,
}

/// A key in `api-key list`, with its state.
#[derive(Debug, Serialize)]
pub struct ListedApiKey {
    /// The key.
    #[serde(flatten)]
    pub key: ApiKeyOutput,
    /// `active`, `expired` or `revoked`.
    pub state: &'static str,
}

/// An application: the API's view plus what only the operator sees.
#[derive(Debug, Serialize)]
pub struct ApplicationOutput {
    /// The application as the API shows it.
    #[serde(flatten)]
    pub application: ApplicationView,
    /// The account's slug.
    pub account: String,
    /// Whether its introspection reaches every account's tokens (an operator-only setting).
    pub introspect_all_accounts: bool,
}

impl ApplicationOutput {
    /// `app` of the account with slug `account`.
    pub fn new(app: &Application, account: &str) -> Self {
        Self {
            application: ApplicationView {
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
                service_account_id: app.service_account_id,
                previous_secret_expires_at: app.previous_secret_expires_at.map(timestamp),
                created_at: timestamp(app.created_at),
                updated_at: timestamp(app.updated_at),
            },
            account: account.to_owned(),
            introspect_all_accounts: app.introspect_all_accounts,
        }
    }
}

/// An application with its new secret (`null` for a public client): the only time the
/// secret is printed.
#[derive(Serialize)]
pub struct ApplicationWithSecret {
    /// The application.
    #[serde(flatten)]
    pub application: ApplicationOutput,
    /// The client secret.
    pub client_secret: Option<String>,
}

/// What `app delete` prints.
#[derive(Debug, Serialize)]
pub struct DeletedApplication {
    /// The client id.
    pub client_id: String,
    /// The account's slug.
    pub account: String,
    /// Always `true`.
    pub deleted: bool,
}

/// `account list`.
#[derive(Debug, Serialize)]
pub struct AccountList {
    /// Every account.
    pub accounts: Vec<AccountView>,
}

/// `user list`.
#[derive(Debug, Serialize)]
pub struct UserList {
    /// One entry per membership.
    pub users: Vec<MemberOutput>,
}

/// `service-account list`.
#[derive(Debug, Serialize)]
pub struct ServiceAccountList {
    /// The account's service accounts.
    pub service_accounts: Vec<MemberOutput>,
}

/// `api-key list`.
#[derive(Debug, Serialize)]
pub struct ApiKeyList {
    /// The matching keys, newest first.
    pub api_keys: Vec<ListedApiKey>,
    /// How many.
    pub total: usize,
}

/// `app list`.
#[derive(Debug, Serialize)]
pub struct ApplicationList {
    /// The account's applications.
    pub applications: Vec<ApplicationOutput>,
    /// How many.
    pub total: usize,
}
