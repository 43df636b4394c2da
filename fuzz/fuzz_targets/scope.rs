//! The scope string (RFC 6749 §3.3) of token, authorization and key requests: a parsed set
//! prints as a string that parses to the same set, and holds only known scope names.

#![no_main]

use gatekey_core::scope::ScopeSet;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    match ScopeSet::parse(text) {
        Ok(set) => {
            let shown = set.to_string();
            assert_eq!(ScopeSet::parse(&shown), Ok(set), "{text:?}");
            assert_eq!(ScopeSet::from_names(&set.names()), Ok(set), "{text:?}");
            for word in text.split_ascii_whitespace() {
                assert!(set.names().contains(&word), "{word:?} of {text:?}");
            }
        }
        Err(unknown) => {
            assert!(
                text.split_ascii_whitespace().any(|w| w == unknown.0),
                "the refusal names a word of {text:?}"
            );
        }
    }
});
