//! Revoking one application's access for one user in one account, shared by the page and the
//! REST API.

use gatekey_core::audit::{Actor, AuditAction, AuditEntry};
use gatekey_core::oauth::store::{ApplicationStore, GrantStore};
use gatekey_core::principal::Principal;
use gatekey_core::store::StoreError;

use crate::state::AppState;

/// Revokes every grant `principal`'s user gave `client_id` in `principal`'s account, with every
/// code and token under them; other applications are untouched. `false` if there was none.
pub async fn revoke_application_for(
    state: &AppState,
    principal: &Principal,
    client_id: &str,
    actor: &Actor,
) -> Result<bool, StoreError> {
    let Some(application) = state.store.application_by_client_id(client_id).await? else {
        return Ok(false);
    };
    let now = state.clock.now();
    let audit =
        AuditEntry::new(now, actor, AuditAction::GrantRevoked, "application").target(client_id);
    let revoked = state
        .store
        .revoke_grants(
            principal.user.id,
            principal.account.id,
            application.id,
            now,
            audit,
        )
        .await?;
    Ok(revoked > 0)
}
