//! The life of a signing key, as a rule over the stored keys and the time: which key signs,
//! which are published at the JWKS endpoint, and what to create or retire next. No I/O.
//!
//! A key goes through four states, per algorithm:
//!
//! 1. **published** (`now < activates_at`): in the JWKS, not signing, so every verifier that
//!    caches the JWKS (RFC 7517 §5) has it before the first token it signs reaches them;
//! 2. **current**: the newest key whose `activates_at` has come; it signs;
//! 3. **retiring**: superseded by a newer current key; still published, signing nothing, until
//!    every token it signed has expired (`superseded + longest token lifetime`);
//! 4. **retired**: no longer published; recorded with `retired_at`.
//!
//! Rotation is due when no key waits in state 1 and the current key has signed for
//! `rotation_interval - publish_ahead`, so its successor takes over `rotation_interval` after it
//! did. The very first key of an algorithm signs at once: no verifier can hold a JWKS without it.

use std::fmt;
use std::str::FromStr;

use time::{Duration, OffsetDateTime};

/// A JWS algorithm gatekey signs with (RFC 7518 §3.1, RFC 8037 §3.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum SigningAlgorithm {
    /// ECDSA with P-256 and SHA-256: small and fast, for access tokens.
    Es256,
    /// RSASSA-PKCS1-v1_5 with SHA-256: required by OpenID Connect Core §15.1 for ID tokens.
    Rs256,
    /// Ed25519 (RFC 8037).
    EdDsa,
}

impl SigningAlgorithm {
    /// Every algorithm, in the order listings show them.
    pub const ALL: [SigningAlgorithm; 3] = [Self::Es256, Self::Rs256, Self::EdDsa];

    /// The `alg` value of RFC 7518 / RFC 8037.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Es256 => "ES256",
            Self::Rs256 => "RS256",
            Self::EdDsa => "EdDSA",
        }
    }
}

impl fmt::Display for SigningAlgorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An `alg` gatekey does not sign with.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown signing algorithm {0:?}; use ES256, RS256 or EdDSA")]
pub struct UnknownAlgorithm(pub String);

impl FromStr for SigningAlgorithm {
    type Err = UnknownAlgorithm;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|alg| alg.as_str().eq_ignore_ascii_case(text))
            .ok_or_else(|| UnknownAlgorithm(text.to_owned()))
    }
}

/// What the schedule needs to know of a stored key (never its private half).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScheduledKey {
    /// The key id (`kid`).
    pub kid: String,
    /// Its algorithm.
    pub algorithm: SigningAlgorithm,
    /// Its place in its algorithm's line of keys, 1 for the first; unique per algorithm, so two
    /// replicas rotating at once cannot both add a key.
    pub generation: i64,
    /// When it was made (and published).
    pub created_at: OffsetDateTime,
    /// When it starts signing.
    pub activates_at: OffsetDateTime,
    /// When it left the JWKS; `None` while it is published.
    pub retired_at: Option<OffsetDateTime>,
}

/// The timings of rotation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SigningKeyPolicy {
    /// How long a key signs before its successor takes over.
    pub rotation_interval: Duration,
    /// How long a new key is published before it signs; longer than the JWKS cache lifetime.
    pub publish_ahead: Duration,
    /// The longest lifetime of any token a key signs; a superseded key stays published this long.
    pub longest_token_lifetime: Duration,
}

/// Where a key stands at a given time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyState {
    /// Published, not signing yet.
    Published,
    /// Signing.
    Current,
    /// Published, not signing, until the tokens it signed have expired.
    Retiring {
        /// When it may leave the JWKS.
        until: OffsetDateTime,
    },
    /// Its tokens have all expired: it leaves (or has left) the JWKS.
    Retired,
}

impl KeyState {
    /// Whether the JWKS shows the key.
    pub fn is_published(self) -> bool {
        !matches!(self, Self::Retired)
    }
}

/// A key to create.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KeyToCreate {
    /// Its algorithm.
    pub algorithm: SigningAlgorithm,
    /// Its generation: one past the newest the schedule saw.
    pub generation: i64,
    /// When it starts signing.
    pub activates_at: OffsetDateTime,
}

/// What the schedule decides at one moment.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct KeyPlan {
    /// Every stored key and its state, retired ones included.
    pub states: Vec<(String, KeyState)>,
    /// Keys to create now.
    pub create: Vec<KeyToCreate>,
    /// Keys to record as retired now (published until now, no longer needed).
    pub retire: Vec<String>,
}

impl KeyPlan {
    /// The state of the key `kid`, if the plan saw it.
    pub fn state_of(&self, kid: &str) -> Option<KeyState> {
        self.states
            .iter()
            .find(|(id, _)| id == kid)
            .map(|(_, state)| *state)
    }

    /// The key signing for `algorithm`, if any.
    pub fn signing(&self, keys: &[ScheduledKey], algorithm: SigningAlgorithm) -> Option<String> {
        keys.iter()
            .filter(|key| key.algorithm == algorithm)
            .find(|key| self.state_of(&key.kid) == Some(KeyState::Current))
            .map(|key| key.kid.clone())
    }
}

/// Decides, for each algorithm of `wanted`, every key's state and what to create or retire at
/// `now`. A rotation forced by an operator is a [`rotate_now`] instead.
pub fn plan_keys(
    keys: &[ScheduledKey],
    wanted: &[SigningAlgorithm],
    policy: &SigningKeyPolicy,
    now: OffsetDateTime,
) -> KeyPlan {
    let mut plan = KeyPlan::default();
    let mut algorithms: Vec<SigningAlgorithm> = keys.iter().map(|key| key.algorithm).collect();
    algorithms.extend_from_slice(wanted);
    algorithms.sort();
    algorithms.dedup();
    for algorithm in algorithms {
        let line: Vec<&ScheduledKey> = keys
            .iter()
            .filter(|key| key.algorithm == algorithm)
            .collect();
        plan_line(&line, policy, now, &mut plan);
        if wanted.contains(&algorithm) {
            if let Some(create) = due_rotation(&line, algorithm, &plan, policy, now) {
                plan.create.push(create);
            }
        }
    }
    plan
}

/// The key an operator's `rotate` creates for `algorithm`: published now, signing after
/// `publish_ahead`, unless a key already waits to sign (then nothing, as rotating twice would
/// only shorten the wait). The very first key of an algorithm signs at once.
pub fn rotate_now(
    keys: &[ScheduledKey],
    algorithm: SigningAlgorithm,
    policy: &SigningKeyPolicy,
    now: OffsetDateTime,
) -> Option<KeyToCreate> {
    let line: Vec<&ScheduledKey> = keys
        .iter()
        .filter(|key| key.algorithm == algorithm)
        .collect();
    if line
        .iter()
        .any(|key| key.retired_at.is_none() && key.activates_at > now)
    {
        return None;
    }
    Some(next_key(&line, algorithm, policy, now))
}

fn next_key(
    line: &[&ScheduledKey],
    algorithm: SigningAlgorithm,
    policy: &SigningKeyPolicy,
    now: OffsetDateTime,
) -> KeyToCreate {
    let signing_exists = line
        .iter()
        .any(|key| key.retired_at.is_none() && key.activates_at <= now);
    KeyToCreate {
        algorithm,
        generation: line.iter().map(|key| key.generation).max().unwrap_or(0) + 1,
        activates_at: if signing_exists {
            now + policy.publish_ahead
        } else {
            now
        },
    }
}

/// States of one algorithm's keys, and those whose retirement is due.
fn plan_line(
    line: &[&ScheduledKey],
    policy: &SigningKeyPolicy,
    now: OffsetDateTime,
    plan: &mut KeyPlan,
) {
    let live: Vec<&&ScheduledKey> = line.iter().filter(|k| k.retired_at.is_none()).collect();
    let current = live
        .iter()
        .filter(|key| key.activates_at <= now)
        .max_by_key(|key| (key.activates_at, key.generation));
    for key in line {
        let state = if key.retired_at.is_some() {
            KeyState::Retired
        } else if key.activates_at > now {
            KeyState::Published
        } else if current.is_some_and(|c| c.kid == key.kid) {
            KeyState::Current
        } else {
            // Superseded when the first later key of the line began to sign.
            let superseded = live
                .iter()
                .map(|other| other.activates_at)
                .filter(|at| *at > key.activates_at && *at <= now)
                .min()
                .unwrap_or(now);
            let until = superseded + policy.longest_token_lifetime;
            if now >= until {
                plan.retire.push(key.kid.clone());
                KeyState::Retired
            } else {
                KeyState::Retiring { until }
            }
        };
        plan.states.push((key.kid.clone(), state));
    }
}

fn due_rotation(
    line: &[&ScheduledKey],
    algorithm: SigningAlgorithm,
    plan: &KeyPlan,
    policy: &SigningKeyPolicy,
    now: OffsetDateTime,
) -> Option<KeyToCreate> {
    let state = |key: &&ScheduledKey| plan.state_of(&key.kid);
    if line
        .iter()
        .any(|key| state(key) == Some(KeyState::Published))
    {
        return None;
    }
    let current = line
        .iter()
        .find(|key| state(key) == Some(KeyState::Current));
    match current {
        Some(key) if now < key.activates_at + policy.rotation_interval - policy.publish_ahead => {
            None
        }
        _ => Some(next_key(line, algorithm, policy, now)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    const START: OffsetDateTime = datetime!(2026-01-01 00:00 UTC);

    fn policy() -> SigningKeyPolicy {
        SigningKeyPolicy {
            rotation_interval: Duration::days(30),
            publish_ahead: Duration::days(2),
            longest_token_lifetime: Duration::hours(1),
        }
    }

    fn key(
        kid: &str,
        generation: i64,
        created: OffsetDateTime,
        active: OffsetDateTime,
    ) -> ScheduledKey {
        ScheduledKey {
            kid: kid.into(),
            algorithm: SigningAlgorithm::Es256,
            generation,
            created_at: created,
            activates_at: active,
            retired_at: None,
        }
    }

    /// Applies a plan the way the server does: creates and retires, at `now`.
    fn apply(keys: &mut Vec<ScheduledKey>, plan: &KeyPlan, now: OffsetDateTime) {
        for kid in &plan.retire {
            if let Some(key) = keys.iter_mut().find(|k| &k.kid == kid) {
                key.retired_at = Some(now);
            }
        }
        for create in &plan.create {
            keys.push(ScheduledKey {
                kid: format!("k{}", create.generation),
                algorithm: create.algorithm,
                generation: create.generation,
                created_at: now,
                activates_at: create.activates_at,
                retired_at: None,
            });
        }
    }

    #[test]
    fn with_no_keys_the_first_key_of_each_wanted_algorithm_signs_at_once() {
        let wanted = [SigningAlgorithm::Es256, SigningAlgorithm::Rs256];
        let plan = plan_keys(&[], &wanted, &policy(), START);
        assert_eq!(
            plan.create,
            vec![
                KeyToCreate {
                    algorithm: SigningAlgorithm::Es256,
                    generation: 1,
                    activates_at: START,
                },
                KeyToCreate {
                    algorithm: SigningAlgorithm::Rs256,
                    generation: 1,
                    activates_at: START,
                },
            ]
        );
    }

    #[test]
    fn a_key_signs_until_rotation_is_due_then_its_successor_is_published_first() {
        let mut keys = vec![key("k1", 1, START, START)];
        let wanted = [SigningAlgorithm::Es256];
        let plan = plan_keys(&keys, &wanted, &policy(), START + Duration::days(27));
        assert!(plan.create.is_empty(), "not due yet: {plan:?}");
        assert_eq!(
            plan.signing(&keys, SigningAlgorithm::Es256).as_deref(),
            Some("k1")
        );

        let due = START + Duration::days(28);
        let plan = plan_keys(&keys, &wanted, &policy(), due);
        assert_eq!(
            plan.create,
            vec![KeyToCreate {
                algorithm: SigningAlgorithm::Es256,
                generation: 2,
                activates_at: due + Duration::days(2),
            }]
        );
        apply(&mut keys, &plan, due);

        // Published ahead: k2 is in the JWKS, k1 still signs, nothing more is created.
        let plan = plan_keys(&keys, &wanted, &policy(), due + Duration::days(1));
        assert_eq!(plan.state_of("k2"), Some(KeyState::Published));
        assert_eq!(
            plan.signing(&keys, SigningAlgorithm::Es256).as_deref(),
            Some("k1")
        );
        assert!(plan.create.is_empty());
    }

    #[test]
    fn a_superseded_key_stays_published_until_its_last_token_expires_then_retires() {
        let switch = START + Duration::days(30);
        let mut keys = vec![
            key("k1", 1, START, START),
            key("k2", 2, START + Duration::days(28), switch),
        ];
        let wanted = [SigningAlgorithm::Es256];
        let plan = plan_keys(&keys, &wanted, &policy(), switch);
        assert_eq!(
            plan.signing(&keys, SigningAlgorithm::Es256).as_deref(),
            Some("k2")
        );
        let until = switch + Duration::hours(1);
        assert_eq!(plan.state_of("k1"), Some(KeyState::Retiring { until }));
        assert!(plan.retire.is_empty());

        let plan = plan_keys(&keys, &wanted, &policy(), until - Duration::seconds(1));
        assert!(plan.state_of("k1").is_some_and(KeyState::is_published));

        let plan = plan_keys(&keys, &wanted, &policy(), until);
        assert_eq!(plan.retire, vec!["k1".to_owned()]);
        assert_eq!(plan.state_of("k1"), Some(KeyState::Retired));
        apply(&mut keys, &plan, until);
        let plan = plan_keys(&keys, &wanted, &policy(), until + Duration::days(1));
        assert_eq!(plan.state_of("k1"), Some(KeyState::Retired));
        assert!(plan.retire.is_empty(), "retired once");
    }

    #[test]
    fn a_year_of_scheduled_rotation_always_has_one_signing_key_published_ahead() {
        let mut keys = vec![key("k1", 1, START, START)];
        let wanted = [SigningAlgorithm::Es256];
        let mut now = START;
        let mut signers = Vec::new();
        while now < START + Duration::days(365) {
            let plan = plan_keys(&keys, &wanted, &policy(), now);
            apply(&mut keys, &plan, now);
            let plan = plan_keys(&keys, &wanted, &policy(), now);
            let signing = plan
                .signing(&keys, SigningAlgorithm::Es256)
                .expect("a key signs at every moment");
            let signer = keys.iter().find(|k| k.kid == signing).expect("stored");
            // Every signer was published at least `publish_ahead` before it signed (or is first).
            assert!(
                signer.generation == 1
                    || signer.activates_at - signer.created_at >= policy().publish_ahead
            );
            if signers.last() != Some(&signing) {
                signers.push(signing);
            }
            now += Duration::hours(6);
        }
        assert_eq!(signers.len(), 13, "{signers:?}");
        let published = keys.iter().filter(|k| k.retired_at.is_none()).count();
        assert!(published <= 2, "old keys retire: {published} published");
    }

    #[test]
    fn an_operator_rotation_publishes_ahead_and_does_not_stack() {
        let keys = vec![key("k1", 1, START, START)];
        let now = START + Duration::days(3);
        let created = rotate_now(&keys, SigningAlgorithm::Es256, &policy(), now).expect("rotates");
        assert_eq!(created.activates_at, now + Duration::days(2));
        assert_eq!(created.generation, 2);
        let mut keys = keys;
        keys.push(key("k2", 2, now, created.activates_at));
        assert_eq!(
            rotate_now(&keys, SigningAlgorithm::Es256, &policy(), now),
            None
        );
        let first = rotate_now(&[], SigningAlgorithm::EdDsa, &policy(), now).expect("first");
        assert_eq!(first.activates_at, now);
    }

    #[test]
    fn algorithms_parse_by_their_jose_names() {
        assert_eq!("ES256".parse(), Ok(SigningAlgorithm::Es256));
        assert_eq!("eddsa".parse(), Ok(SigningAlgorithm::EdDsa));
        assert!("HS256".parse::<SigningAlgorithm>().is_err());
    }
}
