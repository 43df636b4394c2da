//! The two databases gatekey runs on, chosen by the URL's scheme, and the few SQL fragments
//! that differ between them.

use std::fmt;

/// A supported database.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// An embedded SQLite file: one machine, no setup.
    Sqlite,
    /// PostgreSQL: many stateless replicas.
    Postgres,
}

impl Backend {
    /// The backend a database URL names, by scheme.
    pub fn of_url(url: &str) -> Option<Self> {
        let scheme = url.split_once(':').map(|(scheme, _)| scheme)?;
        match scheme {
            "sqlite" => Some(Self::Sqlite),
            "postgres" | "postgresql" => Some(Self::Postgres),
            _ => None,
        }
    }

    /// An expression for the database's current time in milliseconds since the epoch. The
    /// invalidation feed is timed by the database, not by the replicas' clocks.
    pub(crate) fn now_millis_sql(self) -> &'static str {
        match self {
            Self::Sqlite => "CAST(unixepoch('subsec') * 1000 AS BIGINT)",
            Self::Postgres => "CAST(extract(epoch FROM clock_timestamp()) * 1000 AS BIGINT)",
        }
    }
}

impl fmt::Display for Backend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Sqlite => "sqlite",
            Self::Postgres => "postgres",
        })
    }
}
