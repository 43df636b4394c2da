//! Storage traits of the OAuth side, implemented in `gatekey-store` like the others.

use std::future::Future;

use time::OffsetDateTime;

use super::application::{Application, ApplicationSettings, ClientType};
use super::device::{DeviceCodeRecord, DeviceCodeSlot, NewDeviceCode};
use super::grant::{Grant, NewGrant};
use super::sign_in::SignIn;
use super::token::{
    CodeRedemption, IssuedTokens, NewAccessToken, NewCode, NewRefreshToken, TokenRecord,
};
use crate::audit::AuditEntry;
use crate::page::{Page, PageRequest};
use crate::scope::ScopeSet;
use crate::secret::TokenHash;
use crate::store::StoreResult;

/// An application to register.
#[derive(Debug, Clone)]
pub struct NewApplication {
    /// Its public identifier.
    pub client_id: String,
    /// The owning account.
    pub account_id: i64,
    /// Confidential or public.
    pub client_type: ClientType,
    /// SHA-256 of the client secret, for confidential clients.
    pub secret_hash: Option<TokenHash>,
    /// The settings.
    pub settings: ApplicationSettings,
    /// Creation time.
    pub created_at: OffsetDateTime,
}

/// Applications.
pub trait ApplicationStore: Send + Sync {
    /// Registers an application. Conflict if the client id is taken.
    fn create_application(
        &self,
        app: NewApplication,
        audit: AuditEntry,
    ) -> impl Future<Output = StoreResult<Application>> + Send;
    /// The live application whose current secret, or previous one, has this hash (whether or
    /// not the previous one still works).
    fn application_by_secret(
        &self,
        hash: &TokenHash,
    ) -> impl Future<Output = StoreResult<Option<Application>>> + Send;
    /// Clears the secret with this hash, current or previous, so it authenticates no more;
    /// `NotFound` when the application holds no such secret (any more) or is deleted.
    fn revoke_application_secret(
        &self,
        id: i64,
        hash: &TokenHash,
        now: OffsetDateTime,
        audit: AuditEntry,
    ) -> impl Future<Output = StoreResult<Application>> + Send;
    /// The live application with this client id.
    fn application_by_client_id(
        &self,
        client_id: &str,
    ) -> impl Future<Output = StoreResult<Option<Application>>> + Send;
    /// The live application with this id in this account.
    fn application_in_account(
        &self,
        account_id: i64,
        id: i64,
    ) -> impl Future<Output = StoreResult<Option<Application>>> + Send;
    /// Live applications of an account, oldest first.
    fn list_applications(
        &self,
        account_id: i64,
        page: PageRequest,
    ) -> impl Future<Output = StoreResult<Page<Application>>> + Send;
    /// Replaces an application's settings.
    fn update_application(
        &self,
        id: i64,
        settings: &ApplicationSettings,
        now: OffsetDateTime,
        audit: AuditEntry,
    ) -> impl Future<Output = StoreResult<Application>> + Send;
    /// Sets whether the application's `introspect` permission reaches every account's tokens.
    /// Operator-only: no REST or web path calls it.
    fn set_introspect_all_accounts(
        &self,
        id: i64,
        all_accounts: bool,
        now: OffsetDateTime,
        audit: AuditEntry,
    ) -> impl Future<Output = StoreResult<Application>> + Send;
    /// Sets a new secret; the current one stays valid until `previous_valid_until`.
    fn rotate_application_secret(
        &self,
        id: i64,
        new_hash: TokenHash,
        previous_valid_until: OffsetDateTime,
        now: OffsetDateTime,
        audit: AuditEntry,
    ) -> impl Future<Output = StoreResult<Application>> + Send;
    /// Deletes an application: every grant, code and token of it is revoked.
    fn delete_application(
        &self,
        id: i64,
        now: OffsetDateTime,
        audit: AuditEntry,
    ) -> impl Future<Output = StoreResult<()>> + Send;
}

/// Grants.
pub trait GrantStore: Send + Sync {
    /// Records a new grant.
    fn create_grant(
        &self,
        user_id: i64,
        account_id: i64,
        application_id: i64,
        scopes: ScopeSet,
        now: OffsetDateTime,
        audit: AuditEntry,
    ) -> impl Future<Output = StoreResult<Grant>> + Send;
    /// The newest standing grant of a user to an application in an account.
    fn active_grant(
        &self,
        user_id: i64,
        account_id: i64,
        application_id: i64,
    ) -> impl Future<Output = StoreResult<Option<Grant>>> + Send;
    /// Standing grants of a user in an account, with their applications, newest first.
    fn grants_of_user(
        &self,
        user_id: i64,
        account_id: i64,
    ) -> impl Future<Output = StoreResult<Vec<(Grant, Application)>>> + Send;
    /// Revokes every standing grant of a user to an application in an account, and every code
    /// and token under them. Returns how many grants were revoked.
    fn revoke_grants(
        &self,
        user_id: i64,
        account_id: i64,
        application_id: i64,
        now: OffsetDateTime,
        audit: AuditEntry,
    ) -> impl Future<Output = StoreResult<u64>> + Send;
}

/// Codes and tokens.
pub trait TokenStore: Send + Sync {
    /// Stores an authorization code.
    fn create_code(&self, code: NewCode) -> impl Future<Output = StoreResult<i64>> + Send;
    /// Spends a code: exactly one caller ever sees `Redeemed`.
    fn redeem_code(
        &self,
        hash: &TokenHash,
        now: OffsetDateTime,
    ) -> impl Future<Output = StoreResult<CodeRedemption>> + Send;
    /// Revokes every token issued from a code (after a replay).
    fn revoke_tokens_of_code(
        &self,
        code_id: i64,
        now: OffsetDateTime,
        audit: AuditEntry,
    ) -> impl Future<Output = StoreResult<()>> + Send;
    /// Stores an access token, and a refresh token starting a new family when given.
    fn issue_tokens(
        &self,
        grant_id: i64,
        access: NewAccessToken,
        refresh: Option<NewRefreshToken>,
    ) -> impl Future<Output = StoreResult<IssuedTokens>> + Send;
    /// The access token with this hash, whatever its state.
    fn access_token(
        &self,
        hash: &TokenHash,
    ) -> impl Future<Output = StoreResult<Option<TokenRecord>>> + Send;
    /// The refresh token with this hash, whatever its state.
    fn refresh_token(
        &self,
        hash: &TokenHash,
    ) -> impl Future<Output = StoreResult<Option<TokenRecord>>> + Send;
    /// Spends refresh token `spent_id` and stores its successors in the same family. `None`
    /// when it was already spent or revoked: then nothing is stored.
    fn rotate_refresh_token(
        &self,
        spent_id: i64,
        family_id: i64,
        grant_id: i64,
        now: OffsetDateTime,
        access: NewAccessToken,
        refresh: NewRefreshToken,
    ) -> impl Future<Output = StoreResult<Option<IssuedTokens>>> + Send;
    /// Revokes a whole refresh family: every refresh and access token in it.
    fn revoke_family(
        &self,
        family_id: i64,
        now: OffsetDateTime,
        audit: Option<AuditEntry>,
    ) -> impl Future<Output = StoreResult<()>> + Send;
    /// Revokes one access token, writing `audit` (if given) in the same transaction when the
    /// token was not revoked yet.
    fn revoke_access_token(
        &self,
        id: i64,
        now: OffsetDateTime,
        audit: Option<AuditEntry>,
    ) -> impl Future<Output = StoreResult<()>> + Send;
}

/// Device authorizations (RFC 8628).
pub trait DeviceStore: Send + Sync {
    /// Stores a device authorization. Conflict when the user code is taken (draw another).
    fn create_device_code(
        &self,
        device: NewDeviceCode,
    ) -> impl Future<Output = StoreResult<i64>> + Send;
    /// Stores a device authorization unless its application already holds `max_pending`
    /// pending, unexpired ones (checked in the same statement). Conflict when the user code is
    /// taken (draw another).
    fn create_device_code_within(
        &self,
        device: NewDeviceCode,
        max_pending: u32,
    ) -> impl Future<Output = StoreResult<DeviceCodeSlot>> + Send;
    /// The device authorization with this (normalised) user code.
    fn device_code_by_user_code(
        &self,
        user_code: &str,
    ) -> impl Future<Output = StoreResult<Option<DeviceCodeRecord>>> + Send;
    /// Records the user's decision on a pending authorization; `false` when it was no longer
    /// pending. `grant_id` is the grant made on approval; `None` denies.
    fn decide_device_code(
        &self,
        id: i64,
        grant_id: Option<i64>,
    ) -> impl Future<Output = StoreResult<bool>> + Send;
    /// Approves a pending device authorization that has not expired at `grant.created_at`:
    /// records `grant` with `audit` (its account and id added), the decision, and the
    /// approving user's `sign_in` in one transaction. `None` when the code was no longer
    /// pending or had expired: then nothing is written.
    fn approve_device_code(
        &self,
        id: i64,
        grant: NewGrant,
        sign_in: &SignIn,
        audit: AuditEntry,
    ) -> impl Future<Output = StoreResult<Option<Grant>>> + Send;
    /// Denies a pending device authorization that has not expired at `now`, writing `audit`
    /// in the same transaction; `false` when it was no longer pending or had expired: then
    /// nothing is written.
    fn deny_device_code(
        &self,
        id: i64,
        now: OffsetDateTime,
        audit: AuditEntry,
    ) -> impl Future<Output = StoreResult<bool>> + Send;
    /// The device authorization with this device code, recording this poll. The record shows
    /// the previous poll's time, for `slow_down`.
    fn poll_device_code(
        &self,
        hash: &TokenHash,
        now: OffsetDateTime,
    ) -> impl Future<Output = StoreResult<Option<DeviceCodeRecord>>> + Send;
    /// Raises the polling interval after polling too fast.
    fn slow_down_device_code(
        &self,
        id: i64,
        interval_secs: i64,
    ) -> impl Future<Output = StoreResult<()>> + Send;
    /// Marks an approved authorization redeemed; `true` for exactly one caller.
    fn redeem_device_code(&self, id: i64) -> impl Future<Output = StoreResult<bool>> + Send;
}
