//! The body of a token, revocation or introspection request, decoded as those endpoints
//! decode it: a form is refused exactly when a parameter repeats (RFC 6749 §3.2), and every
//! parameter of an accepted one reads back as sent (an empty value counts as absent, §3.1).

#![no_main]

use gatekey_server::input::token_form;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let pairs: Vec<(String, String)> = url::form_urlencoded::parse(data).into_owned().collect();
    let mut names: Vec<&str> = pairs.iter().map(|(name, _)| name.as_str()).collect();
    names.sort_unstable();
    let repeated = names.windows(2).any(|two| two[0] == two[1]);
    match token_form(data) {
        Ok(form) => {
            assert!(!repeated, "a repeated parameter was accepted");
            for (name, value) in &pairs {
                let expected = (!value.is_empty()).then_some(value.as_str());
                assert_eq!(form.get(name), expected, "{name:?}");
                if let Some(value) = expected {
                    assert_eq!(form.require(name).ok(), Some(value));
                }
            }
            let _ = format!("{form:?}");
        }
        Err(code) => {
            assert!(repeated, "refused without a repeated parameter");
            assert_eq!(code, "invalid_request");
        }
    }
});
