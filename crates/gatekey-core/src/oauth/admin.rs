//! Registering and managing applications (OAuth clients, RFC 6749 §2): client ids, secrets shown
//! once, rotation with a grace period, and the service account `client_credentials` tokens act as.
//!
//! The REST API, the web page and the operator commands all go through these four operations,
//! so the rules live here once:
//!
//! - Settings pass [`validate_settings`]: exact redirect URIs that are absolute, without a
//!   fragment (RFC 6749 §3.1.2), https or http on a loopback IP literal or a reverse-domain
//!   private-use scheme (RFC 8252 §7.1, §7.3, §8.3); never whitespace, a control character
//!   or a `javascript:`, `data:`, `file:` or `vbscript:` scheme (checked on the text, before
//!   any parsing; see [`super::redirect_uri`]); no `password` or implicit grant type. A change
//!   of any setting checks the whole result, so a URI stored under older rules must be
//!   replaced before anything else changes.
//! - A confidential client gets a secret (RFC 6749 §2.3.1), returned once; only its SHA-256
//!   is stored. A public client (RFC 6749 §2.1) has none.
//! - The service account must be a service-kind member of the application's own account, and
//!   its role may not rank above the role of whoever links it: otherwise an admin could obtain
//!   an owner's powers through a `client_credentials` token. For the same reason only someone
//!   ranking at least as high may change or rotate the secret of an application linked to it.
//! - Rotation keeps the previous secret valid for [`SECRET_ROTATION_GRACE`].

use time::{Duration, OffsetDateTime};

use super::application::{
    new_client_id, validate_settings, AccessTokenFormat, Application, ApplicationInputError,
    ApplicationSettings, ClientType, GrantType, SigningAlgorithm,
};
use super::store::{ApplicationStore, NewApplication};
use crate::audit::{Actor, AuditAction, AuditEntry};
use crate::role::Role;
use crate::scope::ScopeSet;
use crate::secret::{Secret, SecretKind};
use crate::store::{StoreError, UserStore};
use crate::user::UserKind;

/// How long a rotated-out client secret keeps working: 24 hours, long enough to roll the new
/// secret out to every instance of an application (a daily deploy, a cron job that runs once a
/// day), short enough that a leaked secret that prompted the rotation soon stops working.
/// Rotating again within the grace period ends the older secret at once: at most two secrets
/// are ever valid.
pub const SECRET_ROTATION_GRACE: Duration = Duration::hours(24);

/// The audit `target_type` of application events.
const TARGET: &str = "application";

/// Why a service account cannot be linked to an application.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ServiceAccountLinkError {
    /// No such user in the application's account (possibly a user of another account).
    #[error("service account {0} is not a member of this account")]
    NotInAccount(i64),
    /// The user is a person: `client_credentials` tokens must act as a service account.
    #[error("user {0} is a person, not a service account")]
    NotAService(i64),
    /// The service account is disabled; its tokens would not work.
    #[error("service account {0} is disabled")]
    Disabled(i64),
    /// The service account's role ranks above the role of whoever links it.
    #[error("service account {0} has the role {1}, higher than yours")]
    HigherRole(i64, Role),
}

/// Why an application's settings were refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SettingsError {
    /// A rule of [`validate_settings`] was broken.
    #[error(transparent)]
    Input(#[from] ApplicationInputError),
    /// No scope: the application could never obtain a useful token.
    #[error("an application needs at least one scope")]
    NoScope,
    /// The service account cannot be linked.
    #[error(transparent)]
    ServiceAccount(#[from] ServiceAccountLinkError),
}

/// Why an application could not be registered.
#[derive(Debug, thiserror::Error)]
pub enum RegisterApplicationError {
    /// The settings were refused.
    #[error(transparent)]
    Settings(#[from] SettingsError),
    /// Storage failed (or, astronomically unlikely, the drawn client id was taken).
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Why an application could not be changed.
#[derive(Debug, thiserror::Error)]
pub enum UpdateApplicationError {
    /// The new settings were refused.
    #[error(transparent)]
    Settings(#[from] SettingsError),
    /// The application acts as a service account ranking above the caller.
    #[error(transparent)]
    Linked(ServiceAccountLinkError),
    /// The application was deleted meanwhile.
    #[error("application not found")]
    NotFound,
    /// Storage failed.
    #[error(transparent)]
    Store(StoreError),
}

/// Why an application's secret could not be rotated.
#[derive(Debug, thiserror::Error)]
pub enum RotateSecretError {
    /// Public clients have no secret (RFC 6749 §2.1).
    #[error("a public application has no client secret to rotate")]
    PublicClient,
    /// The application acts as a service account ranking above the caller.
    #[error(transparent)]
    Linked(ServiceAccountLinkError),
    /// The application was deleted meanwhile.
    #[error("application not found")]
    NotFound,
    /// Storage failed.
    #[error(transparent)]
    Store(StoreError),
}

/// Why an application could not be deleted.
#[derive(Debug, thiserror::Error)]
pub enum DeleteApplicationError {
    /// The application was deleted meanwhile.
    #[error("application not found")]
    NotFound,
    /// Storage failed.
    #[error(transparent)]
    Store(StoreError),
}

/// A newly registered application and, for a confidential client, its secret: the only time
/// the secret is available.
#[derive(Debug, Clone)]
pub struct RegisteredApplication {
    /// The application as stored.
    pub application: Application,
    /// The client secret in clear, for confidential clients.
    pub client_secret: Option<Secret>,
}

/// Who registers or changes an application, and with what authority.
#[derive(Debug, Clone, Copy)]
pub struct Registrar<'a> {
    /// The registrar's role in the application's account; operators act as [`Role::Owner`].
    pub role: Role,
    /// Recorded in the audit event.
    pub actor: &'a Actor,
}

/// A partial change to an application's settings: `None` leaves a setting as it is.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ApplicationChanges {
    /// New display name.
    pub name: Option<String>,
    /// New exact redirect URIs (replaces the list).
    pub redirect_uris: Option<Vec<String>>,
    /// New allowed grant types (replaces the list).
    pub grant_types: Option<Vec<GrantType>>,
    /// New allowed scopes.
    pub scopes: Option<ScopeSet>,
    /// Whether the implicit flow is allowed.
    pub implicit_allowed: Option<bool>,
    /// Whether it may introspect its own account's tokens.
    pub introspect: Option<bool>,
    /// Whether it may verify its own account's API keys.
    pub verify_keys: Option<bool>,
    /// `Some(None)` unlinks the service account; `Some(Some(id))` links another.
    pub service_account_id: Option<Option<i64>>,
    /// New ID token signing algorithm.
    pub id_token_signed_response_alg: Option<SigningAlgorithm>,
    /// New access token format.
    pub access_token_format: Option<AccessTokenFormat>,
    /// New resource indicators (replaces the list).
    pub resources: Option<Vec<String>>,
    /// New post-logout redirect URIs (replaces the list).
    pub post_logout_redirect_uris: Option<Vec<String>>,
}

impl ApplicationChanges {
    /// The settings after applying these changes to `current`.
    pub fn apply_to(self, current: &ApplicationSettings) -> ApplicationSettings {
        let current = current.clone();
        ApplicationSettings {
            name: self.name.unwrap_or(current.name),
            redirect_uris: self
                .redirect_uris
                .map(normalize_uris)
                .unwrap_or(current.redirect_uris),
            grant_types: self
                .grant_types
                .map(normalize_grant_types)
                .unwrap_or(current.grant_types),
            scopes: self.scopes.unwrap_or(current.scopes),
            implicit_allowed: self.implicit_allowed.unwrap_or(current.implicit_allowed),
            introspect: self.introspect.unwrap_or(current.introspect),
            verify_keys: self.verify_keys.unwrap_or(current.verify_keys),
            service_account_id: self
                .service_account_id
                .unwrap_or(current.service_account_id),
            id_token_signed_response_alg: self
                .id_token_signed_response_alg
                .unwrap_or(current.id_token_signed_response_alg),
            access_token_format: self
                .access_token_format
                .unwrap_or(current.access_token_format),
            resources: self
                .resources
                .map(normalize_uris)
                .unwrap_or(current.resources),
            post_logout_redirect_uris: self
                .post_logout_redirect_uris
                .map(normalize_uris)
                .unwrap_or(current.post_logout_redirect_uris),
        }
    }
}

/// An application's current settings.
pub fn settings_of(application: &Application) -> ApplicationSettings {
    ApplicationSettings {
        name: application.name.clone(),
        redirect_uris: application.redirect_uris.clone(),
        grant_types: application.grant_types.clone(),
        scopes: application.scopes.clone(),
        implicit_allowed: application.implicit_allowed,
        introspect: application.introspect,
        verify_keys: application.verify_keys,
        service_account_id: application.service_account_id,
        id_token_signed_response_alg: application.id_token_signed_response_alg,
        access_token_format: application.access_token_format,
        resources: application.resources.clone(),
        post_logout_redirect_uris: application.post_logout_redirect_uris.clone(),
    }
}

/// Parses grant type names; `password` and `implicit` are not grant types here (RFC 9700
/// §2.4 and §2.1.2).
pub fn parse_grant_types<S: AsRef<str>>(
    names: &[S],
) -> Result<Vec<GrantType>, ApplicationInputError> {
    names
        .iter()
        .map(|name| name.as_ref().parse::<GrantType>())
        .collect::<Result<Vec<_>, _>>()
        .map(normalize_grant_types)
}

/// Grant types in canonical order, each once.
fn normalize_grant_types(mut grants: Vec<GrantType>) -> Vec<GrantType> {
    grants.sort_unstable();
    grants.dedup();
    grants
}

/// Redirect URIs (or resources, or post-logout redirect URIs) in the order given, each once.
/// No other normalisation: matching is by exact string (RFC 9700 §2.1, RFC 8707 §2), so the
/// registered string is the one clients must send.
fn normalize_uris(uris: Vec<String>) -> Vec<String> {
    let mut seen = Vec::with_capacity(uris.len());
    for uri in uris {
        if !seen.contains(&uri) {
            seen.push(uri);
        }
    }
    seen
}

/// Checks `settings` for an application of `client_type` in `account_id`, including the
/// service account link; a disabled service account is refused only when it is linked anew
/// (`previous_link` is the one linked now), so that other settings stay editable.
async fn check_settings<S: UserStore>(
    store: &S,
    account_id: i64,
    client_type: ClientType,
    settings: &ApplicationSettings,
    previous_link: Option<i64>,
    role: Role,
) -> Result<Result<(), SettingsError>, StoreError> {
    if let Err(e) = validate_settings(client_type, settings) {
        return Ok(Err(e.into()));
    }
    if settings.scopes.is_empty() {
        return Ok(Err(SettingsError::NoScope));
    }
    match settings.service_account_id {
        Some(id) => {
            let linking = previous_link != Some(id);
            Ok(check_link(store, account_id, id, role, linking)
                .await?
                .map_err(SettingsError::from))
        }
        None => Ok(Ok(())),
    }
}

/// Whether service account `id` may be linked by someone with `role`: a service-kind member of
/// `account_id` ranking no higher than `role`, and (when `linking` anew) not disabled.
async fn check_link<S: UserStore>(
    store: &S,
    account_id: i64,
    id: i64,
    role: Role,
    linking: bool,
) -> Result<Result<(), ServiceAccountLinkError>, StoreError> {
    let Some(member) = store.member(account_id, id).await? else {
        return Ok(Err(ServiceAccountLinkError::NotInAccount(id)));
    };
    if member.user.kind != UserKind::Service {
        return Ok(Err(ServiceAccountLinkError::NotAService(id)));
    }
    if linking && member.user.is_disabled() {
        return Ok(Err(ServiceAccountLinkError::Disabled(id)));
    }
    if member.membership.role.rank() > role.rank() {
        return Ok(Err(ServiceAccountLinkError::HigherRole(
            id,
            member.membership.role,
        )));
    }
    Ok(Ok(()))
}

/// Checks that whoever has `role` may act on `application`'s current service account link.
async fn check_current_link<S: UserStore>(
    store: &S,
    application: &Application,
    role: Role,
) -> Result<Result<(), ServiceAccountLinkError>, StoreError> {
    match application.service_account_id {
        Some(id) => check_link(store, application.account_id, id, role, false).await,
        None => Ok(Ok(())),
    }
}

/// Registers an application in `account_id` (RFC 6749 §2): validates the settings, draws a
/// client id, and for a confidential client a secret, returned once. The audit event
/// `application.created` is written with it.
pub async fn register_application<S: ApplicationStore + UserStore>(
    store: &S,
    now: OffsetDateTime,
    account_id: i64,
    client_type: ClientType,
    settings: ApplicationSettings,
    registrar: Registrar<'_>,
) -> Result<RegisteredApplication, RegisterApplicationError> {
    let settings = ApplicationSettings {
        redirect_uris: normalize_uris(settings.redirect_uris),
        grant_types: normalize_grant_types(settings.grant_types),
        resources: normalize_uris(settings.resources),
        post_logout_redirect_uris: normalize_uris(settings.post_logout_redirect_uris),
        ..settings
    };
    check_settings(
        store,
        account_id,
        client_type,
        &settings,
        None,
        registrar.role,
    )
    .await??;
    let client_secret = (client_type == ClientType::Confidential)
        .then(|| Secret::generate(SecretKind::ClientSecret));
    let detail = format!(
        "{} application with grant types {}",
        client_type.as_str(),
        grant_list(&settings.grant_types)
    );
    let new = NewApplication {
        client_id: new_client_id(),
        account_id,
        client_type,
        secret_hash: client_secret.as_ref().map(Secret::hash),
        settings,
        created_at: now,
    };
    let audit = AuditEntry::new(
        now,
        registrar.actor,
        AuditAction::ApplicationCreated,
        TARGET,
    )
    .detail(detail);
    let application = store.create_application(new, audit).await?;
    Ok(RegisteredApplication {
        application,
        client_secret,
    })
}

/// Applies `changes` to `application`. The client type and client id never change: a client
/// that can keep a secret and one that cannot are different registrations (RFC 6749 §2.1).
/// Cached tokens of the application are invalidated by the store, so new rules (fewer scopes,
/// grant types taken away) apply at once. The audit event names the settings that changed.
pub async fn update_application<S: ApplicationStore + UserStore>(
    store: &S,
    now: OffsetDateTime,
    application: &Application,
    changes: ApplicationChanges,
    registrar: Registrar<'_>,
) -> Result<Application, UpdateApplicationError> {
    check_current_link(store, application, registrar.role)
        .await
        .map_err(UpdateApplicationError::Store)?
        .map_err(UpdateApplicationError::Linked)?;
    let current = settings_of(application);
    let settings = changes.apply_to(&current);
    check_settings(
        store,
        application.account_id,
        application.client_type,
        &settings,
        application.service_account_id,
        registrar.role,
    )
    .await
    .map_err(UpdateApplicationError::Store)??;
    let changed = changed_settings(&current, &settings);
    let detail = if changed.is_empty() {
        "nothing changed".to_owned()
    } else {
        format!("changed {}", changed.join(", "))
    };
    let audit = AuditEntry::new(
        now,
        registrar.actor,
        AuditAction::ApplicationUpdated,
        TARGET,
    )
    .detail(detail);
    store
        .update_application(application.id, &settings, now, audit)
        .await
        .map_err(not_found_or(
            UpdateApplicationError::NotFound,
            UpdateApplicationError::Store,
        ))
}

/// Gives a confidential `application` a new secret, returned once. The current secret stays
/// valid for [`SECRET_ROTATION_GRACE`] so that running instances can be moved to the new one
/// without downtime; a secret from before that is dropped at once.
pub async fn rotate_secret<S: ApplicationStore + UserStore>(
    store: &S,
    now: OffsetDateTime,
    application: &Application,
    registrar: Registrar<'_>,
) -> Result<(Application, Secret), RotateSecretError> {
    if application.client_type != ClientType::Confidential {
        return Err(RotateSecretError::PublicClient);
    }
    check_current_link(store, application, registrar.role)
        .await
        .map_err(RotateSecretError::Store)?
        .map_err(RotateSecretError::Linked)?;
    let secret = Secret::generate(SecretKind::ClientSecret);
    let previous_valid_until = now + SECRET_ROTATION_GRACE;
    let audit = AuditEntry::new(
        now,
        registrar.actor,
        AuditAction::ApplicationSecretRotated,
        TARGET,
    )
    .detail(format!(
        "previous secret valid for {} more hours",
        SECRET_ROTATION_GRACE.whole_hours()
    ));
    let rotated = store
        .rotate_application_secret(
            application.id,
            secret.hash(),
            previous_valid_until,
            now,
            audit,
        )
        .await
        .map_err(not_found_or(
            RotateSecretError::NotFound,
            RotateSecretError::Store,
        ))?;
    Ok((rotated, secret))
}

/// Why the operator's introspection setting was refused.
#[derive(Debug, thiserror::Error)]
pub enum IntrospectAllAccountsError {
    /// A public client cannot introspect at all.
    #[error("a public application cannot introspect")]
    PublicClient,
    /// The application no longer exists.
    #[error("no such application")]
    NotFound,
    /// Storage failed.
    #[error(transparent)]
    Store(StoreError),
}

/// Lets `application`'s `introspect` permission reach every account's tokens, or only its own
/// account's again ([`super::introspection::may_introspect`]). Only the operator calls this:
/// the REST API and the web pages have no way to ask for it, so an account admin cannot make
/// an application that reads other accounts' tokens. Cached copies of the application are
/// invalidated by the store; the change is audited as `application.updated`.
pub async fn set_introspect_all_accounts<S: ApplicationStore>(
    store: &S,
    now: OffsetDateTime,
    application: &Application,
    all_accounts: bool,
    actor: &Actor,
) -> Result<Application, IntrospectAllAccountsError> {
    if all_accounts && application.client_type != ClientType::Confidential {
        return Err(IntrospectAllAccountsError::PublicClient);
    }
    let detail = format!(
        "introspect_all_accounts {}",
        if all_accounts { "on" } else { "off" }
    );
    let audit = AuditEntry::new(now, actor, AuditAction::ApplicationUpdated, TARGET).detail(detail);
    store
        .set_introspect_all_accounts(application.id, all_accounts, now, audit)
        .await
        .map_err(not_found_or(
            IntrospectAllAccountsError::NotFound,
            IntrospectAllAccountsError::Store,
        ))
}

/// Deletes `application`: every grant, code and token of it is revoked in the same
/// transaction, and its client id stops working at once. Anyone who may manage applications
/// may delete one, whatever it is linked to: deleting takes power away.
pub async fn delete_application<S: ApplicationStore>(
    store: &S,
    now: OffsetDateTime,
    application: &Application,
    actor: &Actor,
) -> Result<(), DeleteApplicationError> {
    let audit =
        AuditEntry::new(now, actor, AuditAction::ApplicationDeleted, TARGET).detail(format!(
            "{} ({})",
            application.name,
            application.client_type.as_str()
        ));
    store
        .delete_application(application.id, now, audit)
        .await
        .map_err(not_found_or(
            DeleteApplicationError::NotFound,
            DeleteApplicationError::Store,
        ))
}

/// Maps a store error to an operation's own: `NotFound` (the application was deleted meanwhile)
/// to `not_found`, any other failure through `failed`.
fn not_found_or<E>(not_found: E, failed: fn(StoreError) -> E) -> impl FnOnce(StoreError) -> E {
    move |error| match error {
        StoreError::NotFound => not_found,
        other => failed(other),
    }
}

fn grant_list(grants: &[GrantType]) -> String {
    if grants.is_empty() {
        return "none".to_owned();
    }
    grants
        .iter()
        .map(|g| g.as_str())
        .collect::<Vec<_>>()
        .join(" ")
}

/// The names of the settings that differ, for the audit event.
fn changed_settings(
    before: &ApplicationSettings,
    after: &ApplicationSettings,
) -> Vec<&'static str> {
    let mut changed = Vec::new();
    if before.name != after.name {
        changed.push("name");
    }
    if before.redirect_uris != after.redirect_uris {
        changed.push("redirect_uris");
    }
    if before.grant_types != after.grant_types {
        changed.push("grant_types");
    }
    if before.scopes != after.scopes {
        changed.push("scopes");
    }
    if before.implicit_allowed != after.implicit_allowed {
        changed.push("implicit_allowed");
    }
    if before.introspect != after.introspect {
        changed.push("introspect");
    }
    if before.verify_keys != after.verify_keys {
        changed.push("verify_keys");
    }
    if before.service_account_id != after.service_account_id {
        changed.push("service_account_id");
    }
    if before.id_token_signed_response_alg != after.id_token_signed_response_alg {
        changed.push("id_token_signed_response_alg");
    }
    if before.access_token_format != after.access_token_format {
        changed.push("access_token_format");
    }
    if before.resources != after.resources {
        changed.push("resources");
    }
    if before.post_logout_redirect_uris != after.post_logout_redirect_uris {
        changed.push("post_logout_redirect_uris");
    }
    changed
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings() -> ApplicationSettings {
        ApplicationSettings {
            name: "Reports".into(),
            redirect_uris: vec!["https://reports.example/cb".into()],
            grant_types: vec![GrantType::AuthorizationCode, GrantType::RefreshToken],
            scopes: ScopeSet::ALL,
            implicit_allowed: false,
            introspect: false,
            verify_keys: false,
            service_account_id: Some(7),
            id_token_signed_response_alg: SigningAlgorithm::Rs256,
            access_token_format: AccessTokenFormat::Opaque,
            resources: vec![],
            post_logout_redirect_uris: vec![],
        }
    }

    #[test]
    fn changes_apply_only_what_is_given() {
        let current = settings();
        assert_eq!(ApplicationChanges::default().apply_to(&current), current);
        let changes = ApplicationChanges {
            name: Some("Reports v2".into()),
            grant_types: Some(vec![
                GrantType::RefreshToken,
                GrantType::AuthorizationCode,
                GrantType::RefreshToken,
            ]),
            service_account_id: Some(None),
            ..ApplicationChanges::default()
        };
        let after = changes.apply_to(&current);
        assert_eq!(after.name, "Reports v2");
        assert_eq!(after.redirect_uris, current.redirect_uris);
        assert_eq!(
            after.grant_types,
            [GrantType::AuthorizationCode, GrantType::RefreshToken],
            "sorted, each once"
        );
        assert_eq!(after.service_account_id, None, "Some(None) unlinks");
        assert_eq!(
            changed_settings(&current, &after),
            ["name", "service_account_id"]
        );
        let oidc = ApplicationChanges {
            id_token_signed_response_alg: Some(SigningAlgorithm::EdDsa),
            access_token_format: Some(AccessTokenFormat::Jwt),
            resources: Some(vec!["https://b.example".into(), "https://b.example".into()]),
            post_logout_redirect_uris: Some(vec!["https://reports.example/bye".into()]),
            ..ApplicationChanges::default()
        };
        let after = oidc.apply_to(&current);
        assert_eq!(after.id_token_signed_response_alg, SigningAlgorithm::EdDsa);
        assert_eq!(after.access_token_format, AccessTokenFormat::Jwt);
        assert_eq!(after.resources, ["https://b.example"], "each once");
        assert_eq!(after.redirect_uris, current.redirect_uris);
        assert_eq!(
            changed_settings(&current, &after),
            [
                "id_token_signed_response_alg",
                "access_token_format",
                "resources",
                "post_logout_redirect_uris"
            ]
        );
    }

    #[test]
    fn grant_type_names() {
        assert_eq!(
            parse_grant_types(&["refresh_token", "authorization_code"]),
            Ok(vec![GrantType::AuthorizationCode, GrantType::RefreshToken])
        );
        for refused in ["password", "implicit", "token", ""] {
            assert!(
                matches!(
                    parse_grant_types(&[refused]),
                    Err(ApplicationInputError::UnknownGrantType(_))
                ),
                "{refused}"
            );
        }
    }

    #[test]
    fn redirect_uris_keep_their_order_and_text() {
        let uris = vec![
            "https://b.example/cb".to_owned(),
            "https://a.example/cb".to_owned(),
            "https://b.example/cb".to_owned(),
            "https://b.example/cb/".to_owned(),
        ];
        assert_eq!(
            normalize_uris(uris),
            [
                "https://b.example/cb",
                "https://a.example/cb",
                "https://b.example/cb/"
            ]
        );
    }

    #[test]
    fn grace_period_is_a_day() {
        assert_eq!(SECRET_ROTATION_GRACE.whole_hours(), 24);
    }
}
