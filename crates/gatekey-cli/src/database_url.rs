//! A database URL given on the command line, which `Debug` prints without its password.

use std::fmt;

/// `--database-url`: `sqlite://PATH` or `postgres://…`. `Debug` hides the password, so that
/// the parsed arguments can be logged.
#[derive(Clone)]
pub struct DatabaseUrl(String);

impl DatabaseUrl {
    /// The URL as given.
    pub fn into_inner(self) -> String {
        self.0
    }
}

impl From<String> for DatabaseUrl {
    fn from(url: String) -> Self {
        Self(url)
    }
}

impl fmt::Debug for DatabaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&gatekey_store::redact_database_url(&self.0), f)
    }
}
