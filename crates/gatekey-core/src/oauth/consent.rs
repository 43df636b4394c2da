//! Consent: a user allows or refuses an application's request (RFC 6749 §4.1.1 "obtains an
//! authorization decision", RFC 8628 §3.3), on the authorization page or on the device page,
//! and later withdraws it. One set of operations for every page, so that a grant and its audit
//! entry are the same whichever way consent was given or withdrawn.

use time::OffsetDateTime;

use super::application::{Application, ClientType};
use super::grant::{Grant, NewGrant};
use super::sign_in::SignIn;
use super::store::{ApplicationStore, DeviceStore, GrantStore};
use crate::audit::{Actor, AuditAction, AuditEntry};
use crate::scope::ScopeSet;
use crate::store::{AuditStore, StoreResult};

/// The page a user answers on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConsentPage {
    /// The authorization endpoint (RFC 6749 §4.1, §4.2).
    Authorize,
    /// The device verification page (RFC 8628 §3.3).
    Device,
}

/// A user's answer to one application's request for `scopes` in one account.
#[derive(Debug, Clone)]
pub struct Consent<'a> {
    /// The user answering.
    pub user_id: i64,
    /// The account the application will act in.
    pub account_id: i64,
    /// The application asking.
    pub application: &'a Application,
    /// The scopes asked for.
    pub scopes: ScopeSet,
    /// Who answered, from where, for the audit log.
    pub actor: &'a Actor,
    /// Where the answer was given.
    pub page: ConsentPage,
}

impl Consent<'_> {
    /// What the audit entries say.
    fn detail(&self) -> String {
        let via = match self.page {
            ConsentPage::Authorize => "",
            ConsentPage::Device => "device flow: ",
        };
        format!(
            "{via}{} ({}) for scopes {}",
            self.application.name, self.application.client_id, self.scopes
        )
    }

    /// The grant that allowing makes.
    fn grant(&self, now: OffsetDateTime) -> NewGrant {
        NewGrant {
            user_id: self.user_id,
            account_id: self.account_id,
            application_id: self.application.id,
            scopes: self.scopes.clone(),
            created_at: now,
        }
    }

    /// `consent.granted`; the store adds the account and the new grant's id.
    fn granted(&self, now: OffsetDateTime) -> AuditEntry {
        AuditEntry::new(now, self.actor, AuditAction::ConsentGranted, "grant").detail(self.detail())
    }

    /// `consent.denied`, about the application.
    fn denied(&self, now: OffsetDateTime) -> AuditEntry {
        AuditEntry::new(now, self.actor, AuditAction::ConsentDenied, "application")
            .in_account(self.account_id)
            .target(&self.application.client_id)
            .detail(self.detail())
    }
}

/// What a consent page offers and a grant records: the scopes requested, within what the
/// application may have and what the user's role holds in the account the application will
/// act in (`held`). A scope the role does not hold is never shown, so a member is never asked
/// to hand over `admin`, which they do not have; the token response then says this set
/// (RFC 6749 §5.1).
pub fn consentable_scopes(
    requested: &ScopeSet,
    application: &Application,
    held: &ScopeSet,
) -> ScopeSet {
    requested
        .intersect(&application.requestable_scopes())
        .within_role(held)
}

/// The grant that answers a new authorization request without asking again, if any: consent
/// is remembered for confidential clients only, and only for scopes within what was granted.
/// A public client could be anyone holding its client id, so it always asks (RFC 9700 §2.1.1
/// on native apps; RFC 6749 §10.2).
pub fn remembered_consent(
    application: &Application,
    standing: Option<Grant>,
    scopes: &ScopeSet,
) -> Option<Grant> {
    if application.client_type != ClientType::Confidential {
        return None;
    }
    standing.filter(|grant| grant.is_active() && scopes.is_subset_of(&grant.scopes))
}

/// The user allowed the request on the authorization page: records the grant with its
/// `consent.granted` entry.
pub async fn grant_consent<S: GrantStore>(
    store: &S,
    now: OffsetDateTime,
    consent: &Consent<'_>,
) -> StoreResult<Grant> {
    let new = consent.grant(now);
    store
        .create_grant(
            new.user_id,
            new.account_id,
            new.application_id,
            new.scopes,
            now,
            consent.granted(now),
        )
        .await
}

/// The user refused the request on the authorization page: records `consent.denied`.
pub async fn deny_consent<S: AuditStore>(
    store: &S,
    now: OffsetDateTime,
    consent: &Consent<'_>,
) -> StoreResult<()> {
    store.record_audit(consent.denied(now)).await
}

/// The user allowed device authorization `device_id`, signed in as `sign_in` says: the grant,
/// its `consent.granted` entry, the decision and the sign-in (for the ID token's `auth_time`
/// and `sid`) are one write. `None` when the code was decided meanwhile or has expired
/// (the user lost a race with another answer, or took too long): then nothing was written, so
/// no grant stands without a device to use it.
pub async fn approve_device<S: DeviceStore>(
    store: &S,
    now: OffsetDateTime,
    device_id: i64,
    consent: &Consent<'_>,
    sign_in: &SignIn,
) -> StoreResult<Option<Grant>> {
    store
        .approve_device_code(device_id, consent.grant(now), sign_in, consent.granted(now))
        .await
}

/// The user refused device authorization `device_id`: the decision and its `consent.denied`
/// entry are one write. `false` when it was decided meanwhile or has expired; then nothing was
/// written.
pub async fn deny_device<S: DeviceStore>(
    store: &S,
    now: OffsetDateTime,
    device_id: i64,
    consent: &Consent<'_>,
) -> StoreResult<bool> {
    store
        .deny_device_code(device_id, now, consent.denied(now))
        .await
}

/// Withdraws consent: revokes every grant `user_id` gave the application `client_id` in
/// `account_id`, with every code and token under them, and records `grant.revoked`; other
/// applications are untouched. Returns the application's id when something was revoked (its
/// cached tokens must be dropped), `None` when there was nothing to revoke.
pub async fn revoke_application_for<S: ApplicationStore + GrantStore>(
    store: &S,
    now: OffsetDateTime,
    user_id: i64,
    account_id: i64,
    client_id: &str,
    actor: &Actor,
) -> StoreResult<Option<i64>> {
    let Some(application) = store.application_by_client_id(client_id).await? else {
        return Ok(None);
    };
    let audit =
        AuditEntry::new(now, actor, AuditAction::GrantRevoked, "application").target(client_id);
    let revoked = store
        .revoke_grants(user_id, account_id, application.id, now, audit)
        .await?;
    Ok((revoked > 0).then_some(application.id))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::oauth::application::GrantType;
    use crate::oauth::fixtures::app;
    use crate::role::Role;

    #[test]
    fn consent_offers_only_what_the_role_holds() {
        let client = Application {
            scopes: ScopeSet::ALL,
            ..app(1, ClientType::Public, vec![GrantType::AuthorizationCode])
        };
        let asked = ScopeSet::parse("read write admin").unwrap();
        let offered = |role: Role| consentable_scopes(&asked, &client, &role.scopes()).to_string();
        assert_eq!(offered(Role::Member), "read write");
        assert_eq!(offered(Role::Viewer), "read");
        assert_eq!(offered(Role::Admin), "read write admin");
        let narrow = Application {
            scopes: ScopeSet::parse("read").unwrap(),
            ..client.clone()
        };
        assert_eq!(
            consentable_scopes(&asked, &narrow, &Role::Owner.scopes()).to_string(),
            "read"
        );
    }
}
