//! The scope string (RFC 6749 §3.3) of token, authorization and key requests: a parsed set
//! prints as a string that parses to the same set, holds exactly the words given, and every
//! name it holds is a well-formed scope token; a refused string has a word that is not one.

#![no_main]

use gatekey_core::scope::{ScopeName, ScopeSet};
use libfuzzer_sys::fuzz_target;

fn is_scope_token(word: &str) -> bool {
    matches!(word, "read" | "write" | "admin") || ScopeName::parse(word).is_ok()
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let words: Vec<&str> = text.split(' ').filter(|w| !w.is_empty()).collect();
    match ScopeSet::parse(text) {
        Ok(set) => {
            let shown = set.to_string();
            assert_eq!(ScopeSet::parse(&shown).as_ref(), Ok(&set), "{text:?}");
            assert_eq!(ScopeSet::from_names(&set.names()).as_ref(), Ok(&set), "{text:?}");
            for word in &words {
                assert!(set.contains_name(word), "{word:?} of {text:?}");
            }
            for name in set.names() {
                assert!(is_scope_token(name) && words.contains(&name), "{name:?} of {text:?}");
                assert!(name.len() <= 64);
            }
        }
        Err(_) => {
            assert!(
                words.iter().any(|w| !is_scope_token(w)),
                "the refusal has a reason in {text:?}"
            );
        }
    }
});
