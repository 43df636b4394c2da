//! Properties of redirect URI registration and matching (RFC 9700 §2.1, §4.1.3; RFC 8252 §7.3):
//! no accepted URI holds whitespace, a control character or a code-running scheme; a
//! confidential client matches only the exact strings it registered; a public client matches
//! only those, or a loopback one of them with another port.

use gatekey_core::oauth::application::ClientType;
use gatekey_core::oauth::redirect_uri::{
    find_redirect_uri, redirect_uri_matches, validate_redirect_uri,
};
use proptest::prelude::*;

/// Characters a registration must never let through.
const SMUGGLED: [char; 12] = [
    '\n', '\r', '\t', ' ', '\u{0}', '\u{b}', '\u{c}', '\u{1b}', '\u{7f}', '\u{85}', '\u{a0}',
    '\u{2028}',
];

fn port() -> impl Strategy<Value = String> {
    prop_oneof![
        Just(String::new()),
        (0u32..=65535).prop_map(|p| format!(":{p}"))
    ]
}

fn path_and_query() -> impl Strategy<Value = String> {
    (
        "(/[a-zA-Z0-9_.~-]{0,6}){0,3}",
        proptest::option::of("[a-z0-9=&%]{0,8}"),
    )
        .prop_map(|(path, query)| match query {
            Some(query) => format!("{path}?{query}"),
            None => path,
        })
}

/// Loopback URIs a native app registers (RFC 8252 §7.3).
fn loopback_uri() -> impl Strategy<Value = String> {
    (
        prop_oneof![Just("http://127.0.0.1"), Just("http://[::1]")],
        port(),
        path_and_query(),
    )
        .prop_map(|(host, port, rest)| format!("{host}{port}{rest}"))
}

/// URIs that registration accepts: https, loopback http, reverse-domain schemes.
fn valid_uri() -> impl Strategy<Value = String> {
    let https = ("[a-z]{1,8}(\\.[a-z]{2,5}){1,2}", port(), path_and_query())
        .prop_map(|(host, port, rest)| format!("https://{host}{port}{rest}"));
    let custom = ("com\\.example\\.[a-z]{1,6}", "(/[a-z]{0,6}){0,2}")
        .prop_map(|(scheme, path)| format!("{scheme}:{path}"));
    prop_oneof![https, loopback_uri(), custom]
        .prop_filter("valid under the registration rules", |uri| {
            validate_redirect_uri(uri).is_ok()
        })
}

/// A valid URI changed a little: a character inserted, removed or upper-cased, or the port
/// changed.
fn near_miss() -> impl Strategy<Value = String> {
    let inserted = (
        valid_uri(),
        any::<prop::sample::Index>(),
        prop::sample::select(vec![
            '\n', '\t', ' ', '/', ':', '#', '@', '\\', 'A', '0', '.', '?', '%',
        ]),
    )
        .prop_map(|(uri, at, c)| {
            let mut uri = uri;
            uri.insert(at.index(uri.len() + 1), c);
            uri
        });
    let removed = (valid_uri(), any::<prop::sample::Index>()).prop_map(|(uri, at)| {
        let mut uri = uri;
        uri.remove(at.index(uri.len()));
        uri
    });
    let upper = (valid_uri(), any::<prop::sample::Index>()).prop_map(|(uri, at)| {
        let at = at.index(uri.len());
        let mut bytes = uri.into_bytes();
        bytes[at] = bytes[at].to_ascii_uppercase();
        String::from_utf8(bytes).unwrap_or_default()
    });
    let reported = (valid_uri(), 0u32..=65535).prop_map(|(uri, port)| with_port(&uri, port));
    prop_oneof![inserted, removed, upper, reported]
}

/// Anything at all a client might present.
fn presented() -> impl Strategy<Value = String> {
    prop_oneof![valid_uri(), near_miss(), any::<String>(), "[ -~]{0,40}"]
}

/// The loopback prefix `uri` starts with, if any.
fn loopback_host(uri: &str) -> Option<&'static str> {
    ["http://127.0.0.1", "http://[::1]"]
        .into_iter()
        .find(|h| uri.starts_with(h))
}

/// `uri` with its port (if it has one right after a loopback host) replaced by `port`; other
/// URIs are returned as they are.
fn with_port(uri: &str, port: u32) -> String {
    let Some(host) = loopback_host(uri) else {
        return uri.to_owned();
    };
    let after = &uri[host.len()..];
    let rest = after
        .strip_prefix(':')
        .map(|p| p.trim_start_matches(|c: char| c.is_ascii_digit()))
        .unwrap_or(after);
    format!("{host}:{port}{rest}")
}

/// The oracle of the public-loopback rule, written without the code under test: `presented`
/// is `registered` with its port (if any) taken away and at most one port of 1 to 5 digits
/// (at most 65535) put right after the host.
fn same_but_port(registered: &str, presented: &str) -> bool {
    let (Some(host), Some(other_host)) = (loopback_host(registered), loopback_host(presented))
    else {
        return false;
    };
    if host != other_host {
        return false;
    }
    let strip = |uri: &str| -> String {
        let after = &uri[host.len()..];
        match after.strip_prefix(':') {
            Some(p) => p
                .trim_start_matches(|c: char| c.is_ascii_digit())
                .to_owned(),
            None => after.to_owned(),
        }
    };
    let registered_rest = strip(registered);
    let presented_after = &presented[host.len()..];
    let port_len = presented_after.len().saturating_sub(registered_rest.len());
    if !presented_after.ends_with(registered_rest.as_str()) {
        return false;
    }
    if port_len == 0 {
        return presented_after == registered_rest;
    }
    let port_text = &presented_after[..port_len];
    let Some(digits) = port_text.strip_prefix(':') else {
        return false;
    };
    !digits.is_empty()
        && digits.len() <= 5
        && digits.bytes().all(|b| b.is_ascii_digit())
        && digits.parse::<u32>().is_ok_and(|p| p <= 65535)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn accepted_uris_hold_no_whitespace_control_or_code_scheme(
        uri in prop_oneof![any::<String>(), "[ -~\t\n\r]{0,40}", valid_uri(), near_miss()]
    ) {
        if validate_redirect_uri(&uri).is_ok() {
            prop_assert!(!uri.chars().any(|c| c.is_whitespace() || c.is_control()), "{uri:?}");
            prop_assert!(uri.is_ascii(), "{uri:?}");
            let scheme = uri.split(':').next().unwrap_or_default().to_ascii_lowercase();
            prop_assert!(
                !["javascript", "data", "file", "vbscript"].contains(&scheme.as_str()),
                "{uri:?}"
            );
        }
    }

    #[test]
    fn a_smuggled_character_anywhere_is_refused(
        uri in valid_uri(),
        at in any::<prop::sample::Index>(),
        c in prop::sample::select(SMUGGLED.to_vec()),
    ) {
        let mut smuggled = uri.clone();
        smuggled.insert(at.index(uri.len() + 1), c);
        prop_assert!(validate_redirect_uri(&smuggled).is_err(), "{smuggled:?}");
    }

    #[test]
    fn code_running_schemes_are_refused_in_any_case(
        scheme in prop::sample::select(vec!["javascript", "data", "file", "vbscript"]),
        upper in prop::collection::vec(any::<bool>(), 10),
        rest in "[ -~]{0,20}",
    ) {
        let scheme: String = scheme
            .chars()
            .zip(upper)
            .map(|(c, up)| if up { c.to_ascii_uppercase() } else { c })
            .collect();
        let uri = format!("{scheme}:{rest}");
        prop_assert!(validate_redirect_uri(&uri).is_err(), "{uri:?}");
    }

    #[test]
    fn a_confidential_client_matches_only_what_it_registered(
        registered in prop::collection::vec(valid_uri(), 0..5),
        presented in presented(),
    ) {
        let found = find_redirect_uri(&registered, ClientType::Confidential, &presented);
        let expected = registered.contains(&presented);
        prop_assert_eq!(found.is_some(), expected, "{:?} in {:?}", presented, registered);
        if let Some(found) = found {
            prop_assert_eq!(found, presented.as_str());
        }
    }

    #[test]
    fn a_public_client_matches_only_its_uris_or_a_loopback_port(
        registered in prop::collection::vec(valid_uri(), 0..5),
        presented in presented(),
    ) {
        let found = find_redirect_uri(&registered, ClientType::Public, &presented);
        if let Some(found) = found {
            prop_assert!(registered.iter().any(|r| r == found));
            prop_assert!(
                found == presented || same_but_port(found, &presented),
                "{presented:?} matched {found:?}"
            );
        }
        if registered.contains(&presented) {
            prop_assert!(found.is_some(), "{presented:?} is registered");
        }
    }

    #[test]
    fn only_a_public_client_may_change_a_loopback_port(
        uri in loopback_uri(),
        port in 0u32..=65535,
    ) {
        let moved = with_port(&uri, port);
        prop_assume!(moved != uri);
        prop_assert!(!redirect_uri_matches(&uri, &moved, ClientType::Confidential));
        prop_assert!(redirect_uri_matches(&uri, &moved, ClientType::Public));
    }
}
