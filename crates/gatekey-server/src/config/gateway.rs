//! `[gateway]`: the route rules of the forward-auth endpoint `/auth/verify` (see
//! docs/gateway.md), and how often its verified calls are audited.

use std::fmt;

use axum::http::HeaderName;
use gatekey_core::gateway::route_rules::{RouteRule, RouteRules, Unmatched};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::ConfigError;

/// Route rules for requests a proxy asks about, tried in order.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct GatewayConfig {
    /// What a request no rule matches gets: `deny` (403, the default) or `authenticated`
    /// (any valid credential, no scope).
    pub unmatched: UnmatchedRoutes,
    /// The fraction (0 to 1) of allowed calls written to the audit log; 0, the default,
    /// writes none (refusals for missing scopes are audited like the API's, once a minute per
    /// caller).
    pub audit_sample_rate: SampleRate,
    /// The header in which an allowed request's API key's `meta` goes to the upstream, as
    /// compact JSON (in ASCII); unset, the default, sends none. A name starting `x-`, such as
    /// `x-gatekey-key-meta`.
    pub key_meta_header: Option<String>,
    /// The rules, first match wins: `[[gateway.routes]]` tables in the file.
    pub routes: Vec<GatewayRoute>,
}

/// `gateway.unmatched`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum UnmatchedRoutes {
    /// 403 for a request no rule matches.
    #[default]
    Deny,
    /// Any valid credential for a request no rule matches.
    Authenticated,
}

/// One `[[gateway.routes]]` table.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct GatewayRoute {
    /// Methods the rule applies to; empty: all.
    pub methods: Vec<String>,
    /// The path pattern: literal segments, `*` or `{name}` for one segment, a final `**` for
    /// the rest.
    pub path: String,
    /// Scopes the credential must hold, all of them; empty: any valid credential.
    pub scopes: Vec<String>,
    /// No credential needed (and none read).
    pub public: bool,
    /// Credits a request costs an API key that has credits: 1 when unset, 0 for free, at
    /// most 1,000,000. Not on a public rule.
    pub cost: Option<u64>,
}

/// A fraction from 0 to 1. Compared by its bits, so the configuration stays `Eq`.
#[derive(Clone, Copy, Default, PartialEq)]
pub struct SampleRate(f64);

impl Eq for SampleRate {}

impl SampleRate {
    /// The fraction.
    pub fn get(self) -> f64 {
        self.0
    }
}

impl From<f64> for SampleRate {
    fn from(rate: f64) -> Self {
        Self(rate)
    }
}

impl fmt::Debug for SampleRate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl Serialize for SampleRate {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_f64(self.0)
    }
}

impl<'de> Deserialize<'de> for SampleRate {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        f64::deserialize(deserializer).map(Self)
    }
}

impl GatewayConfig {
    /// The rules as the endpoint applies them.
    pub fn route_rules(&self) -> Result<RouteRules, ConfigError> {
        let rules = self
            .routes
            .iter()
            .enumerate()
            .map(|(at, route)| {
                let rule = RouteRule::new(&route.methods, &route.path, route.public, &route.scopes);
                let rule = match route.cost {
                    Some(cost) => rule.and_then(|rule| rule.with_cost(cost)),
                    None => rule,
                };
                rule.map_err(|error| ConfigError::Invalid(format!("gateway.routes[{at}]: {error}")))
            })
            .collect::<Result<_, _>>()?;
        let unmatched = match self.unmatched {
            UnmatchedRoutes::Deny => Unmatched::Deny,
            UnmatchedRoutes::Authenticated => Unmatched::Authenticated,
        };
        Ok(RouteRules::new(rules, unmatched))
    }

    /// The header of `key_meta_header`, when set and valid.
    pub fn key_meta_header_name(&self) -> Result<Option<HeaderName>, ConfigError> {
        let Some(name) = &self.key_meta_header else {
            return Ok(None);
        };
        let refused = || {
            ConfigError::Invalid(format!(
                "gateway.key_meta_header must be a header name starting with x- (such as \
                 x-gatekey-key-meta) and not one of the identity headers; got {name:?}"
            ))
        };
        let header = HeaderName::from_bytes(name.as_bytes()).map_err(|_| refused())?;
        if !header.as_str().starts_with("x-")
            || crate::gateway::identity_headers::IDENTITY_HEADERS.contains(&header.as_str())
            || header.as_str().starts_with("x-ratelimit-")
        {
            return Err(refused());
        }
        Ok(Some(header))
    }

    pub(super) fn validate(&self) -> Result<(), ConfigError> {
        self.key_meta_header_name()?;
        let rate = self.audit_sample_rate.get();
        if !(0.0..=1.0).contains(&rate) {
            return Err(ConfigError::Invalid(format!(
                "gateway.audit_sample_rate must be from 0 to 1, got {rate}"
            )));
        }
        self.route_rules().map(|_| ())
    }
}

#[cfg(test)]
// figment's `Jail` closures return its own (large) error type; that is its API, not ours.
#[allow(clippy::result_large_err)]
mod tests {
    use figment::Jail;
    use gatekey_core::gateway::original_path::OriginalPath;
    use gatekey_core::gateway::route_rules::RouteAccess;

    use super::super::{Config, ConfigOverrides};

    fn load(jail: &Jail, toml: &str) -> Result<Config, String> {
        jail.create_file("gatekey.toml", toml)
            .map_err(|e| e.to_string())?;
        let path = jail.directory().join("gatekey.toml");
        Config::load(Some(&path), &ConfigOverrides::default()).map_err(|e| e.to_string())
    }

    #[test]
    fn rules_are_read_from_the_file_in_order() {
        Jail::expect_with(|jail| {
            jail.clear_env();
            let config = load(
                jail,
                r#"
[gateway]
unmatched = "authenticated"
audit_sample_rate = 0.25
key_meta_header = "X-Gatekey-Key-Meta"
[[gateway.routes]]
path = "/health"
public = true
[[gateway.routes]]
methods = ["post"]
path = "/v1/notes/**"
scopes = ["write", "notes:write"]
cost = 5
"#,
            )
            .expect("loads");
            assert_eq!(config.gateway.audit_sample_rate.get(), 0.25);
            assert_eq!(
                config.gateway.key_meta_header_name().unwrap().unwrap(),
                "x-gatekey-key-meta"
            );
            let rules = config.gateway.route_rules().expect("rules");
            let path = OriginalPath::parse("/v1/notes/3").expect("path");
            let decision = rules.decide("POST", &path);
            assert_eq!(decision.cost, 5);
            let RouteAccess::Authenticated(scopes) = decision.access else {
                panic!("the second rule needs scopes");
            };
            assert_eq!(scopes.names(), ["write", "notes:write"]);
            let health = OriginalPath::parse("/health").expect("path");
            assert_eq!(rules.decide("GET", &health).access, RouteAccess::Public);
            Ok(())
        });
    }

    #[test]
    fn a_bad_rule_or_rate_stops_the_server_naming_it() {
        Jail::expect_with(|jail| {
            jail.clear_env();
            let bad_pattern = load(jail, "[[gateway.routes]]\npath = \"/a/**/b\"\n").unwrap_err();
            assert!(bad_pattern.contains("gateway.routes[0]"), "{bad_pattern}");
            let both = load(
                jail,
                "[[gateway.routes]]\npath = \"/a\"\npublic = true\nscopes = [\"read\"]\n",
            )
            .unwrap_err();
            assert!(both.contains("public"), "{both}");
            let rate = load(jail, "[gateway]\naudit_sample_rate = 1.5\n").unwrap_err();
            assert!(rate.contains("audit_sample_rate"), "{rate}");
            let unmatched = load(jail, "[gateway]\nunmatched = \"allow\"\n").unwrap_err();
            assert!(
                unmatched.contains("unmatched") || unmatched.contains("allow"),
                "{unmatched}"
            );
            let unknown = load(
                jail,
                "[[gateway.routes]]\npath = \"/a\"\nscope = [\"read\"]\n",
            )
            .unwrap_err();
            assert!(unknown.contains("scope"), "{unknown}");
            let public_cost = load(
                jail,
                "[[gateway.routes]]\npath = \"/a\"\npublic = true\ncost = 2\n",
            )
            .unwrap_err();
            assert!(public_cost.contains("gateway.routes[0]"), "{public_cost}");
            let dear =
                load(jail, "[[gateway.routes]]\npath = \"/a\"\ncost = 1000001\n").unwrap_err();
            assert!(dear.contains("at most"), "{dear}");
            for header in [
                "authorization",
                "x-gatekey-user-id",
                "x-ratelimit-limit",
                "bad header",
            ] {
                let toml = format!("[gateway]\nkey_meta_header = {header:?}\n");
                let refused = load(jail, &toml).unwrap_err();
                assert!(refused.contains("key_meta_header"), "{refused}");
            }
            Ok(())
        });
    }
}
