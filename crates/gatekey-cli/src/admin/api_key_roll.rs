//! `gatekey admin api-key roll ID --grace DURATION`: a new secret for a key, the old one
//! working for the grace period.

use anyhow::{anyhow, bail};
use clap::Args;
use gatekey_core::api_key_roll::{roll_api_key, RollApiKeyError, RollGrace};
use gatekey_core::audit::Actor;
use gatekey_core::store::{ApiKeyStore, UserStore};
use gatekey_store::SqlStore;

use super::now;
use super::views::{timestamp, ApiKeyOutput, CreatedApiKeyOutput};
use crate::output::Output;

/// `api-key roll`.
#[derive(Debug, Args)]
pub struct RollArgs {
    /// The key's id.
    id: i64,
    /// How long the old secret keeps working: 0 (it stops at once) up to 7d, such as 30m, 1h
    /// or 7d.
    #[arg(long, value_parser = parse_grace)]
    grace: RollGrace,
}

/// Reads `--grace`: a duration (`0`, `30m`, `1h`, `7d`) within the bounds of [`RollGrace`].
fn parse_grace(text: &str) -> Result<RollGrace, String> {
    let duration = humantime::parse_duration(text).map_err(|e| e.to_string())?;
    time::Duration::try_from(duration)
        .ok()
        .and_then(|duration| RollGrace::new(duration).ok())
        .ok_or_else(|| "the grace must be from 0 to 7d".to_owned())
}

/// Rolls key `args.id` as the operator.
pub async fn roll(store: &SqlStore, out: Output, args: RollArgs) -> anyhow::Result<()> {
    let id = args.id;
    let Some(key) = store.api_key_by_id(id).await? else {
        bail!("no API key with id {id}");
    };
    let holder = store
        .member(key.account_id, key.user_id)
        .await?
        .ok_or_else(|| anyhow!("no API key with id {id}"))?;
    let at = now();
    let rolled = roll_api_key(
        store,
        at,
        &key,
        &holder.user,
        args.grace,
        None,
        &Actor::operator(),
    )
    .await;
    let (rolled, secret) = match rolled {
        Ok(rolled) => rolled,
        Err(RollApiKeyError::Store(error)) => return Err(error.into()),
        Err(refused) => bail!("API key {id}: {refused}"),
    };
    let old = match rolled.previous_secret_until(at) {
        Some(until) => format!(
            "The old secret {}… works until {}.",
            key.display_prefix,
            timestamp(until)
        ),
        None => format!(
            "The old secret {}… has stopped working.",
            key.display_prefix
        ),
    };
    let output = CreatedApiKeyOutput {
        key: ApiKeyOutput::new(&rolled),
        secret: secret.expose().to_owned(),
    };
    out.print(&output, || {
        format!(
            "rolled API key {} ({})\n{}\nThis secret is shown only once. {old}",
            rolled.id,
            rolled.name,
            secret.expose()
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_grace_is_a_duration_up_to_seven_days() {
        let seconds = |text| parse_grace(text).map(|g| g.duration().whole_seconds());
        assert_eq!(seconds("0"), Ok(0));
        assert_eq!(seconds("30m"), Ok(1800));
        assert_eq!(seconds("1h"), Ok(3600));
        assert_eq!(seconds("7d"), Ok(604_800));
        assert!(parse_grace("8d").is_err());
        assert!(parse_grace("-1h").is_err());
        assert!(parse_grace("soon").is_err());
    }
}
