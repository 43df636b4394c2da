//! Route rules: which original requests (method + path) are public, which need a credential
//! and which scopes, and what happens to a request no rule names.
//!
//! Rules are tried in the order they are written; the first that matches decides. A path
//! pattern is literal segments, `*` or `{name}` for exactly one segment, and a final `**` for
//! whatever follows (nothing included: `/v1/notes/**` matches `/v1/notes` too).
//!
//! A rule may also say what a request costs in the credits of an API key that has credits
//! (see [`crate::api_key_credits`]): 1 unless said otherwise, 0 for free.

use crate::scope::ScopeSet;
use crate::scope_name::ScopeNameError;

use super::original_path::OriginalPath;

/// What a request needs before it may go on to the upstream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RouteAccess<'a> {
    /// Nothing: no credential is read.
    Public,
    /// A valid credential whose effective scopes hold all of these (none: any credential).
    Authenticated(&'a ScopeSet),
    /// Refused whatever the credential: no rule names the request and unmatched requests are
    /// denied.
    Denied,
}

/// What a request that no rule matches gets.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Unmatched {
    /// Refused (403). The default: a route the operator forgot to describe stays closed,
    /// rather than open to every credential of every account.
    #[default]
    Deny,
    /// Any valid credential, no scope needed.
    Authenticated,
}

/// The highest cost a rule may give a request, in credits.
pub const MAX_ROUTE_COST: u32 = 1_000_000;

/// What a request costs in credits when no rule says otherwise.
pub const DEFAULT_ROUTE_COST: u32 = 1;

/// One rule: methods (all when empty), a path pattern, what it needs, and what a request
/// costs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RouteRule {
    methods: Vec<String>,
    pattern: PathPattern,
    access: RuleAccess,
    cost: u32,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum RuleAccess {
    Public,
    Scopes(ScopeSet),
}

/// Why a rule was refused when the configuration was read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RouteRuleError {
    /// The path pattern does not start with `/`.
    #[error("the path pattern {0:?} must start with '/'")]
    NotAPath(String),
    /// `**` somewhere other than the last segment.
    #[error("in the path pattern {0:?}, '**' may only be the last segment")]
    RestNotLast(String),
    /// A segment mixing a wildcard or brace with other text (`a*`, `{id}.json`).
    #[error(
        "in the path pattern {0:?}, a segment is either literal text, '*', '{{name}}' or '**'"
    )]
    PartialWildcard(String),
    /// A literal segment that no checked original path can have (a dot segment, `;`, `\`, …).
    #[error("the path pattern {0:?} has a segment no request path can have ('.', '..', an empty segment, ';', '\\' or a control character)")]
    Unreachable(String),
    /// A method that is not an HTTP token.
    #[error("{0:?} is not an HTTP method")]
    BadMethod(String),
    /// A public rule that also names scopes.
    #[error("the rule for {0:?} is public and also names scopes; choose one")]
    PublicWithScopes(String),
    /// A cost on a public rule, which reads no credential to charge.
    #[error("the rule for {0:?} is public and also names a cost; a public route reads no credential to charge")]
    PublicWithCost(String),
    /// A cost above [`MAX_ROUTE_COST`].
    #[error("the rule for {pattern:?} costs {cost}; at most {MAX_ROUTE_COST}")]
    CostTooHigh {
        /// The rule's path pattern.
        pattern: String,
        /// The cost given.
        cost: u64,
    },
    /// A scope name that no credential could carry.
    #[error("the rule for {pattern:?} names a bad scope: {error}")]
    BadScope {
        /// The rule's path pattern.
        pattern: String,
        /// What is wrong with the name.
        error: ScopeNameError,
    },
}

impl RouteRule {
    /// A rule for `methods` (any method when empty; written in any case, compared in upper
    /// case) on `pattern`, that is `public` or needs `scopes`.
    pub fn new(
        methods: &[String],
        pattern: &str,
        public: bool,
        scopes: &[String],
    ) -> Result<Self, RouteRuleError> {
        let methods = methods
            .iter()
            .map(|method| {
                let is_token = !method.is_empty()
                    && method
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b));
                if is_token {
                    Ok(method.to_ascii_uppercase())
                } else {
                    Err(RouteRuleError::BadMethod(method.clone()))
                }
            })
            .collect::<Result<_, _>>()?;
        let access = match (public, scopes.is_empty()) {
            (true, false) => return Err(RouteRuleError::PublicWithScopes(pattern.to_owned())),
            (true, true) => RuleAccess::Public,
            (false, _) => RuleAccess::Scopes(ScopeSet::from_names(scopes).map_err(|error| {
                RouteRuleError::BadScope {
                    pattern: pattern.to_owned(),
                    error,
                }
            })?),
        };
        Ok(Self {
            methods,
            pattern: PathPattern::parse(pattern)?,
            access,
            cost: DEFAULT_ROUTE_COST,
        })
    }

    /// The rule with requests costing `cost` credits (0: free) instead of
    /// [`DEFAULT_ROUTE_COST`]. A public rule charges nothing and takes no cost.
    pub fn with_cost(mut self, cost: u64) -> Result<Self, RouteRuleError> {
        if self.access == RuleAccess::Public {
            return Err(RouteRuleError::PublicWithCost(self.pattern.text));
        }
        self.cost = u32::try_from(cost)
            .ok()
            .filter(|cost| *cost <= MAX_ROUTE_COST)
            .ok_or(RouteRuleError::CostTooHigh {
                pattern: self.pattern.text.clone(),
                cost,
            })?;
        Ok(self)
    }

    fn matches(&self, method: &str, path: &OriginalPath) -> bool {
        (self.methods.is_empty() || self.methods.iter().any(|m| m == method))
            && self.pattern.matches(path)
    }
}

/// The configured rules, in order, and the answer for a request none of them matches.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RouteRules {
    rules: Vec<RouteRule>,
    unmatched: Unmatched,
    any_credential: ScopeSet,
}

/// The decision for one request: what it needs, the rule that decided it (its path
/// pattern, for the audit log; `None` when no rule matched), and what it costs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RouteDecision<'a> {
    /// What the request needs.
    pub access: RouteAccess<'a>,
    /// The matching rule's path pattern as configured.
    pub pattern: Option<&'a str>,
    /// Credits the request costs a key that has credits ([`DEFAULT_ROUTE_COST`] when no rule
    /// matched).
    pub cost: u32,
}

impl RouteRules {
    /// The rules, tried in this order, and what unmatched requests get.
    pub fn new(rules: Vec<RouteRule>, unmatched: Unmatched) -> Self {
        Self {
            rules,
            unmatched,
            any_credential: ScopeSet::default(),
        }
    }

    /// What a request of `method` (as sent: methods are case-sensitive, RFC 9110 §9.1) on
    /// `path` needs: the first matching rule decides.
    pub fn decide(&self, method: &str, path: &OriginalPath) -> RouteDecision<'_> {
        match self.rules.iter().find(|rule| rule.matches(method, path)) {
            Some(rule) => RouteDecision {
                access: match &rule.access {
                    RuleAccess::Public => RouteAccess::Public,
                    RuleAccess::Scopes(scopes) => RouteAccess::Authenticated(scopes),
                },
                pattern: Some(&rule.pattern.text),
                cost: rule.cost,
            },
            None => RouteDecision {
                access: match self.unmatched {
                    Unmatched::Deny => RouteAccess::Denied,
                    Unmatched::Authenticated => RouteAccess::Authenticated(&self.any_credential),
                },
                pattern: None,
                cost: DEFAULT_ROUTE_COST,
            },
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Segment {
    Literal(String),
    One,
    Rest,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct PathPattern {
    text: String,
    segments: Vec<Segment>,
}

impl PathPattern {
    fn parse(text: &str) -> Result<Self, RouteRuleError> {
        let Some(body) = text.strip_prefix('/') else {
            return Err(RouteRuleError::NotAPath(text.to_owned()));
        };
        let parts: Vec<&str> = body.split('/').collect();
        let last = parts.len() - 1;
        let segments = parts
            .iter()
            .enumerate()
            .map(|(at, part)| match *part {
                "**" if at == last => Ok(Segment::Rest),
                "**" => Err(RouteRuleError::RestNotLast(text.to_owned())),
                "*" => Ok(Segment::One),
                braced if braced.starts_with('{') && braced.ends_with('}') && braced.len() > 2 => {
                    if braced[1..braced.len() - 1].contains(['{', '}', '*']) {
                        Err(RouteRuleError::PartialWildcard(text.to_owned()))
                    } else {
                        Ok(Segment::One)
                    }
                }
                literal if literal.contains(['*', '{', '}']) => {
                    Err(RouteRuleError::PartialWildcard(text.to_owned()))
                }
                literal => {
                    let unreachable = literal == "."
                        || literal == ".."
                        || (literal.is_empty() && at != last)
                        || literal.contains(['\\', ';', '%'])
                        || literal.chars().any(char::is_control);
                    if unreachable {
                        Err(RouteRuleError::Unreachable(text.to_owned()))
                    } else {
                        Ok(Segment::Literal(literal.to_owned()))
                    }
                }
            })
            .collect::<Result<_, _>>()?;
        Ok(Self {
            text: text.to_owned(),
            segments,
        })
    }

    fn matches(&self, path: &OriginalPath) -> bool {
        let mut given = path.segments();
        for segment in &self.segments {
            match segment {
                Segment::Rest => return true,
                Segment::One => {
                    if given.next().is_none_or(str::is_empty) {
                        return false;
                    }
                }
                Segment::Literal(literal) => {
                    if given.next() != Some(literal.as_str()) {
                        return false;
                    }
                }
            }
        }
        given.next().is_none()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(methods: &[&str], pattern: &str, scopes: &[&str]) -> RouteRule {
        let methods: Vec<String> = methods.iter().map(|m| m.to_string()).collect();
        let scopes: Vec<String> = scopes.iter().map(|s| s.to_string()).collect();
        RouteRule::new(&methods, pattern, false, &scopes).unwrap()
    }

    fn public(pattern: &str) -> RouteRule {
        RouteRule::new(&[], pattern, true, &[]).unwrap()
    }

    fn access<'a>(rules: &'a RouteRules, method: &str, uri: &str) -> RouteAccess<'a> {
        rules
            .decide(method, &OriginalPath::parse(uri).unwrap())
            .access
    }

    fn needs(rules: &RouteRules, method: &str, uri: &str) -> Option<Vec<String>> {
        match access(rules, method, uri) {
            RouteAccess::Authenticated(scopes) => {
                Some(scopes.names().into_iter().map(str::to_owned).collect())
            }
            _ => None,
        }
    }

    #[test]
    fn a_rule_says_what_a_request_costs() {
        let rules = RouteRules::new(
            vec![
                rule(&["POST"], "/v1/reports", &[]).with_cost(25).unwrap(),
                rule(&["GET"], "/v1/status", &[]).with_cost(0).unwrap(),
                rule(&[], "/v1/**", &[]),
            ],
            Unmatched::Authenticated,
        );
        let cost = |method, uri| {
            rules
                .decide(method, &OriginalPath::parse(uri).unwrap())
                .cost
        };
        assert_eq!(cost("POST", "/v1/reports"), 25);
        assert_eq!(cost("GET", "/v1/status"), 0, "0 is free");
        assert_eq!(cost("GET", "/v1/notes"), DEFAULT_ROUTE_COST);
        assert_eq!(cost("GET", "/elsewhere"), DEFAULT_ROUTE_COST, "unmatched");
        assert_eq!(
            public("/health").with_cost(3),
            Err(RouteRuleError::PublicWithCost("/health".into()))
        );
        assert!(matches!(
            rule(&[], "/x", &[]).with_cost(u64::from(MAX_ROUTE_COST) + 1),
            Err(RouteRuleError::CostTooHigh { .. })
        ));
        assert!(rule(&[], "/x", &[])
            .with_cost(u64::from(MAX_ROUTE_COST))
            .is_ok());
    }

    #[test]
    fn the_first_matching_rule_decides() {
        let rules = RouteRules::new(
            vec![
                public("/v1/health"),
                rule(&["get", "HEAD"], "/v1/notes/**", &["notes:read"]),
                rule(&["POST"], "/v1/notes", &["notes:write"]),
                rule(&[], "/v1/notes/{id}/share", &["admin"]),
            ],
            Unmatched::Deny,
        );
        assert_eq!(access(&rules, "GET", "/v1/health?x=1"), RouteAccess::Public);
        assert_eq!(needs(&rules, "GET", "/v1/notes").unwrap(), ["notes:read"]);
        assert_eq!(
            needs(&rules, "HEAD", "/v1/notes/1/share").unwrap(),
            ["notes:read"]
        );
        assert_eq!(needs(&rules, "POST", "/v1/notes").unwrap(), ["notes:write"]);
        assert_eq!(
            needs(&rules, "POST", "/v1/notes/7/share").unwrap(),
            ["admin"]
        );
        // Methods are case-sensitive on the wire; only the configuration is upper-cased.
        assert_eq!(access(&rules, "get", "/v1/notes"), RouteAccess::Denied);
        assert_eq!(access(&rules, "DELETE", "/v1/notes"), RouteAccess::Denied);
        assert_eq!(access(&rules, "GET", "/v1/health/x"), RouteAccess::Denied);
        assert_eq!(access(&rules, "GET", "/v1"), RouteAccess::Denied);
    }

    #[test]
    fn one_segment_wildcards_need_a_non_empty_segment() {
        let rules = RouteRules::new(vec![rule(&[], "/users/*/keys", &[])], Unmatched::Deny);
        assert!(needs(&rules, "GET", "/users/7/keys").unwrap().is_empty());
        assert_eq!(
            access(&rules, "GET", "/users/7/keys/1"),
            RouteAccess::Denied
        );
        assert_eq!(access(&rules, "GET", "/users/7"), RouteAccess::Denied);
    }

    #[test]
    fn unmatched_requests_are_denied_or_need_any_credential() {
        let deny = RouteRules::new(vec![], Unmatched::default());
        assert_eq!(access(&deny, "GET", "/"), RouteAccess::Denied);
        assert_eq!(
            deny.decide("GET", &OriginalPath::parse("/").unwrap())
                .pattern,
            None
        );
        let open = RouteRules::new(vec![], Unmatched::Authenticated);
        assert!(needs(&open, "GET", "/anything").unwrap().is_empty());
    }

    #[test]
    fn a_catch_all_matches_the_root_too() {
        let rules = RouteRules::new(vec![rule(&[], "/**", &["read"])], Unmatched::Deny);
        assert_eq!(needs(&rules, "GET", "/").unwrap(), ["read"]);
        assert_eq!(needs(&rules, "PUT", "/a/b/c").unwrap(), ["read"]);
    }

    #[test]
    fn refuses_rules_that_cannot_mean_what_they_say() {
        let none: Vec<String> = vec![];
        for (pattern, error) in [
            ("v1/notes", RouteRuleError::NotAPath("v1/notes".into())),
            ("/a/**/b", RouteRuleError::RestNotLast("/a/**/b".into())),
            ("/a*", RouteRuleError::PartialWildcard("/a*".into())),
            (
                "/{id}.json",
                RouteRuleError::PartialWildcard("/{id}.json".into()),
            ),
            ("/a/../b", RouteRuleError::Unreachable("/a/../b".into())),
            ("/a//b", RouteRuleError::Unreachable("/a//b".into())),
            ("/a%2Fb", RouteRuleError::Unreachable("/a%2Fb".into())),
        ] {
            assert_eq!(RouteRule::new(&none, pattern, false, &none), Err(error));
        }
        assert!(matches!(
            RouteRule::new(&["G T".into()], "/", false, &none),
            Err(RouteRuleError::BadMethod(_))
        ));
        assert!(matches!(
            RouteRule::new(&none, "/", true, &["read".into()]),
            Err(RouteRuleError::PublicWithScopes(_))
        ));
        assert!(matches!(
            RouteRule::new(&none, "/", false, &["bad scope\"".into()]),
            Err(RouteRuleError::BadScope { .. })
        ));
    }
}
