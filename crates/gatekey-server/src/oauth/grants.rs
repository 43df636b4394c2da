//! Revoking one application's access for one user in one account ([`revoke_application_for`]
//! of core), shared by the page and the REST API, with this server's cache dropped at once.

use gatekey_core::audit::Actor;
use gatekey_core::oauth::consent;
use gatekey_core::principal::Principal;
use gatekey_core::store::StoreError;

use crate::state::AppState;

/// Revokes every grant `principal`'s user gave `client_id` in `principal`'s account, with every
/// code and token under them ([`consent::revoke_application_for`]); other applications are
/// untouched. `false` if there was none.
pub async fn revoke_application_for(
    state: &AppState,
    principal: &Principal,
    client_id: &str,
    actor: &Actor,
) -> Result<bool, StoreError> {
    let revoked = consent::revoke_application_for(
        &state.store,
        state.clock.now(),
        principal.user.id,
        principal.account.id,
        client_id,
        actor,
    )
    .await?;
    Ok(revoked.is_some())
}
