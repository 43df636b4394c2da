//! What `gatekey admin … --json` prints: the REST API's views (`gatekey_proto::api`, filled by
//! the server's own functions), with what only the operator sees added (the account's slug,
//! `introspect_all_accounts`, a key's state), and times that keep their milliseconds (the API
//! rounds them to the second).
//!
//! The documented output of `admin user …` and `admin api-key …` predates two fields of the
//! API's views (a member's `created_at`, a key's `parent_key_id`); those views are taken apart
//! field by field, so that a field added to a view is a compile error here, not a silent
//! change of the printed output.

use gatekey_core::api_key::ApiKey;
use gatekey_core::oauth::application::Application;
use gatekey_core::user::Member;
use gatekey_proto::api::{AccountView, ApiKeyView, ApplicationView, MemberView, UserView};
// The API's account view is the operator's too.
pub use gatekey_server::api::views::account_view;
use gatekey_server::api::views::{api_key_view_timed, application_view_timed, member_view};
use serde::Serialize;
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

/// An RFC 3339 time in UTC, as precise as the database keeps it.
pub fn timestamp(at: OffsetDateTime) -> String {
    at.format(&Rfc3339).unwrap_or_default()
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
        } = member_view(member);
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
    /// The client address of the last use.
    pub last_used_ip: Option<String>,
    /// Expiry, if any.
    pub expires_at: Option<String>,
    /// Revocation time, if revoked.
    pub revoked_at: Option<String>,
    /// After a roll with a grace period: the beginning of the replaced secret.
    pub previous_prefix: Option<String>,
    /// After a roll with a grace period: when the replaced secret stops (or stopped) working.
    pub previous_secret_expires_at: Option<String>,
}

impl ApiKeyOutput {
    /// The key as printed.
    pub fn new(key: &ApiKey) -> Self {
        let ApiKeyView {
            id,
            name,
            prefix,
            previous_prefix,
            previous_secret_expires_at,
            user_id,
            scopes,
            created_at,
            last_used_at,
            last_used_ip,
            expires_at,
            revoked_at,
            ..
        } = api_key_view_timed(key, timestamp);
        Self {
            id,
            name,
            prefix,
            user_id,
            account_id: key.account_id,
            scopes,
            created_at,
            last_used_at,
            last_used_ip,
            expires_at,
            revoked_at,
            previous_prefix,
            previous_secret_expires_at,
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
            application: application_view_timed(app, timestamp),
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
