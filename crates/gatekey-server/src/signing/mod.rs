//! Signing keys in the server: the key-encryption key found at start ([`kek`]), and the keys
//! held in memory ([`key_set`]), from which the JWKS is served without reading the database.
//! Every replica reloads them every `signing.refresh_interval`, creating or retiring keys when
//! the schedule of `gatekey_core::oauth::signing_key_schedule` says so; the retention purge
//! deletes the keys retired longer than `retention.retired_signing_key_days`.

pub mod kek;
pub mod key_set;

use gatekey_core::audit::Actor;
use gatekey_core::oauth::signing_key_rotation::{
    maintain_signing_keys, purge_retired_keys, SigningKeyError,
};
use gatekey_core::oauth::signing_key_schedule::{SigningAlgorithm, SigningKeyPolicy};
use gatekey_core::store::StoreResult;
use time::Duration;

use crate::config::Config;
use crate::state::AppState;

/// The algorithms the server keeps a key of: ES256 for access tokens (a small, fast
/// signature), RS256 for ID tokens (OpenID Connect Core §15.1 requires it), EdDSA for the
/// applications that ask their ID tokens in it.
pub const SIGNING_ALGORITHMS: [SigningAlgorithm; 3] = [
    SigningAlgorithm::Es256,
    SigningAlgorithm::Rs256,
    SigningAlgorithm::EdDsa,
];

/// The rotation timings of `config`. A key stays published for the longest token it signs:
/// a JWT access token or an ID token.
pub fn policy(config: &Config) -> SigningKeyPolicy {
    let seconds = |s: u64| Duration::seconds(i64::try_from(s).unwrap_or(i64::MAX));
    SigningKeyPolicy {
        rotation_interval: seconds(config.signing.rotation_interval),
        publish_ahead: seconds(config.signing.publish_ahead),
        longest_token_lifetime: seconds(config.jwt_access_token_ttl.max(config.id_token_ttl)),
    }
}

/// Brings the stored keys up to the schedule at the clock's time and loads them into memory.
pub async fn refresh_signing_keys(state: &AppState) -> Result<(), SigningKeyError> {
    let keys = maintain_signing_keys(
        &state.store,
        state.signing_keys.kek(),
        &SIGNING_ALGORITHMS,
        &policy(&state.config),
        state.clock.now(),
    )
    .await?;
    state.signing_keys.replace(&keys)?;
    Ok(())
}

/// Deletes the keys retired for longer than `retention.retired_signing_key_days` (none when it
/// is 0), as the server, and answers their ids. Retired keys are loaded by no server, so none
/// needs telling.
pub async fn purge_retired_signing_keys(state: &AppState) -> StoreResult<Vec<String>> {
    let now = state.clock.now();
    match state.config.retention.retired_signing_keys_cutoff(now) {
        Some(cutoff) => purge_retired_keys(&state.store, cutoff, &Actor::server(), now).await,
        None => Ok(Vec::new()),
    }
}
