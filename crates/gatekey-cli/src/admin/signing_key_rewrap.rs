//! `gatekey admin signing-key rewrap`: seals every stored signing key, retired ones too, under a
//! new key-encryption key, in one transaction. The new key is read from a file or standard
//! input, never from the command line, where other users and the shell's history would see it.
//! The current key is the one the configuration names, as for the server.

use std::io::Read;
use std::path::PathBuf;

use anyhow::{bail, Context};
use clap::Args;
use gatekey_core::audit::Actor;
use gatekey_core::oauth::signing_key_material::KeyEncryptionKey;
use gatekey_core::oauth::signing_key_rewrap::{opens_every_key, rewrap_signing_keys};
use gatekey_core::oauth::signing_key_rotation::SigningKeyError;
use gatekey_core::oauth::signing_key_store::SigningKeyStore;
use gatekey_core::store::StoreError;
use gatekey_server::signing::kek::{find_kek, KekSource};
use gatekey_server::Config;
use gatekey_store::SqlStore;
use serde::Serialize;
use time::OffsetDateTime;

use crate::output::Output;

/// `signing-key rewrap`.
#[derive(Debug, Args)]
pub struct RewrapArgs {
    /// A file holding the new key-encryption key: 32 random bytes in base64
    /// (`openssl rand -base64 32`).
    #[arg(
        long,
        value_name = "PATH",
        required_unless_present = "new_key_encryption_key_stdin"
    )]
    new_key_encryption_key_file: Option<PathBuf>,
    /// Read the new key-encryption key from standard input instead.
    #[arg(long, conflicts_with = "new_key_encryption_key_file")]
    new_key_encryption_key_stdin: bool,
}

#[derive(Serialize)]
struct RewrapOutput {
    /// Keys sealed again under the new key-encryption key.
    rewrapped: Vec<String>,
    /// Keys found sealed under it already (by an earlier run).
    already_rewrapped: Vec<String>,
}

fn new_kek(args: &RewrapArgs) -> anyhow::Result<KeyEncryptionKey> {
    let (text, from) = match &args.new_key_encryption_key_file {
        Some(path) => (
            std::fs::read_to_string(path).with_context(|| {
                format!("reading the new key-encryption key {}", path.display())
            })?,
            path.display().to_string(),
        ),
        None => {
            let mut text = String::new();
            std::io::stdin()
                .read_to_string(&mut text)
                .context("reading the new key-encryption key from standard input")?;
            (text, "standard input".to_owned())
        }
    };
    KeyEncryptionKey::from_base64(&text)
        .with_context(|| format!("the new key-encryption key ({from})"))
}

/// Reseals every key under the new key-encryption key, then checks that it opens them all.
pub async fn rewrap(
    store: &SqlStore,
    config: &Config,
    out: Output,
    args: RewrapArgs,
    at: OffsetDateTime,
) -> anyhow::Result<()> {
    let new = new_kek(&args)?;
    let (current, source) = find_kek(&config.signing, store.data_folder().as_deref())?;
    if let KekSource::Generated(path) = source {
        // There was none: nothing stored can be under a key made just now.
        std::fs::remove_file(&path).ok();
        bail!(
            "no key-encryption key is configured and {} does not exist: the stored keys cannot \
             be opened",
            path.display()
        );
    }
    if current.to_base64() == new.to_base64() {
        bail!("the new key-encryption key is the one configured now");
    }
    let report = match rewrap_signing_keys(store, &current, &new, &Actor::operator(), at).await {
        Err(SigningKeyError::Store(StoreError::Conflict(_))) => bail!(
            "the signing keys changed while being resealed (a server rotated, retired or purged \
             one); nothing was changed: run the command again"
        ),
        Err(SigningKeyError::Material(error)) => {
            return Err(error).context(
                "neither the configured nor the new key-encryption key opens a stored key; \
                 nothing was changed",
            )
        }
        other => other?,
    };
    opens_every_key(&new, &store.signing_keys().await?)
        .context("after resealing, the new key-encryption key does not open every key")?;
    let human = format!(
        "resealed {} signing key(s) under the new key-encryption key ({} already were). \
         Now give every server the new key-encryption key and restart it.",
        report.rewrapped.len(),
        report.already.len()
    );
    out.print(
        &RewrapOutput {
            rewrapped: report.rewrapped,
            already_rewrapped: report.already,
        },
        || human,
    )
}
