//! A JSON array of reported secrets read with a bound on its length: past
//! [`MAX_SECRETS_PER_REPORT`] entries the rest is skipped without being kept, so a report of
//! any length costs at most that many entries of memory (the body itself is bounded by the
//! app's body limit), and is then refused whole.

use std::fmt;
use std::marker::PhantomData;

use gatekey_core::leak_report::MAX_SECRETS_PER_REPORT;
use serde::de::{IgnoredAny, SeqAccess, Visitor};
use serde::{Deserialize, Deserializer};

/// The entries of a report, and whether there were more than may be kept.
#[derive(Debug)]
pub struct BoundedBatch<T> {
    /// The first entries, at most [`MAX_SECRETS_PER_REPORT`].
    pub entries: Vec<T>,
    /// Whether the array held more entries than that.
    pub overflowed: bool,
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for BoundedBatch<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_seq(BatchVisitor(PhantomData))
    }
}

struct BatchVisitor<T>(PhantomData<T>);

impl<'de, T: Deserialize<'de>> Visitor<'de> for BatchVisitor<T> {
    type Value = BoundedBatch<T>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON array of reported secrets")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let mut entries = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(64));
        let mut overflowed = false;
        while entries.len() < MAX_SECRETS_PER_REPORT {
            match seq.next_element()? {
                Some(entry) => entries.push(entry),
                None => {
                    return Ok(BoundedBatch {
                        entries,
                        overflowed,
                    })
                }
            }
        }
        // Read to the end so a malformed tail is still a malformed body, but keep nothing.
        while seq.next_element::<IgnoredAny>()?.is_some() {
            overflowed = true;
        }
        Ok(BoundedBatch {
            entries,
            overflowed,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_past_the_bound_are_counted_not_kept() {
        let full: Vec<u32> = (0..MAX_SECRETS_PER_REPORT as u32).collect();
        let json = serde_json::to_string(&full).expect("json");
        let batch: BoundedBatch<u32> = serde_json::from_str(&json).expect("parses");
        assert_eq!(batch.entries.len(), MAX_SECRETS_PER_REPORT);
        assert!(!batch.overflowed);

        let over: Vec<u32> = (0..10_000).collect();
        let json = serde_json::to_string(&over).expect("json");
        let batch: BoundedBatch<u32> = serde_json::from_str(&json).expect("parses");
        assert_eq!(batch.entries.len(), MAX_SECRETS_PER_REPORT);
        assert!(batch.overflowed);

        assert!(serde_json::from_str::<BoundedBatch<u32>>("{}").is_err());
        let broken = format!("{}, \"x\"]", &json[..json.len() - 1]);
        assert!(serde_json::from_str::<BoundedBatch<u32>>(&broken).is_ok());
        assert!(serde_json::from_str::<BoundedBatch<u32>>(&json[..json.len() - 1]).is_err());
    }
}
