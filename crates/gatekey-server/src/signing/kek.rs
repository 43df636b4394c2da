//! Finding the key-encryption key at start: the configured key, else the configured file,
//! else, on SQLite only, a file `signing-key-encryption-key` beside the database, made on the
//! first start with mode 0600. On PostgreSQL several replicas must share one key, so none
//! configured stops the start with a message naming the setting.

use std::io::Write;
use std::path::{Path, PathBuf};

use gatekey_core::oauth::signing_key_material::{KeyEncryptionKey, KeyMaterialError};

use crate::config::SigningConfig;

/// The name of the key file made beside an SQLite database.
pub const GENERATED_KEK_FILE: &str = "signing-key-encryption-key";

/// Why no key-encryption key could be had.
#[derive(Debug, thiserror::Error)]
pub enum KekError {
    /// The configured key is not 32 bytes of base64.
    #[error("{setting}: {source}")]
    Malformed {
        /// Where it came from.
        setting: String,
        /// What is wrong.
        source: KeyMaterialError,
    },
    /// The key file could not be read or written.
    #[error("key-encryption key file {path}: {source}")]
    File {
        /// The file.
        path: String,
        /// Why.
        source: std::io::Error,
    },
    /// PostgreSQL with no key configured.
    #[error(
        "no key-encryption key for the signing keys: on PostgreSQL every replica needs the same \
         one. Set GATEKEY_SIGNING__KEY_ENCRYPTION_KEY (or signing.key_encryption_key_file) to 32 \
         random bytes in base64, made with `openssl rand -base64 32`, and keep it out of the \
         database's backups"
    )]
    MissingOnPostgres,
}

/// Where the key came from, for the start-up message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KekSource {
    /// `signing.key_encryption_key`.
    Configured,
    /// A file that existed (configured, or made by an earlier start).
    File(PathBuf),
    /// A file made just now, beside the SQLite database.
    Generated(PathBuf),
}

/// The key-encryption key under `config`, for a database whose data folder is `data_folder`
/// (SQLite) or `None` (PostgreSQL).
pub fn find_kek(
    config: &SigningConfig,
    data_folder: Option<&Path>,
) -> Result<(KeyEncryptionKey, KekSource), KekError> {
    if let Some(text) = &config.key_encryption_key {
        let kek = KeyEncryptionKey::from_base64(text).map_err(|source| KekError::Malformed {
            setting: "signing.key_encryption_key".into(),
            source,
        })?;
        return Ok((kek, KekSource::Configured));
    }
    let (path, may_generate) = match (&config.key_encryption_key_file, data_folder) {
        (Some(path), _) => (path.clone(), false),
        (None, Some(folder)) => (folder.join(GENERATED_KEK_FILE), true),
        (None, None) => return Err(KekError::MissingOnPostgres),
    };
    let file_error = |source| KekError::File {
        path: path.display().to_string(),
        source,
    };
    match std::fs::read_to_string(&path) {
        Ok(text) => {
            let kek =
                KeyEncryptionKey::from_base64(&text).map_err(|source| KekError::Malformed {
                    setting: path.display().to_string(),
                    source,
                })?;
            Ok((kek, KekSource::File(path)))
        }
        Err(error) if may_generate && error.kind() == std::io::ErrorKind::NotFound => {
            let kek = KeyEncryptionKey::generate();
            write_private_file(&path, &kek.to_base64()).map_err(file_error)?;
            Ok((kek, KekSource::Generated(path)))
        }
        Err(error) => Err(file_error(error)),
    }
}

/// Creates `path` (never overwriting) readable by its owner only, holding `text`.
fn write_private_file(path: &Path, text: &str) -> std::io::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(path)?;
    file.write_all(text.as_bytes())?;
    file.write_all(b"\n")?;
    file.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn on_sqlite_a_missing_key_is_made_once_beside_the_database_for_its_owner_only() {
        let folder = tempfile::tempdir().expect("folder");
        let config = SigningConfig::default();
        let (made, source) = find_kek(&config, Some(folder.path())).expect("made");
        let path = folder.path().join(GENERATED_KEK_FILE);
        assert_eq!(source, KekSource::Generated(path.clone()));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).expect("file").permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        let (again, source) = find_kek(&config, Some(folder.path())).expect("read");
        assert_eq!(source, KekSource::File(path));
        assert_eq!(again.to_base64(), made.to_base64());
    }

    #[test]
    fn on_postgres_no_key_stops_the_start_naming_the_setting() {
        let error = find_kek(&SigningConfig::default(), None).expect_err("refused");
        assert!(
            error
                .to_string()
                .contains("GATEKEY_SIGNING__KEY_ENCRYPTION_KEY"),
            "{error}"
        );
    }

    #[test]
    fn a_configured_key_wins_and_a_malformed_one_is_refused() {
        let kek = KeyEncryptionKey::generate();
        let config = SigningConfig {
            key_encryption_key: Some(kek.to_base64()),
            ..SigningConfig::default()
        };
        let (found, source) = find_kek(&config, None).expect("configured");
        assert_eq!(
            (found.to_base64(), source),
            (kek.to_base64(), KekSource::Configured)
        );
        let config = SigningConfig {
            key_encryption_key: Some("short".into()),
            ..SigningConfig::default()
        };
        let error = find_kek(&config, None).expect_err("malformed");
        assert!(
            error.to_string().starts_with("signing.key_encryption_key"),
            "{error}"
        );
    }

    #[test]
    fn a_configured_file_that_is_missing_is_an_error_not_a_new_key() {
        let folder = tempfile::tempdir().expect("folder");
        let config = SigningConfig {
            key_encryption_key_file: Some(folder.path().join("absent")),
            ..SigningConfig::default()
        };
        assert!(matches!(
            find_kek(&config, Some(folder.path())),
            Err(KekError::File { .. })
        ));
    }
}
