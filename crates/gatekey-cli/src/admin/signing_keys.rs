//! `gatekey admin signing-key list|rotate|purge|rewrap`: the signing keys, straight on the
//! database. A rotation publishes a new key at once; it signs after `signing.publish_ahead`,
//! and running servers load it at their next refresh (`signing.refresh_interval`), long before
//! that. A purge deletes retired keys, which no server loads. Every change is audited as the
//! operator's.

use anyhow::{anyhow, bail, Context};
use clap::Subcommand;
use gatekey_core::audit::Actor;
use gatekey_core::clock::{from_millis, to_millis};
use gatekey_core::oauth::signing_key_rotation::{add_key, check_kek_opens, purge_retired_keys};
use gatekey_core::oauth::signing_key_schedule::{
    plan_keys, rotate_now, KeyState, ScheduledKey, SigningAlgorithm,
};
use gatekey_core::oauth::signing_key_store::SigningKeyStore;
use gatekey_server::signing::kek::{find_kek, KekSource};
use gatekey_server::signing::{policy, SIGNING_ALGORITHMS};
use gatekey_server::Config;
use gatekey_store::SqlStore;
use serde::Serialize;
use time::format_description::well_known::Rfc3339;
use time::{Duration, OffsetDateTime};

use super::now;
use super::signing_key_rewrap::{rewrap, RewrapArgs};
use crate::output::Output;

#[derive(Debug, Subcommand)]
pub enum SigningKeyCommand {
    /// List every signing key, retired ones too, with its state.
    List,
    /// Publish a new key of each algorithm (or of `--algorithm`); it signs after
    /// `signing.publish_ahead`. Nothing is added for an algorithm whose next key already waits.
    Rotate {
        /// ES256 or RS256; both when absent.
        #[arg(long)]
        algorithm: Option<String>,
    },
    /// Delete the keys retired for longer than `retention.retired_signing_key_days` (or
    /// `--older-than-days`). A key not retired is never deleted.
    Purge {
        /// Days since retirement; 0 deletes every retired key.
        #[arg(long, value_name = "DAYS")]
        older_than_days: Option<u64>,
    },
    /// Seal every stored key, retired ones too, under a new key-encryption key, in one
    /// transaction. Then switch every server to the new key.
    Rewrap(RewrapArgs),
}

#[derive(Serialize)]
struct PurgeOutput {
    purged: Vec<String>,
}

/// One key as `list --json` prints it.
#[derive(Serialize)]
struct KeyView {
    kid: String,
    algorithm: String,
    generation: i64,
    state: String,
    created_at: String,
    activates_at: String,
    retired_at: Option<String>,
}

#[derive(Serialize)]
struct KeyListOutput {
    signing_keys: Vec<KeyView>,
}

fn timestamp(at: OffsetDateTime) -> String {
    at.format(&Rfc3339).unwrap_or_default()
}

fn state_name(state: Option<KeyState>) -> &'static str {
    match state {
        Some(KeyState::Published) => "published",
        Some(KeyState::Current) => "current",
        Some(KeyState::Retiring { .. }) => "retiring",
        Some(KeyState::Retired) | None => "retired",
    }
}

fn views(keys: &[ScheduledKey], config: &Config, at: OffsetDateTime) -> Vec<KeyView> {
    let plan = plan_keys(keys, &[], &policy(config), at);
    keys.iter()
        .map(|key| KeyView {
            kid: key.kid.clone(),
            algorithm: key.algorithm.to_string(),
            generation: key.generation,
            state: state_name(plan.state_of(&key.kid)).into(),
            created_at: timestamp(key.created_at),
            activates_at: timestamp(key.activates_at),
            retired_at: key.retired_at.map(timestamp),
        })
        .collect()
}

async fn schedule(store: &SqlStore) -> anyhow::Result<Vec<ScheduledKey>> {
    let keys = store.signing_keys().await?;
    Ok(keys.into_iter().map(|key| key.schedule).collect())
}

fn print_keys(out: Output, keys: Vec<KeyView>) -> anyhow::Result<()> {
    let lines: Vec<String> = keys
        .iter()
        .map(|key| {
            format!(
                "{}  {}  {:<9}  signs from {}",
                key.kid, key.algorithm, key.state, key.activates_at
            )
        })
        .collect();
    out.print(&KeyListOutput { signing_keys: keys }, || lines.join("\n"))
}

pub async fn run(
    store: &SqlStore,
    config: &Config,
    out: Output,
    command: SigningKeyCommand,
) -> anyhow::Result<()> {
    // As stored: to the millisecond, so what `rotate` prints is what `list` will.
    let at = from_millis(to_millis(now()));
    match command {
        SigningKeyCommand::List => print_keys(out, views(&schedule(store).await?, config, at)),
        SigningKeyCommand::Rotate { algorithm } => {
            let algorithms: Vec<SigningAlgorithm> = match algorithm {
                Some(name) => {
                    let algorithm: SigningAlgorithm = name.parse()?;
                    if !SIGNING_ALGORITHMS.contains(&algorithm) {
                        return Err(anyhow!("the server keeps no {algorithm} key"));
                    }
                    vec![algorithm]
                }
                None => SIGNING_ALGORITHMS.to_vec(),
            };
            let (kek, source) = find_kek(&config.signing, store.data_folder().as_deref())?;
            if let KekSource::Generated(path) = source {
                eprintln!(
                    "gatekey: made a key-encryption key for the signing keys at {} (mode 0600); \
                     back it up apart from the database",
                    path.display()
                );
            }
            check_kek_opens(&kek, &store.signing_keys().await?)
                .context("refusing to add keys beside ones this key-encryption key cannot open")?;
            let before = schedule(store).await?;
            let mut added = Vec::new();
            for algorithm in algorithms {
                if let Some(create) = rotate_now(&before, algorithm, &policy(config), at) {
                    let operator = Actor::operator();
                    if let Some(key) = add_key(store, &kek, &create, &operator, at).await? {
                        added.push(key.schedule);
                    }
                }
            }
            print_keys(out, views(&added, config, at))
        }
        SigningKeyCommand::Purge { older_than_days } => {
            let days = match older_than_days {
                Some(days) => days,
                None if config.retention.retired_signing_key_days > 0 => {
                    config.retention.retired_signing_key_days
                }
                None => bail!(
                    "retention.retired_signing_key_days is 0 (retired keys are kept forever); \
                     pass --older-than-days to purge anyway"
                ),
            };
            let days = i64::try_from(days).unwrap_or(i64::MAX);
            let Some(cutoff) = at.checked_sub(Duration::days(days.min(365_000))) else {
                bail!("--older-than-days reaches back too far");
            };
            let purged = purge_retired_keys(store, cutoff, &Actor::operator(), at).await?;
            let human = format!("purged {} retired signing key(s)", purged.len());
            out.print(&PurgeOutput { purged }, || human)
        }
        SigningKeyCommand::Rewrap(args) => rewrap(store, config, out, args, at).await,
    }
}
