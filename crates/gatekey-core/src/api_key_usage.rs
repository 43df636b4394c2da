//! What an API key may carry besides its scopes, for an API sold by use: a small JSON `meta`
//! handed back to whoever checks the key, its own rate limits (per second, minute and hour, on
//! top of its account's), and credits (uses left) with an optional daily or monthly refill.
//! The input rules and who may set what are here; how credits are spent is
//! [`crate::api_key_credits`].

use std::sync::Arc;

use time::OffsetDateTime;

/// Most bytes of a key's `meta`, written as compact JSON.
pub const MAX_META_BYTES: usize = 2048;
/// Most requests a per-key limit allows in one window.
pub const MAX_RATE_LIMIT: i64 = 1_000_000;
/// Most credits a key may hold (and a refill may give).
pub const MAX_CREDITS: i64 = 1_000_000_000_000;

/// A key's metadata: a JSON object of at most [`MAX_META_BYTES`], kept as its compact text.
/// Not secret: it is shown to whoever may see the key.
#[derive(Clone, PartialEq, Eq)]
pub struct KeyMeta(Arc<str>);

impl KeyMeta {
    /// Checks `value`: a JSON object whose compact text fits [`MAX_META_BYTES`].
    pub fn from_value(value: &serde_json::Value) -> Result<Self, KeyUsageError> {
        if !value.is_object() {
            return Err(KeyUsageError::MetaNotObject);
        }
        let text = value.to_string();
        if text.len() > MAX_META_BYTES {
            return Err(KeyUsageError::MetaTooLarge { bytes: text.len() });
        }
        Ok(Self(text.into()))
    }

    /// Reads stored text, checked as [`Self::from_value`] checks input.
    pub fn from_stored(text: &str) -> Result<Self, KeyUsageError> {
        let value: serde_json::Value =
            serde_json::from_str(text).map_err(|_| KeyUsageError::MetaNotObject)?;
        Self::from_value(&value)
    }

    /// The compact JSON text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The object, for a response body.
    pub fn to_value(&self) -> serde_json::Value {
        serde_json::from_str(&self.0).unwrap_or(serde_json::Value::Null)
    }
}

impl std::fmt::Debug for KeyMeta {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "KeyMeta({} bytes)", self.0.len())
    }
}

/// A key's own rate limits; `None` leaves a window unlimited for the key (the account's
/// limits still apply).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct KeyLimits {
    /// Requests per wall-clock second.
    pub per_second: Option<u32>,
    /// Requests per wall-clock minute.
    pub per_minute: Option<u32>,
    /// Requests per wall-clock hour.
    pub per_hour: Option<u32>,
}

impl KeyLimits {
    /// Whether the key has no limit of its own.
    pub fn is_empty(&self) -> bool {
        self.per_second.is_none() && self.per_minute.is_none() && self.per_hour.is_none()
    }
}

/// How often a key's credits are refilled: at 00:00 UTC every day, or on the first of every
/// month.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RefillInterval {
    /// At 00:00 UTC every day.
    Daily,
    /// At 00:00 UTC on the first of every month.
    Monthly,
}

impl RefillInterval {
    /// The name on the wire and in storage.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Daily => "daily",
            Self::Monthly => "monthly",
        }
    }

    /// Reads a name.
    pub fn parse(text: &str) -> Result<Self, KeyUsageError> {
        match text {
            "daily" => Ok(Self::Daily),
            "monthly" => Ok(Self::Monthly),
            other => Err(KeyUsageError::UnknownRefillInterval(other.to_owned())),
        }
    }
}

/// A refill: at each interval the balance is *replaced* by `amount` (unspent credits do not
/// carry over).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CreditRefill {
    /// The balance after a refill.
    pub amount: i64,
    /// When refills happen.
    pub interval: RefillInterval,
}

/// A key's credits as stored. Credits leased by servers (see [`crate::api_key_credits`]) are
/// already taken out of `remaining`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KeyCredits {
    /// Credits left in the database.
    pub remaining: i64,
    /// The refill, if any.
    pub refill: Option<CreditRefill>,
    /// When the balance was last refilled (or the refill set).
    pub refilled_at: Option<OffsetDateTime>,
    /// Bumped whenever the balance is set rather than spent (a refill, an administrator's
    /// change), so that a lease taken before is not given back into the new balance.
    pub generation: i64,
}

/// What a new key carries besides name, scopes and expiry. The default carries nothing: no
/// meta, no limit, unlimited credits.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct KeyUsageSettings {
    /// Metadata.
    pub meta: Option<KeyMeta>,
    /// The key's own rate limits.
    pub limits: KeyLimits,
    /// Credits to start with; `None` is unlimited.
    pub credits: Option<i64>,
    /// The refill; needs credits.
    pub refill: Option<CreditRefill>,
}

impl KeyUsageSettings {
    /// Whether these settings meter the key (limits or credits), which only an administrator
    /// may decide ([`check_usage_rights`]).
    pub fn meters(&self) -> bool {
        !self.limits.is_empty() || self.credits.is_some() || self.refill.is_some()
    }
}

/// A change to a key: `None` leaves a field as it is, `Some(None)` clears it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct KeyChanges {
    /// A new name.
    pub name: Option<String>,
    /// New metadata, or none.
    pub meta: Option<Option<KeyMeta>>,
    /// A new per-second limit, or none.
    pub per_second: Option<Option<u32>>,
    /// A new per-minute limit, or none.
    pub per_minute: Option<Option<u32>>,
    /// A new per-hour limit, or none.
    pub per_hour: Option<Option<u32>>,
    /// A new balance (replacing what is left), or unlimited.
    pub credits: Option<Option<i64>>,
    /// A new refill, or none.
    pub refill: Option<Option<CreditRefill>>,
}

impl KeyChanges {
    /// Whether the change touches limits, credits or refill, which only an administrator may
    /// change ([`check_usage_rights`]).
    pub fn meters(&self) -> bool {
        self.per_second.is_some()
            || self.per_minute.is_some()
            || self.per_hour.is_some()
            || self.credits.is_some()
            || self.refill.is_some()
    }

    /// Whether the change asks for nothing.
    pub fn is_empty(&self) -> bool {
        self.name.is_none() && self.meta.is_none() && !self.meters()
    }

    /// The names of the fields changed, for the audit event (never their values: `meta` may
    /// hold anything).
    pub fn field_names(&self) -> Vec<&'static str> {
        let fields = [
            ("name", self.name.is_some()),
            ("meta", self.meta.is_some()),
            ("rate_per_second", self.per_second.is_some()),
            ("rate_per_minute", self.per_minute.is_some()),
            ("rate_per_hour", self.per_hour.is_some()),
            ("credits_remaining", self.credits.is_some()),
            ("credits_refill", self.refill.is_some()),
        ];
        fields
            .into_iter()
            .filter_map(|(name, given)| given.then_some(name))
            .collect()
    }

    /// Checks that the key, once changed, is consistent: a refill needs credits.
    pub fn check_against(&self, current: Option<&KeyCredits>) -> Result<(), KeyUsageError> {
        let credits_after = match self.credits {
            Some(credits) => credits.is_some(),
            None => current.is_some(),
        };
        let refill_after = match self.refill {
            Some(refill) => refill.is_some(),
            // Clearing the credits clears the refill with them.
            None => current.is_some_and(|c| c.refill.is_some()) && credits_after,
        };
        if refill_after && !credits_after {
            return Err(KeyUsageError::RefillWithoutCredits);
        }
        Ok(())
    }
}

/// Why a key's meta, limits or credits were refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyUsageError {
    /// `meta` is not a JSON object.
    #[error("meta must be a JSON object")]
    MetaNotObject,
    /// `meta` is too large.
    #[error("meta must be at most {MAX_META_BYTES} bytes as compact JSON; this one is {bytes}")]
    MetaTooLarge {
        /// Its size.
        bytes: usize,
    },
    /// A rate limit out of range.
    #[error("{field} must be from 1 to {MAX_RATE_LIMIT} (or null for no limit); got {value}")]
    RateLimitOutOfRange {
        /// The field.
        field: &'static str,
        /// What was given.
        value: i64,
    },
    /// A balance out of range.
    #[error("credits_remaining must be from 0 to {MAX_CREDITS} (or null for unlimited); got {0}")]
    CreditsOutOfRange(i64),
    /// A refill amount out of range.
    #[error("credits_refill.amount must be from 1 to {MAX_CREDITS}; got {0}")]
    RefillAmountOutOfRange(i64),
    /// A refill interval other than daily or monthly.
    #[error("credits_refill.interval must be \"daily\" or \"monthly\"; got {0:?}")]
    UnknownRefillInterval(String),
    /// A refill on a key with unlimited credits.
    #[error("credits_refill needs credits_remaining: a key with unlimited credits has nothing to refill")]
    RefillWithoutCredits,
}

/// Checks a per-key rate limit named `field`.
pub fn rate_limit(field: &'static str, value: i64) -> Result<u32, KeyUsageError> {
    if (1..=MAX_RATE_LIMIT).contains(&value) {
        u32::try_from(value).map_err(|_| KeyUsageError::RateLimitOutOfRange { field, value })
    } else {
        Err(KeyUsageError::RateLimitOutOfRange { field, value })
    }
}

/// Checks a balance of credits.
pub fn credits(value: i64) -> Result<i64, KeyUsageError> {
    if (0..=MAX_CREDITS).contains(&value) {
        Ok(value)
    } else {
        Err(KeyUsageError::CreditsOutOfRange(value))
    }
}

/// Checks a refill.
pub fn refill(amount: i64, interval: &str) -> Result<CreditRefill, KeyUsageError> {
    if !(1..=MAX_CREDITS).contains(&amount) {
        return Err(KeyUsageError::RefillAmountOutOfRange(amount));
    }
    Ok(CreditRefill {
        amount,
        interval: RefillInterval::parse(interval)?,
    })
}

/// Checks new settings as a whole: a refill needs credits.
pub fn check_settings(settings: &KeyUsageSettings) -> Result<(), KeyUsageError> {
    if settings.refill.is_some() && settings.credits.is_none() {
        return Err(KeyUsageError::RefillWithoutCredits);
    }
    Ok(())
}

/// Why a caller may not set what it asked to set on a key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum UsageRightsError {
    /// Limits, credits and refills are the account's decision, not the key holder's: a key
    /// sold by use would otherwise be topped up by its own holder.
    #[error("rate limits, credits and refills of a key are set by an admin of its account (the admin scope); the key's holder may set its name and meta")]
    NeedsAdmin,
    /// A key with limits or credits creating another key: the new key would escape them.
    #[error("a key with rate limits or credits of its own creates no key unless its user is an admin of the account (with the admin scope): a new key would escape them")]
    MeteredParent,
}

/// Whether a caller may set what it asks for. `may_admin`: the caller holds the effective
/// `admin` scope in the key's account (the role allows it and the credential carries it).
/// Name and meta are the holder's; limits, credits and refill are an administrator's, on
/// every key of the account including the administrator's own.
pub fn check_usage_rights(may_admin: bool, meters: bool) -> Result<(), UsageRightsError> {
    if meters && !may_admin {
        return Err(UsageRightsError::NeedsAdmin);
    }
    Ok(())
}

/// Whether a key may be created with a parent key that is `parent_metered` (has limits or
/// credits): only by an administrator, who could set limits and credits anyway.
pub fn check_metered_parent(parent_metered: bool, may_admin: bool) -> Result<(), UsageRightsError> {
    if parent_metered && !may_admin {
        return Err(UsageRightsError::MeteredParent);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn meta_is_an_object_of_bounded_size() {
        let meta = KeyMeta::from_value(&json!({"plan": "pro", "seats": 3})).unwrap();
        assert_eq!(meta.as_str(), r#"{"plan":"pro","seats":3}"#);
        assert_eq!(meta.to_value(), json!({"plan": "pro", "seats": 3}));
        for bad in [json!([1]), json!("text"), json!(3), json!(null)] {
            assert_eq!(KeyMeta::from_value(&bad), Err(KeyUsageError::MetaNotObject));
        }
        // {"a":"…"} is 8 bytes around the string.
        let fits = json!({ "a": "x".repeat(MAX_META_BYTES - 8) });
        assert!(KeyMeta::from_value(&fits).is_ok());
        let over = json!({ "a": "x".repeat(MAX_META_BYTES - 7) });
        assert_eq!(
            KeyMeta::from_value(&over),
            Err(KeyUsageError::MetaTooLarge {
                bytes: MAX_META_BYTES + 1
            })
        );
        assert!(
            !format!("{meta:?}").contains("pro"),
            "Debug shows the size only"
        );
    }

    #[test]
    fn limits_credits_and_refills_have_ranges() {
        assert_eq!(rate_limit("rate_per_second", 1), Ok(1));
        assert_eq!(rate_limit("rate_per_hour", MAX_RATE_LIMIT), Ok(1_000_000));
        for bad in [0, -1, MAX_RATE_LIMIT + 1, i64::MAX, i64::MIN] {
            assert!(rate_limit("rate_per_minute", bad).is_err(), "{bad}");
        }
        assert_eq!(credits(0), Ok(0));
        assert_eq!(credits(MAX_CREDITS), Ok(MAX_CREDITS));
        for bad in [-1, MAX_CREDITS + 1, i64::MIN] {
            assert_eq!(credits(bad), Err(KeyUsageError::CreditsOutOfRange(bad)));
        }
        assert!(refill(1, "daily").is_ok());
        assert!(refill(MAX_CREDITS, "monthly").is_ok());
        assert_eq!(
            refill(0, "daily"),
            Err(KeyUsageError::RefillAmountOutOfRange(0))
        );
        assert_eq!(
            refill(5, "weekly"),
            Err(KeyUsageError::UnknownRefillInterval("weekly".into()))
        );
    }

    #[test]
    fn a_refill_needs_credits() {
        let refill = CreditRefill {
            amount: 10,
            interval: RefillInterval::Daily,
        };
        let lone = KeyUsageSettings {
            refill: Some(refill),
            ..KeyUsageSettings::default()
        };
        assert_eq!(
            check_settings(&lone),
            Err(KeyUsageError::RefillWithoutCredits)
        );
        let credited = KeyCredits {
            remaining: 5,
            refill: Some(refill),
            refilled_at: None,
            generation: 0,
        };
        let add_refill = KeyChanges {
            refill: Some(Some(refill)),
            ..KeyChanges::default()
        };
        assert_eq!(
            add_refill.check_against(None),
            Err(KeyUsageError::RefillWithoutCredits)
        );
        assert_eq!(add_refill.check_against(Some(&credited)), Ok(()));
        let unlimited = KeyChanges {
            credits: Some(None),
            ..KeyChanges::default()
        };
        assert_eq!(
            unlimited.check_against(Some(&credited)),
            Ok(()),
            "clearing the credits clears the refill"
        );
        let both = KeyChanges {
            credits: Some(None),
            refill: Some(Some(refill)),
            ..KeyChanges::default()
        };
        assert_eq!(
            both.check_against(Some(&credited)),
            Err(KeyUsageError::RefillWithoutCredits)
        );
    }

    #[test]
    fn only_administrators_meter_keys() {
        let rename = KeyChanges {
            name: Some("ci".into()),
            meta: Some(None),
            ..KeyChanges::default()
        };
        assert!(!rename.meters());
        assert_eq!(check_usage_rights(false, rename.meters()), Ok(()));
        let top_up = KeyChanges {
            credits: Some(Some(1_000)),
            ..KeyChanges::default()
        };
        assert_eq!(
            check_usage_rights(false, top_up.meters()),
            Err(UsageRightsError::NeedsAdmin)
        );
        assert_eq!(check_usage_rights(true, top_up.meters()), Ok(()));
        assert_eq!(
            top_up.field_names(),
            ["credits_remaining"],
            "the audit names fields, not values"
        );
        assert_eq!(
            check_metered_parent(true, false),
            Err(UsageRightsError::MeteredParent)
        );
        assert_eq!(check_metered_parent(true, true), Ok(()));
        assert_eq!(check_metered_parent(false, false), Ok(()));
    }
}
