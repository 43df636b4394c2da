//! Who may introspect which token or API key (RFC 7662 §2.1: "the authorization server MUST determine
//! whether or not the token can be used at the resource server making the introspection
//! call"; §4: a server should not answer for tokens the caller has no business with).
//!
//! Accounts are tenants: an account admin who gives an application the `introspect` permission
//! makes a resource server for that account, not for the whole server. Reaching every
//! account's tokens is the operator's decision alone (`introspect_all_accounts`), and it widens
//! the `introspect` permission rather than replacing it: taking `introspect` away takes it all.

use time::OffsetDateTime;

use super::application::Application;
use super::token::TokenRecord;

/// The facts about a token that decide who may introspect it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TokenOwner {
    /// The application the token was issued to.
    pub application_id: i64,
    /// The account the token acts in.
    pub account_id: i64,
}

impl TokenOwner {
    /// The owner of a stored token.
    pub fn of(token: &TokenRecord) -> Self {
        Self {
            application_id: token.application.id,
            account_id: token.account.id,
        }
    }
}

/// Whether `resource_server` gets an active answer for refresh token `token` at `now`: it may
/// learn about it ([`may_introspect`]) and the token can be used now (not revoked or expired,
/// its grant standing, its user still an enabled member, and not spent: a spent refresh token
/// is never active again, RFC 9700 §4.14.2).
pub fn refresh_token_visible(
    resource_server: &Application,
    token: &TokenRecord,
    now: OffsetDateTime,
) -> bool {
    may_introspect(resource_server, TokenOwner::of(token))
        && token.is_active_at(now)
        && token.used_at.is_none()
}

/// Whether `resource_server` may learn about a token of `owner`:
///
/// - a token issued to the application itself, always;
/// - with `introspect`, a token acting in the application's own account;
/// - with `introspect` and `introspect_all_accounts` (operator-only), any token.
///
/// Everything else must be answered exactly as an unknown token (`{"active":false}`, RFC 7662
/// §2.2), so that the answer does not tell another account's tokens exist.
pub fn may_introspect(resource_server: &Application, owner: TokenOwner) -> bool {
    owner.application_id == resource_server.id
        || may_introspect_account(resource_server, owner.account_id)
}

/// Whether `resource_server` may learn about credentials acting in account `account_id` that
/// were not issued to it: with `introspect`, its own account's; with `introspect` and
/// `introspect_all_accounts`, every account's.
///
/// This is the whole rule for API keys. No application issued one, so none is "its own": an
/// application without `introspect` sees no API key, and gets `{"active":false}` for every one
/// (RFC 7662 §2.2: a token "the protected resource is not allowed to introspect"), as it does
/// for other applications' tokens.
pub fn may_introspect_account(resource_server: &Application, account_id: i64) -> bool {
    resource_server.introspect
        && (account_id == resource_server.account_id || resource_server.introspect_all_accounts)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::oauth::application::{ClientType, GrantType};
    use crate::scope::ScopeSet;

    fn app(introspect: bool, all_accounts: bool) -> Application {
        Application {
            id: 1,
            client_id: "app_rs".into(),
            account_id: 10,
            name: "Resource server".into(),
            client_type: ClientType::Confidential,
            secret_hash: None,
            previous_secret_hash: None,
            previous_secret_expires_at: None,
            redirect_uris: vec![],
            grant_types: vec![GrantType::ClientCredentials],
            scopes: ScopeSet::ALL,
            implicit_allowed: false,
            introspect,
            introspect_all_accounts: all_accounts,
            verify_keys: false,
            service_account_id: None,
            id_token_signed_response_alg: crate::oauth::application::SigningAlgorithm::Rs256,
            access_token_format: crate::oauth::application::AccessTokenFormat::Opaque,
            resources: vec![],
            post_logout_redirect_uris: vec![],
            created_at: OffsetDateTime::UNIX_EPOCH,
            updated_at: OffsetDateTime::UNIX_EPOCH,
        }
    }

    const OWN: TokenOwner = TokenOwner {
        application_id: 1,
        account_id: 10,
    };
    const SAME_ACCOUNT: TokenOwner = TokenOwner {
        application_id: 2,
        account_id: 10,
    };
    const OTHER_ACCOUNT: TokenOwner = TokenOwner {
        application_id: 3,
        account_id: 20,
    };

    #[test]
    fn own_tokens_are_always_visible() {
        for (introspect, all) in [(false, false), (true, false), (false, true), (true, true)] {
            assert!(may_introspect(&app(introspect, all), OWN));
        }
    }

    #[test]
    fn introspect_covers_the_own_account_only() {
        assert!(!may_introspect(&app(false, false), SAME_ACCOUNT));
        assert!(may_introspect(&app(true, false), SAME_ACCOUNT));
        assert!(!may_introspect(&app(true, false), OTHER_ACCOUNT));
    }

    #[test]
    fn api_keys_need_introspect_whatever_the_account() {
        assert!(!may_introspect_account(&app(false, false), 10));
        assert!(!may_introspect_account(&app(false, true), 10));
        assert!(may_introspect_account(&app(true, false), 10));
        assert!(!may_introspect_account(&app(true, false), 20));
        assert!(may_introspect_account(&app(true, true), 20));
    }

    #[test]
    fn all_accounts_widens_introspect_and_needs_it() {
        assert!(may_introspect(&app(true, true), OTHER_ACCOUNT));
        assert!(!may_introspect(&app(false, true), OTHER_ACCOUNT));
        assert!(!may_introspect(&app(false, true), SAME_ACCOUNT));
    }
}
