//! What the credential cache keeps of a key's meta, limits and credits, so that metering a
//! cached key asks nothing of the database.

use axum::http::HeaderValue;
use gatekey_core::api_key::ApiKey;
use gatekey_core::api_key_usage::{KeyLimits, KeyMeta};

/// A key's own limits, whether it has credits, and its meta, as read with the key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyPolicy {
    /// The key's id.
    pub key_id: i64,
    /// Its own rate limits.
    pub limits: KeyLimits,
    /// Whether it has credits (unlimited otherwise).
    pub credited: bool,
    /// Its meta.
    pub meta: Option<KeyMeta>,
    /// Its meta as a header value: compact JSON with every character beyond ASCII escaped.
    pub meta_header: Option<HeaderValue>,
}

impl KeyPolicy {
    /// The policy of `key`; `None` for a key with no meta, limit or credits, which is metered
    /// by its account alone.
    pub fn of(key: &ApiKey) -> Option<Self> {
        if key.meta.is_none() && !key.is_metered() {
            return None;
        }
        Some(Self {
            key_id: key.id,
            limits: key.limits,
            credited: key.credits.is_some(),
            meta_header: key
                .meta
                .as_ref()
                .and_then(|meta| HeaderValue::from_str(&ascii_json(meta.as_str())).ok()),
            meta: key.meta.clone(),
        })
    }
}

/// `json` with every character beyond ASCII, and every control character, written as a
/// `\uXXXX` escape (UTF-16, as JSON escapes are): the same JSON, fit for an HTTP header.
/// JSON text has no raw control character outside strings, and inside them serde writes
/// them escaped already; the check is kept so that the header can never be refused.
pub fn ascii_json(json: &str) -> String {
    let mut out = String::with_capacity(json.len());
    for c in json.chars() {
        if c.is_ascii() && !c.is_ascii_control() {
            out.push(c);
        } else {
            let mut units = [0u16; 2];
            for unit in c.encode_utf16(&mut units) {
                out.push_str(&format!("\\u{unit:04x}"));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn meta_in_a_header_is_the_same_json_in_ascii() {
        let json = r#"{"name":"Zoë","emoji":"🔑","plain":"a\"b"}"#;
        let ascii = ascii_json(json);
        assert!(ascii.is_ascii());
        assert!(HeaderValue::from_str(&ascii).is_ok());
        let back: serde_json::Value = serde_json::from_str(&ascii).unwrap();
        let original: serde_json::Value = serde_json::from_str(json).unwrap();
        assert_eq!(back, original);
        assert!(ascii.contains(r"\ud83d\udd11"), "{ascii}");
    }
}
