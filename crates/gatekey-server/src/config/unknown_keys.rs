//! Keys the configuration does not know. A `GATEKEY_*` environment variable that names no key is
//! left out and reported, with the others, in one warning: the environment is shared with other
//! programs (a client's own variables, a shell profile), so it must not stop the server. An
//! unknown key in the TOML file stays an error, since the file is gatekey's alone. Both say which
//! known key was probably meant.

use std::collections::BTreeSet;
use std::fmt;

use figment::error::Kind;
use figment::providers::Env;

use super::{Config, NON_CONFIG_ENV};

/// The prefix of the environment variables that set configuration keys.
const ENV_PREFIX: &str = "GATEKEY_";

/// How alike (Jaro-Winkler similarity, 0 to 1) an unknown key and a known one must be for the
/// known one to be suggested. Typos (`listn`, `acess_token_ttl`) score above 0.9; unrelated
/// names (`api_key`) stay well below, and get no suggestion.
const SUGGESTION_THRESHOLD: f64 = 0.85;

/// The configuration's keys in dotted form: settings (`rate_limit.per_second`) and the sections
/// that hold them (`rate_limit`).
#[derive(Debug, Clone)]
pub(super) struct KnownKeys {
    settings: BTreeSet<String>,
    sections: BTreeSet<String>,
}

impl KnownKeys {
    /// The keys of [`Config`], read from its defaults, so that a new setting is known here
    /// without being listed twice.
    pub(super) fn of_config() -> Self {
        let mut keys = Self {
            settings: BTreeSet::new(),
            sections: BTreeSet::new(),
        };
        // The defaults are plain data (numbers, strings, addresses): serializing them cannot fail.
        if let Ok(serde_json::Value::Object(fields)) = serde_json::to_value(Config::default()) {
            keys.add_fields("", &fields);
        }
        keys
    }

    fn add_fields(&mut self, prefix: &str, fields: &serde_json::Map<String, serde_json::Value>) {
        for (name, value) in fields {
            let key = format!("{prefix}{name}");
            match value {
                serde_json::Value::Object(inner) => {
                    self.add_fields(&format!("{key}."), inner);
                    self.sections.insert(key);
                }
                _ => {
                    self.settings.insert(key);
                }
            }
        }
    }

    /// Whether `key` (dotted, lower case) is a setting or a section. A section given a value is
    /// left to figment, which refuses it as the wrong type.
    fn contains(&self, key: &str) -> bool {
        self.settings.contains(key) || self.sections.contains(key)
    }

    /// The setting most like `key`, if one is alike enough.
    fn closest_setting(&self, key: &str) -> Option<&str> {
        closest(key, self.settings.iter().map(String::as_str))
    }

    /// The `GATEKEY_*` variables that set known keys, as figment reads them (`a.b` is
    /// `GATEKEY_A__B`). The others are left out; [`IgnoredEnvVariables`] names them.
    pub(super) fn env_provider(&self) -> Env {
        let known = self.clone();
        Env::prefixed(ENV_PREFIX)
            .filter(|name| !is_non_config(name.as_str()))
            .split("__")
            .filter(move |key| known.contains(&key.as_str().to_ascii_lowercase()))
    }
}

/// Whether `name` (without the prefix) is one of [`NON_CONFIG_ENV`], read by gatekey for
/// something else than configuration.
fn is_non_config(name: &str) -> bool {
    NON_CONFIG_ENV
        .iter()
        .any(|other| name.trim().eq_ignore_ascii_case(other))
}

/// The candidate most like `unknown`, if one reaches [`SUGGESTION_THRESHOLD`].
fn closest<'a>(unknown: &str, candidates: impl Iterator<Item = &'a str>) -> Option<&'a str> {
    candidates
        .map(|candidate| (strsim::jaro_winkler(unknown, candidate), candidate))
        .filter(|(similarity, _)| *similarity >= SUGGESTION_THRESHOLD)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, candidate)| candidate)
}

/// The variable that sets `key` (`rate_limit.per_second` → `GATEKEY_RATE_LIMIT__PER_SECOND`).
fn env_name(key: &str) -> String {
    format!(
        "{ENV_PREFIX}{}",
        key.replace('.', "__").to_ascii_uppercase()
    )
}

/// `GATEKEY_*` environment variables that are neither configuration keys nor one of
/// [`NON_CONFIG_ENV`]. The configuration ignores them; `Display` is the one-line warning that
/// names them all.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IgnoredEnvVariables {
    variables: Vec<IgnoredVariable>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct IgnoredVariable {
    name: String,
    suggestion: Option<String>,
}

impl IgnoredEnvVariables {
    /// The ignored variables among `names` (the names of the process's environment).
    pub(super) fn among(known: &KnownKeys, names: impl IntoIterator<Item = String>) -> Self {
        let mut variables: Vec<IgnoredVariable> = names
            .into_iter()
            .filter_map(|name| {
                let rest = strip_prefix_ignoring_case(name.trim(), ENV_PREFIX)?;
                if is_non_config(rest) {
                    return None;
                }
                let key = rest.trim().to_ascii_lowercase().replace("__", ".");
                if known.contains(&key) {
                    return None;
                }
                let suggestion = known.closest_setting(&key).map(env_name);
                Some(IgnoredVariable { name, suggestion })
            })
            .collect();
        variables.sort_by(|a, b| a.name.cmp(&b.name));
        Self { variables }
    }

    /// The ignored variables of this process's environment.
    pub(super) fn in_process_env(known: &KnownKeys) -> Self {
        let names = std::env::vars_os().map(|(name, _)| name.to_string_lossy().into_owned());
        Self::among(known, names)
    }

    /// Whether every `GATEKEY_*` variable was a key or a known non-configuration variable.
    pub fn is_empty(&self) -> bool {
        self.variables.is_empty()
    }

    /// The names of the ignored variables, sorted.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.variables.iter().map(|variable| variable.name.as_str())
    }
}

fn strip_prefix_ignoring_case<'a>(name: &'a str, prefix: &str) -> Option<&'a str> {
    let head = name.get(..prefix.len())?;
    head.eq_ignore_ascii_case(prefix)
        .then(|| &name[prefix.len()..])
}

impl fmt::Display for IgnoredEnvVariables {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ignoring environment variables that are not configuration keys: ")?;
        for (i, variable) in self.variables.iter().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            f.write_str(&variable.name)?;
            if let Some(suggestion) = &variable.suggestion {
                write!(f, " (did you mean {suggestion}?)")?;
            }
        }
        Ok(())
    }
}

/// figment's message for one error, followed, for an unknown key close to a known one, by
/// "did you mean `section.key`?".
pub(super) fn describe(error: &figment::Error) -> String {
    let message = error.to_string();
    let Kind::UnknownField(found, expected) = &error.kind else {
        return message;
    };
    match closest(found, expected.iter().copied()) {
        Some(known) => {
            let section = error
                .path
                .split_last()
                .map_or(&[][..], |(_, parents)| parents);
            let key = section
                .iter()
                .map(String::as_str)
                .chain([known])
                .collect::<Vec<_>>()
                .join(".");
            format!("{message}; did you mean `{key}`?")
        }
        None => message,
    }
}

#[cfg(test)]
// figment's `Jail` closures return its own (large) error type; that is its API, not ours.
#[allow(clippy::result_large_err)]
mod tests {
    use figment::Jail;

    use super::*;
    use crate::config::{ConfigError, ConfigOverrides};

    fn ignored(names: &[&str]) -> IgnoredEnvVariables {
        IgnoredEnvVariables::among(
            &KnownKeys::of_config(),
            names.iter().map(|name| (*name).to_owned()),
        )
    }

    #[test]
    fn known_keys_come_from_the_config_itself() {
        let known = KnownKeys::of_config();
        for key in [
            "listen",
            "issuer",
            "rate_limit.per_second",
            "session.idle_timeout",
            "rate_limit",
        ] {
            assert!(known.contains(key), "{key}");
        }
        assert!(!known.contains("rate_limit.per_hour"));
    }

    #[test]
    fn variables_that_are_not_keys_are_named_in_one_line_with_suggestions() {
        let warning = ignored(&[
            "GATEKEY_LISTN",
            "GATEKEY_API_KEY",
            "GATEKEY_RATE_LIMIT__PER_SECCOND",
            "GATEKEY_RATE_LIMIT__PER_SECOND",
            "GATEKEY_CONNECTION",
            "GATEKEY_LOG",
            "HOME",
        ]);
        assert_eq!(
            warning.names().collect::<Vec<_>>(),
            [
                "GATEKEY_API_KEY",
                "GATEKEY_LISTN",
                "GATEKEY_RATE_LIMIT__PER_SECCOND"
            ]
        );
        assert_eq!(
            warning.to_string(),
            "ignoring environment variables that are not configuration keys: GATEKEY_API_KEY, \
             GATEKEY_LISTN (did you mean GATEKEY_LISTEN?), GATEKEY_RATE_LIMIT__PER_SECCOND (did \
             you mean GATEKEY_RATE_LIMIT__PER_SECOND?)"
        );
        assert!(ignored(&["GATEKEY_ISSUER", "PATH"]).is_empty());
    }

    #[test]
    fn nonsense_gets_no_suggestion() {
        for nonsense in ["api_key", "xyz", "token", "bootstrap_user", "colour"] {
            assert_eq!(
                KnownKeys::of_config().closest_setting(nonsense),
                None,
                "{nonsense}"
            );
        }
    }

    #[test]
    fn variables_read_for_other_purposes_are_no_keys() {
        // A client's or the command line's variable that were also a key would set it
        // unasked on every server and operator command that shares the environment.
        let known = KnownKeys::of_config();
        for name in NON_CONFIG_ENV {
            let key = name.to_ascii_lowercase().replace("__", ".");
            assert!(!known.contains(&key), "GATEKEY_{name} is also a key");
        }
    }

    #[test]
    fn unknown_variables_are_ignored_and_reported_and_known_ones_still_apply() {
        Jail::expect_with(|jail| {
            jail.clear_env();
            jail.set_env("GATEKEY_API_KEY", "gk_key_not_for_the_server");
            jail.set_env("GATEKEY_LISTN", "127.0.0.1:1");
            jail.set_env("GATEKEY_ACCESS_TOKEN_TTL", "900");
            jail.set_env("GATEKEY_CONNECTION", "Server=http://127.0.0.1:1;ApiKey=x");
            let (config, ignored) =
                Config::load_reporting(None, &ConfigOverrides::default()).expect("starts");
            assert_eq!(config.access_token_ttl, 900);
            assert_eq!(config.listen, Config::default().listen);
            assert_eq!(
                ignored.names().collect::<Vec<_>>(),
                ["GATEKEY_API_KEY", "GATEKEY_LISTN"]
            );
            assert!(ignored
                .to_string()
                .contains("GATEKEY_LISTN (did you mean GATEKEY_LISTEN?)"));

            jail.set_env("GATEKEY_HTTP", "5");
            let error = Config::load(None, &ConfigOverrides::default())
                .expect_err("a section given a value is the wrong type");
            assert!(matches!(error, ConfigError::Invalid(_)), "{error}");
            Ok(())
        });
    }

    #[test]
    fn unknown_file_keys_suggest_the_closest_known_key() {
        Jail::expect_with(|jail| {
            jail.clear_env();
            let load = |name: &str| {
                let path = jail.directory().join(name);
                Config::load(Some(&path), &ConfigOverrides::default())
                    .expect_err("unknown key")
                    .to_string()
            };
            jail.create_file("top.toml", "acess_token_ttl = 5\n")?;
            let error = load("top.toml");
            assert!(error.contains("acess_token_ttl"), "{error}");
            assert!(
                error.ends_with("did you mean `access_token_ttl`?"),
                "{error}"
            );
            jail.create_file("nested.toml", "[rate_limit]\nper_secnd = 5\n")?;
            let error = load("nested.toml");
            assert!(
                error.ends_with("did you mean `rate_limit.per_second`?"),
                "{error}"
            );
            jail.create_file("nonsense.toml", "[rate_limit]\nzzz = 5\n")?;
            let error = load("nonsense.toml");
            assert!(
                error.contains("zzz") && !error.contains("did you mean"),
                "{error}"
            );
            Ok(())
        });
    }
}
