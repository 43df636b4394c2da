//! Redirect URIs: what may be registered, and when a presented URI matches a registered one.
//!
//! Registration reads the text as given, before any URL parser sees it: a URL parser (WHATWG,
//! as browsers and the `url` crate implement it) silently drops tabs and newlines and trims
//! spaces and control characters, so a check made on the parsed URL says nothing about the
//! string that is stored and later compared. A URI is ASCII without spaces (RFC 3986 §2), so
//! whitespace, control characters and anything outside ASCII are refused outright, as are the
//! schemes that run code or read files in a browser (`javascript:`, `data:`, `file:`,
//! `vbscript:`), whatever their case.
//!
//! Matching is by exact string (RFC 9700 §2.1, §4.1.3), with one exception for native apps:
//! a public client's loopback `http://127.0.0.1` or `http://[::1]` URI matches on any port,
//! since the app picks a free port at run time (RFC 8252 §7.3). A confidential client runs on
//! a server and has no such need, so its URIs match exactly, port included. `localhost` is
//! refused (RFC 8252 §8.3: it may not resolve to the loopback interface).

use url::{Host, Url};

use super::client_type::ClientType;

/// The longest redirect URI that may be registered, in bytes.
pub const MAX_REDIRECT_URI_LEN: usize = 2000;

/// Schemes refused by name: a browser would run or read something local instead of
/// navigating to a client.
const FORBIDDEN_SCHEMES: [&str; 4] = ["javascript", "data", "file", "vbscript"];

/// The loopback hosts of RFC 8252 §7.3, as they must be written.
const LOOPBACK_PREFIXES: [&str; 2] = ["http://127.0.0.1", "http://[::1]"];

/// Why a redirect URI cannot be registered.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RedirectUriError {
    /// Contains a space, a tab, a line break or another whitespace or control character.
    #[error("redirect URI {0:?} contains whitespace or a control character")]
    ForbiddenCharacter(String),
    /// Contains a character outside ASCII (RFC 3986 §2).
    #[error(
        "redirect URI {0:?} contains a character outside ASCII; percent-encode it (RFC 3986), \
         or write the host in punycode"
    )]
    NotAscii(String),
    /// A scheme that runs code or reads local files.
    #[error("redirect URI {0:?}: the {1}: scheme is not allowed")]
    ForbiddenScheme(String, String),
    /// Not an absolute URI.
    #[error("redirect URI {0:?} is not an absolute URI")]
    NotAbsolute(String),
    /// Has a fragment (RFC 6749 §3.1.2).
    #[error("redirect URI {0:?} must not have a fragment")]
    Fragment(String),
    /// `http` to anything but a loopback IP literal.
    #[error("redirect URI {0:?} must use https, or http on 127.0.0.1 or [::1]")]
    InsecureHttp(String),
    /// A private-use scheme that is not a reverse domain name (RFC 8252 §7.1).
    #[error(
        "redirect URI {0:?}: a custom scheme must be a reverse domain name such as com.example.app"
    )]
    BadCustomScheme(String),
    /// Longer than [`MAX_REDIRECT_URI_LEN`].
    #[error("redirect URI is too long (at most 2000 characters)")]
    TooLong,
}

/// Checks a redirect URI at registration. The characters are checked before the URI is parsed,
/// so the string that is stored is the string that was checked.
pub fn validate_redirect_uri(uri: &str) -> Result<(), RedirectUriError> {
    if uri.len() > MAX_REDIRECT_URI_LEN {
        return Err(RedirectUriError::TooLong);
    }
    if uri.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(RedirectUriError::ForbiddenCharacter(uri.to_owned()));
    }
    if !uri.is_ascii() {
        return Err(RedirectUriError::NotAscii(uri.to_owned()));
    }
    if let Some((scheme, _)) = uri.split_once(':') {
        let scheme = scheme.to_ascii_lowercase();
        if FORBIDDEN_SCHEMES.contains(&scheme.as_str()) {
            return Err(RedirectUriError::ForbiddenScheme(uri.to_owned(), scheme));
        }
    }
    let parsed = Url::parse(uri).map_err(|_| RedirectUriError::NotAbsolute(uri.to_owned()))?;
    if parsed.fragment().is_some() || uri.contains('#') {
        return Err(RedirectUriError::Fragment(uri.to_owned()));
    }
    match parsed.scheme() {
        "https" if parsed.host().is_some() => Ok(()),
        "http" if is_loopback_ip(&parsed) && loopback_parts(uri).is_some() => Ok(()),
        "http" | "https" => Err(RedirectUriError::InsecureHttp(uri.to_owned())),
        scheme if scheme.contains('.') => Ok(()),
        _ => Err(RedirectUriError::BadCustomScheme(uri.to_owned())),
    }
}

fn is_loopback_ip(url: &Url) -> bool {
    match url.host() {
        Some(Host::Ipv4(ip)) => ip.octets() == [127, 0, 0, 1],
        Some(Host::Ipv6(ip)) => ip.is_loopback(),
        _ => false,
    }
}

/// A loopback URI split as `(host prefix, rest)` without its port: `http://127.0.0.1:8080/cb?x`
/// gives `("http://127.0.0.1", "/cb?x")`. Read from the text, not a parsed URL, so what is
/// compared is exactly what is redirected to. `None` unless the URI starts with a loopback
/// prefix, then has at most a port of 1 to 5 digits (at most 65535), then nothing or a path or
/// a query.
fn loopback_parts(uri: &str) -> Option<(&'static str, &str)> {
    let prefix = LOOPBACK_PREFIXES
        .into_iter()
        .find(|prefix| uri.starts_with(prefix))?;
    let after_host = &uri[prefix.len()..];
    let rest = match after_host.strip_prefix(':') {
        Some(port_and_rest) => {
            let digits = port_and_rest
                .find(|c: char| !c.is_ascii_digit())
                .unwrap_or(port_and_rest.len());
            let port = &port_and_rest[..digits];
            if port.is_empty() || port.len() > 5 || port.parse::<u32>().ok()? > 65535 {
                return None;
            }
            &port_and_rest[digits..]
        }
        None => after_host,
    };
    (rest.is_empty() || rest.starts_with(['/', '?'])).then_some((prefix, rest))
}

/// Whether `presented` matches the registered URI `registered` of a client of `client_type`:
/// the exact same string, or, for a public client's loopback `http` URI, the same URI with any
/// port or none (RFC 8252 §7.3; RFC 9700 §2.1 allows the port to vary for native apps only).
pub fn redirect_uri_matches(registered: &str, presented: &str, client_type: ClientType) -> bool {
    if registered == presented {
        return true;
    }
    if client_type != ClientType::Public {
        return false;
    }
    match (loopback_parts(registered), loopback_parts(presented)) {
        (Some(registered), Some(presented)) => registered == presented,
        _ => false,
    }
}

/// The registered URIs that may be redirected to: those that pass today's registration rules.
/// A URI stored under older, looser rules (or by a bug) is ignored rather than trusted.
pub fn usable_redirect_uris(registered: &[String]) -> impl Iterator<Item = &str> {
    registered
        .iter()
        .map(String::as_str)
        .filter(|uri| validate_redirect_uri(uri).is_ok())
}

/// The registered URI `presented` matches for a client of `client_type`, if any.
pub fn find_redirect_uri<'a>(
    registered: &'a [String],
    client_type: ClientType,
    presented: &str,
) -> Option<&'a str> {
    usable_redirect_uris(registered).find(|r| redirect_uri_matches(r, presented, client_type))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registration_rules() {
        for good in [
            "https://app.example.com/cb",
            "http://127.0.0.1/cb",
            "http://127.0.0.1:8000/cb?x=1",
            "http://[::1]:9/cb",
            "http://127.0.0.1",
            "com.example.app:/cb",
        ] {
            assert_eq!(validate_redirect_uri(good), Ok(()), "{good}");
        }
        assert!(matches!(
            validate_redirect_uri("/cb"),
            Err(RedirectUriError::NotAbsolute(_))
        ));
        assert!(matches!(
            validate_redirect_uri("https://a.example/cb#x"),
            Err(RedirectUriError::Fragment(_))
        ));
        for insecure in [
            "http://app.example.com/cb",
            "http://localhost/cb",
            "http://127.0.0.2/cb",
            "http://127.1/cb",
            "http://[0:0::1]/cb",
            "HTTP://127.0.0.1/cb",
            "http://127.0.0.1:99999/cb",
        ] {
            assert!(
                matches!(
                    validate_redirect_uri(insecure),
                    Err(RedirectUriError::InsecureHttp(_) | RedirectUriError::NotAbsolute(_))
                ),
                "{insecure}"
            );
        }
        assert!(matches!(
            validate_redirect_uri("myapp:/cb"),
            Err(RedirectUriError::BadCustomScheme(_))
        ));
        assert_eq!(
            validate_redirect_uri(&format!("https://a.example/{}", "x".repeat(2000))),
            Err(RedirectUriError::TooLong)
        );
    }

    #[test]
    fn code_running_schemes_are_refused_in_any_case() {
        for bad in [
            "javascript:alert(1)",
            "JavaScript:alert(1)",
            "data:text/html,x",
            "DATA:text/html,x",
            "file:///etc/passwd",
            "vbscript:msgbox(1)",
            "VBScript:msgbox(1)",
        ] {
            assert!(
                matches!(
                    validate_redirect_uri(bad),
                    Err(RedirectUriError::ForbiddenScheme(..))
                ),
                "{bad}"
            );
        }
        let message = validate_redirect_uri("JavaScript:alert(1)")
            .unwrap_err()
            .to_string();
        assert!(message.contains("javascript: scheme"), "{message}");
    }

    #[test]
    fn whitespace_and_control_characters_are_refused_before_parsing() {
        for bad in [
            "https://ok.example/cb\nhttp://evil.example/cb",
            "https://ok.example/cb\r\nhttp://evil.example/cb",
            "https://ok.example/c\tb",
            " https://ok.example/cb",
            "https://ok.example/cb ",
            "java\nscript:alert(1)",
            "https://ok.example/cb\u{0}",
            "https://ok.example/cb\u{7f}",
            "https://ok.example/cb\u{85}",
            "https://ok.example/cb\u{a0}",
            "https://ok.example/cb\u{2028}",
        ] {
            let refused = validate_redirect_uri(bad);
            assert!(
                matches!(refused, Err(RedirectUriError::ForbiddenCharacter(_))),
                "{bad:?}: {refused:?}"
            );
        }
        let message = validate_redirect_uri("https://ok.example/cb\nhttp://evil.example/cb")
            .unwrap_err()
            .to_string();
        assert!(
            message.contains("\\n"),
            "the newline is shown escaped: {message}"
        );
        assert!(matches!(
            validate_redirect_uri("https://exämple.com/cb"),
            Err(RedirectUriError::NotAscii(_))
        ));
    }

    #[test]
    fn exact_match_except_public_loopback_port() {
        use ClientType::{Confidential, Public};
        let https = "https://app.example.com/cb";
        for client_type in [Confidential, Public] {
            assert!(redirect_uri_matches(https, https, client_type));
            for near in [
                "https://app.example.com/cb/",
                "https://app.example.com/CB",
                "https://app.example.com/cb?x",
                "https://app.example.com:443/cb",
                "https://APP.example.com/cb",
            ] {
                assert!(!redirect_uri_matches(https, near, client_type), "{near}");
            }
        }
        let loopback = "http://127.0.0.1/cb?a=1";
        let other_port = "http://127.0.0.1:51234/cb?a=1";
        assert!(redirect_uri_matches(loopback, other_port, Public));
        assert!(
            !redirect_uri_matches(loopback, other_port, Confidential),
            "a confidential client's port is matched exactly"
        );
        assert!(redirect_uri_matches(
            "http://127.0.0.1:8000/cb",
            "http://127.0.0.1:9000/cb",
            Public
        ));
        assert!(!redirect_uri_matches(
            "http://127.0.0.1:8000/cb",
            "http://127.0.0.1:9000/cb",
            Confidential
        ));
        for not_it in [
            "http://127.0.0.1:51234/cb?a=2",
            "http://127.0.0.1:51234/other?a=1",
            "http://[::1]:51234/cb?a=1",
            "http://user@127.0.0.1:5/cb?a=1",
            "http://127.0.0.1:5@evil.example/cb?a=1",
            "http://127.0.0.1:/cb?a=1",
            "http://127.0.0.1:99999/cb?a=1",
            "http://127.0.0.1:5/cb?a=1#x",
            "http://127.0.0.1:5\\cb?a=1",
            "http://127.0.0.1:5/c\tb?a=1",
            "http://127.0.0.1.evil.example/cb?a=1",
        ] {
            assert!(!redirect_uri_matches(loopback, not_it, Public), "{not_it}");
        }
        assert!(redirect_uri_matches(
            "http://[::1]/cb",
            "http://[::1]:8080/cb",
            Public
        ));
        assert!(
            !redirect_uri_matches("https://127.0.0.1/cb", "https://127.0.0.1:8443/cb", Public),
            "only http loopback"
        );
    }

    #[test]
    fn stored_uris_that_break_the_rules_are_never_used() {
        let registered = vec![
            "https://ok.example/cb".to_owned(),
            "javascript:alert(1)".to_owned(),
            "https://evil.example/cb\r".to_owned(),
        ];
        assert_eq!(
            usable_redirect_uris(&registered).collect::<Vec<_>>(),
            ["https://ok.example/cb"]
        );
        for client_type in [ClientType::Confidential, ClientType::Public] {
            assert_eq!(
                find_redirect_uri(&registered, client_type, "javascript:alert(1)"),
                None
            );
            assert_eq!(
                find_redirect_uri(&registered, client_type, "https://ok.example/cb"),
                Some("https://ok.example/cb")
            );
        }
    }
}
