//! Redirect URI registration and matching (RFC 9700 §2.1, §4.1.3; RFC 8252 §7.3): no accepted
//! URI holds whitespace, a control character, a non-ASCII character or a code-running scheme;
//! a presented URI matches only a registered, valid URI, exactly, or for a public client a
//! loopback one with another port.

#![no_main]

use gatekey_core::oauth::application::ClientType;
use gatekey_core::oauth::authorize::RawAuthorizeRequest;
use gatekey_core::oauth::redirect_uri::{
    find_redirect_uri, redirect_uri_matches, usable_redirect_uris, validate_redirect_uri,
};
use libfuzzer_sys::fuzz_target;

/// The input: a flag byte (bit 0: a public client), then the registered URIs and last the
/// presented one, separated by the byte 0xFF (which no UTF-8 text holds, so any character,
/// line breaks included, can be in a URI).
struct Input {
    registered: Vec<String>,
    presented: String,
    public: bool,
}

impl Input {
    fn read(data: &[u8]) -> Option<Self> {
        let (&flags, rest) = data.split_first()?;
        let mut parts: Vec<String> = rest
            .split(|&b| b == 0xFF)
            .map(|part| String::from_utf8_lossy(part).into_owned())
            .collect();
        let presented = parts.pop()?;
        Some(Self {
            registered: parts,
            presented,
            public: flags & 1 == 1,
        })
    }
}

fn check_registration(uri: &str) {
    if validate_redirect_uri(uri).is_err() {
        return;
    }
    assert!(uri.len() <= 2000);
    assert!(uri.is_ascii(), "{uri:?}");
    assert!(
        !uri.chars().any(|c| c.is_whitespace() || c.is_control()),
        "{uri:?}"
    );
    let scheme = uri
        .split(':')
        .next()
        .unwrap_or_default()
        .to_ascii_lowercase();
    assert!(
        !["javascript", "data", "file", "vbscript"].contains(&scheme.as_str()),
        "{uri:?}"
    );
}

/// The URI without a port right after a loopback host, if it starts with one.
fn without_loopback_port(uri: &str) -> Option<String> {
    let host = ["http://127.0.0.1", "http://[::1]"]
        .into_iter()
        .find(|h| uri.starts_with(h))?;
    let after = &uri[host.len()..];
    let rest = match after.strip_prefix(':') {
        Some(port_and_rest) => {
            let digits = port_and_rest.len()
                - port_and_rest
                    .trim_start_matches(|c: char| c.is_ascii_digit())
                    .len();
            let port = &port_and_rest[..digits];
            if port.is_empty() || port.len() > 5 || port.parse::<u32>().ok()? > 65535 {
                return None;
            }
            &port_and_rest[digits..]
        }
        None => after,
    };
    (rest.is_empty() || rest.starts_with('/') || rest.starts_with('?'))
        .then(|| format!("{host}{rest}"))
}

fuzz_target!(|data: &[u8]| {
    let Some(input) = Input::read(data) else {
        return;
    };
    let client_type = if input.public {
        ClientType::Public
    } else {
        ClientType::Confidential
    };
    for uri in input.registered.iter().chain([&input.presented]) {
        check_registration(uri);
    }
    let usable: Vec<&str> = usable_redirect_uris(&input.registered).collect();
    for uri in &usable {
        assert!(redirect_uri_matches(uri, uri, client_type));
    }
    match find_redirect_uri(&input.registered, client_type, &input.presented) {
        Some(found) => {
            assert!(
                usable.contains(&found),
                "{found:?} is not a usable registered URI"
            );
            if found != input.presented {
                assert!(
                    input.public,
                    "a confidential client matched {:?}",
                    input.presented
                );
                let (Some(a), Some(b)) = (
                    without_loopback_port(found),
                    without_loopback_port(&input.presented),
                ) else {
                    panic!(
                        "{:?} matched {found:?} but is no loopback variant",
                        input.presented
                    );
                };
                assert_eq!(a, b);
            }
        }
        None => assert!(
            !usable.contains(&input.presented.as_str()),
            "a registered URI did not match itself"
        ),
    }
    // The authorization request reads its parameters from the same untrusted text.
    let raw = RawAuthorizeRequest::parse(
        url::form_urlencoded::parse(input.presented.as_bytes())
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect::<Vec<_>>()
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str())),
    );
    let _ = raw.client_id();
});
