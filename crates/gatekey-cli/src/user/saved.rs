//! Saved logins: which client id and method the user logged in with at each server, and
//! where that server's tokens are cached. Under `$XDG_CONFIG_HOME/gatekey` (or
//! `~/.config/gatekey`): `logins.json` (no secrets) and `tokens/<server>.json` (mode 0600,
//! written by the client library).

use std::collections::BTreeMap;
use std::path::PathBuf;

use anyhow::{bail, Context};
use gatekey_client::{AuthenticationMethod, ConnectionOptions};
use serde::{Deserialize, Serialize};

/// One saved login.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Login {
    pub server: String,
    pub client_id: String,
    pub method: String,
    #[serde(default)]
    pub scope: Option<String>,
    #[serde(skip)]
    pub cache: PathBuf,
}

impl Login {
    /// The connection of this login, with its token cache.
    pub fn options(&self) -> anyhow::Result<ConnectionOptions> {
        let method: AuthenticationMethod = self.method.parse()?;
        let mut builder = ConnectionOptions::builder(&self.server)
            .method(method)
            .client_id(&self.client_id)
            .token_cache(&self.cache);
        if let Some(scope) = &self.scope {
            builder = builder.scope(scope);
        }
        Ok(builder.build()?)
    }
}

/// Every saved login, and the last one used.
#[derive(Debug, Default, Serialize, Deserialize)]
pub struct Logins {
    #[serde(default)]
    current: Option<String>,
    #[serde(default)]
    logins: BTreeMap<String, Login>,
}

impl Logins {
    /// Reads `logins.json`; none saved yet is an empty list.
    pub fn load() -> anyhow::Result<Self> {
        let path = folder()?.join("logins.json");
        match std::fs::read(&path) {
            Ok(bytes) => serde_json::from_slice(&bytes)
                .with_context(|| format!("{} is not readable JSON", path.display())),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Self::default()),
            Err(e) => Err(e).with_context(|| format!("reading {}", path.display())),
        }
    }

    /// The login for `server`, or the current one.
    pub fn find(&self, server: Option<&str>) -> Option<Login> {
        let server = match server {
            Some(server) => server.trim_end_matches('/').to_owned(),
            None => self.current.clone()?,
        };
        let mut login = self.logins.get(&server)?.clone();
        login.cache = cache_path(&server).ok()?;
        Some(login)
    }

    /// Records `login` as the current one.
    pub fn save(mut self, login: &Login) -> anyhow::Result<()> {
        self.current = Some(login.server.clone());
        self.logins.insert(login.server.clone(), login.clone());
        self.write()
    }

    /// Forgets the login of `server`.
    pub fn forget(mut self, server: &str) -> anyhow::Result<()> {
        self.logins.remove(server);
        if self.current.as_deref() == Some(server) {
            self.current = self.logins.keys().next().cloned();
        }
        self.write()
    }

    fn write(&self) -> anyhow::Result<()> {
        let folder = folder()?;
        std::fs::create_dir_all(&folder)
            .with_context(|| format!("creating {}", folder.display()))?;
        let path = folder.join("logins.json");
        let temporary = folder.join(".logins.json.tmp");
        std::fs::write(&temporary, serde_json::to_vec_pretty(self)?)
            .and_then(|()| std::fs::rename(&temporary, &path))
            .with_context(|| format!("writing {}", path.display()))
    }
}

/// The token cache of `server`: one file per server.
pub fn cache_path(server: &str) -> anyhow::Result<PathBuf> {
    let name: String = server
        .trim_end_matches('/')
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '.' || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect();
    Ok(folder()?.join("tokens").join(format!("{name}.json")))
}

/// `$XDG_CONFIG_HOME/gatekey`, or `~/.config/gatekey`.
fn folder() -> anyhow::Result<PathBuf> {
    if let Some(config) = std::env::var_os("XDG_CONFIG_HOME").filter(|v| !v.is_empty()) {
        return Ok(PathBuf::from(config).join("gatekey"));
    }
    match std::env::var_os("HOME").filter(|v| !v.is_empty()) {
        Some(home) => Ok(PathBuf::from(home).join(".config").join("gatekey")),
        None => bail!("neither XDG_CONFIG_HOME nor HOME is set: cannot save the login"),
    }
}
