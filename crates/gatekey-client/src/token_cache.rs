//! `TokenCache`: the file that keeps a connection's tokens between runs.
//!
//! The file is JSON, readable and writable by its owner only (mode 0600; a file that others
//! can read is refused, as ssh refuses a private key), and it is replaced atomically: the new
//! content goes to a temporary file in the same folder, is flushed to disk, and is renamed over
//! the old one, so a crash leaves either the old tokens or the new ones, never half a file.
//!
//! It records which server and client the tokens belong to, and a digest of the credential the
//! chain of tokens started from (`RefreshToken` or `OAuthCode`). A cache written for another
//! server or client, or started from another credential than the one now configured, is
//! ignored: the user supplied something new and it wins over what is cached.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::tokens::TokenSet;
use crate::{ClientError, Identity};

const VERSION: u32 = 1;

/// Where the tokens of one connection are kept.
#[derive(Debug, Clone)]
pub(crate) struct TokenCache {
    path: PathBuf,
    server: String,
    client_id: String,
    seed: Option<String>,
}

#[derive(Serialize, Deserialize)]
struct CacheFile {
    version: u32,
    server: String,
    client_id: String,
    #[serde(default)]
    seed: Option<String>,
    access_token: String,
    #[serde(default)]
    refresh_token: Option<String>,
    #[serde(default)]
    expires_at_ms: Option<u64>,
    #[serde(default)]
    renew_at_ms: Option<u64>,
    #[serde(default)]
    scope: Option<String>,
    #[serde(default)]
    account: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    id_token: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    identity: Option<Identity>,
}

impl TokenCache {
    /// The cache at `path` for `client_id` at `server`; `seed` is the configured credential
    /// the tokens descend from, if any.
    pub(crate) fn new(
        path: &Path,
        server: &str,
        client_id: &str,
        seed: Option<&SecretString>,
    ) -> Self {
        Self {
            path: path.to_owned(),
            server: server.to_owned(),
            client_id: client_id.to_owned(),
            seed: seed.map(|s| hex(&Sha256::digest(s.expose_secret().as_bytes()))),
        }
    }

    /// The cached tokens, if the file exists and belongs to this connection.
    pub(crate) async fn load(&self) -> Result<Option<TokenSet>, ClientError> {
        let cache = self.clone();
        run_blocking(move || cache.load_blocking()).await
    }

    /// Replaces the cached tokens with `tokens`; returns once they are on disk.
    pub(crate) async fn save(&self, tokens: &TokenSet) -> Result<(), ClientError> {
        let file = CacheFile {
            version: VERSION,
            server: self.server.clone(),
            client_id: self.client_id.clone(),
            seed: self.seed.clone(),
            access_token: tokens.access_token.expose_secret().to_owned(),
            refresh_token: tokens
                .refresh_token
                .as_ref()
                .map(|t| t.expose_secret().to_owned()),
            expires_at_ms: tokens.expires_at.map(to_millis),
            renew_at_ms: tokens.renew_at.map(to_millis),
            scope: tokens.scope.clone(),
            account: tokens.account.clone(),
            id_token: tokens
                .id_token
                .as_ref()
                .map(|t| t.expose_secret().to_owned()),
            identity: tokens.identity.clone(),
        };
        let cache = self.clone();
        run_blocking(move || cache.write_blocking(&file)).await
    }

    /// Deletes the file; a missing file is fine.
    pub(crate) async fn remove(&self) -> Result<(), ClientError> {
        let cache = self.clone();
        run_blocking(move || match fs::remove_file(&cache.path) {
            Ok(()) => Ok(()),
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(error) => Err(cache.error(error)),
        })
        .await
    }

    fn load_blocking(&self) -> Result<Option<TokenSet>, ClientError> {
        let text = match fs::read_to_string(&self.path) {
            Ok(text) => text,
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(error) => return Err(self.error(error)),
        };
        self.check_private()?;
        let file: CacheFile = serde_json::from_str(&text)
            .map_err(|_| self.error("not a gatekey token cache (unreadable JSON)"))?;
        if file.version != VERSION
            || file.server != self.server
            || file.client_id != self.client_id
            || (self.seed.is_some() && file.seed != self.seed)
        {
            return Ok(None);
        }
        Ok(Some(TokenSet {
            access_token: SecretString::from(file.access_token),
            refresh_token: file.refresh_token.map(SecretString::from),
            expires_at: file.expires_at_ms.map(from_millis),
            renew_at: file.renew_at_ms.map(from_millis),
            scope: file.scope,
            account: file.account,
            id_token: file.id_token.map(SecretString::from),
            identity: file.identity,
        }))
    }

    #[cfg(unix)]
    fn check_private(&self) -> Result<(), ClientError> {
        use std::os::unix::fs::PermissionsExt;
        let mode = fs::metadata(&self.path)
            .map_err(|e| self.error(e))?
            .permissions()
            .mode();
        if mode & 0o077 != 0 {
            return Err(self.error(format!(
                "others may read it (mode {:o}); run chmod 600 on it or delete it",
                mode & 0o777
            )));
        }
        Ok(())
    }

    #[cfg(not(unix))]
    fn check_private(&self) -> Result<(), ClientError> {
        Ok(())
    }

    fn write_blocking(&self, file: &CacheFile) -> Result<(), ClientError> {
        let folder = match self.path.parent() {
            Some(parent) if !parent.as_os_str().is_empty() => parent.to_owned(),
            _ => PathBuf::from("."),
        };
        create_private_folder(&folder).map_err(|e| self.error(e))?;
        let json = serde_json::to_vec_pretty(file).map_err(|e| self.error(e))?;
        let name = self
            .path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "tokens".into());
        static SAVES: AtomicU64 = AtomicU64::new(0);
        let unique = SAVES.fetch_add(1, Ordering::Relaxed);
        let temporary = folder.join(format!(".{name}.{}.{unique}.tmp", std::process::id()));
        let written = (|| {
            let mut out = private_file(&temporary)?;
            out.write_all(&json)?;
            out.sync_all()?;
            fs::rename(&temporary, &self.path)?;
            // The rename itself is durable only once the folder is flushed.
            if let Ok(dir) = fs::File::open(&folder) {
                let _ = dir.sync_all();
            }
            Ok::<(), std::io::Error>(())
        })();
        if written.is_err() {
            let _ = fs::remove_file(&temporary);
        }
        written.map_err(|e| self.error(e))
    }

    fn error(&self, reason: impl ToString) -> ClientError {
        ClientError::TokenCache {
            path: self.path.display().to_string(),
            reason: reason.to_string(),
        }
    }
}

#[cfg(unix)]
fn private_file(path: &Path) -> std::io::Result<fs::File> {
    use std::os::unix::fs::OpenOptionsExt;
    fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)
}

#[cfg(not(unix))]
fn private_file(path: &Path) -> std::io::Result<fs::File> {
    fs::File::create(path)
}

#[cfg(unix)]
fn create_private_folder(folder: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::DirBuilderExt;
    if folder.is_dir() {
        return Ok(());
    }
    fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(folder)
}

#[cfg(not(unix))]
fn create_private_folder(folder: &Path) -> std::io::Result<()> {
    fs::create_dir_all(folder)
}

async fn run_blocking<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, ClientError> + Send + 'static,
) -> Result<T, ClientError> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|e| ClientError::TokenCache {
            path: String::new(),
            reason: e.to_string(),
        })?
}

fn to_millis(time: SystemTime) -> u64 {
    time.duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

fn from_millis(millis: u64) -> SystemTime {
    UNIX_EPOCH + Duration::from_millis(millis)
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tokens(access: &str, refresh: &str) -> TokenSet {
        let mut set = TokenSet::unknown_expiry(SecretString::from(access.to_owned())).expiring(
            SystemTime::now(),
            Some(Duration::from_secs(3600)),
            Duration::from_secs(60),
        );
        set.refresh_token = Some(SecretString::from(refresh.to_owned()));
        set.account = Some("acme".into());
        set
    }

    #[tokio::test]
    async fn tokens_round_trip_through_a_private_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("nested/tokens.json");
        let cache = TokenCache::new(&path, "http://s", "client", None);
        assert!(cache.load().await.unwrap().is_none());
        cache.save(&tokens("gk_at_1", "gk_rt_1")).await.unwrap();
        cache.save(&tokens("gk_at_2", "gk_rt_2")).await.unwrap();
        let loaded = cache.load().await.unwrap().unwrap();
        assert_eq!(loaded.access_token.expose_secret(), "gk_at_2");
        assert_eq!(loaded.refresh_token.unwrap().expose_secret(), "gk_rt_2");
        assert_eq!(loaded.account.as_deref(), Some("acme"));
        assert_eq!(loaded.identity, None);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = fs::metadata(&path).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o600);
            let folder = fs::metadata(path.parent().unwrap())
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(folder & 0o777, 0o700);
        }
        let leftovers: Vec<_> = fs::read_dir(path.parent().unwrap()).unwrap().collect();
        assert_eq!(leftovers.len(), 1, "no temporary file is left behind");
    }

    #[tokio::test]
    async fn a_cache_of_another_server_client_or_seed_is_ignored() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("tokens.json");
        let seed = SecretString::from("gk_rt_first");
        TokenCache::new(&path, "http://s", "client", Some(&seed))
            .save(&tokens("gk_at_1", "gk_rt_1"))
            .await
            .unwrap();
        let other_server = TokenCache::new(&path, "http://t", "client", Some(&seed));
        assert!(other_server.load().await.unwrap().is_none());
        let other_client = TokenCache::new(&path, "http://s", "other", Some(&seed));
        assert!(other_client.load().await.unwrap().is_none());
        let new_seed = SecretString::from("gk_rt_new");
        let reseeded = TokenCache::new(&path, "http://s", "client", Some(&new_seed));
        assert!(reseeded.load().await.unwrap().is_none());
        let same = TokenCache::new(&path, "http://s", "client", Some(&seed));
        assert!(same.load().await.unwrap().is_some());
    }

    #[cfg(unix)]
    #[tokio::test]
    async fn a_cache_others_can_read_is_refused() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("tokens.json");
        let cache = TokenCache::new(&path, "http://s", "client", None);
        cache.save(&tokens("gk_at_1", "gk_rt_1")).await.unwrap();
        fs::set_permissions(&path, fs::Permissions::from_mode(0o644)).unwrap();
        let error = cache.load().await.unwrap_err().to_string();
        assert!(error.contains("chmod 600"), "{error}");
        assert!(!error.contains("gk_rt_1"));
    }

    #[tokio::test]
    async fn the_identity_and_id_token_survive_a_restart() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("tokens.json");
        let cache = TokenCache::new(&path, "http://s", "client", None);
        let mut set = tokens("gk_at_1", "gk_rt_1");
        set.id_token = Some(SecretString::from("eyJ.id.sig"));
        set.identity = Some(Identity {
            subject: "42".into(),
            issuer: "http://s".into(),
            email: Some("ada@acme.test".into()),
            email_verified: Some(true),
            name: Some("Ada".into()),
            account: Some("acme".into()),
            auth_time: Some(1_900_000_000),
        });
        cache.save(&set).await.unwrap();
        let loaded = cache.load().await.unwrap().unwrap();
        assert_eq!(loaded.identity, set.identity);
        assert_eq!(loaded.id_token.unwrap().expose_secret(), "eyJ.id.sig");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = fs::metadata(&path).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o600);
        }
    }
}
