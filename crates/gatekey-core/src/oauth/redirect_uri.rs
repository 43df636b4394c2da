//! Redirect URIs: what may be registered, and when a presented URI matches a registered one.
//!
//! RFC 9700 §2.1 asks for exact string matching; RFC 8252 §7.3 makes one exception for native
//! apps: a loopback `http://127.0.0.1` or `http://[::1]` URI matches on any port, since the app
//! picks a free port at run time. `localhost` is refused (RFC 8252 §8.3: it may not resolve to
//! the loopback interface).

use url::{Host, Url};

/// Why a redirect URI cannot be registered.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RedirectUriError {
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
    /// Longer than 2000 characters.
    #[error("redirect URI is too long")]
    TooLong,
}

/// Checks a redirect URI at registration.
pub fn validate_redirect_uri(uri: &str) -> Result<(), RedirectUriError> {
    if uri.len() > 2000 {
        return Err(RedirectUriError::TooLong);
    }
    let parsed = Url::parse(uri).map_err(|_| RedirectUriError::NotAbsolute(uri.to_owned()))?;
    if parsed.fragment().is_some() || uri.contains('#') {
        return Err(RedirectUriError::Fragment(uri.to_owned()));
    }
    match parsed.scheme() {
        "https" if parsed.host().is_some() => Ok(()),
        "http" if is_loopback_ip(&parsed) => Ok(()),
        "http" | "https" => Err(RedirectUriError::InsecureHttp(uri.to_owned())),
        scheme if scheme.contains('.') && !matches!(scheme, "javascript" | "data" | "file") => {
            Ok(())
        }
        _ => Err(RedirectUriError::BadCustomScheme(uri.to_owned())),
    }
}

fn is_loopback_ip(url: &Url) -> bool {
    match url.host() {
        Some(Host::Ipv4(ip)) => ip.is_loopback() && ip.octets() == [127, 0, 0, 1],
        Some(Host::Ipv6(ip)) => ip.is_loopback(),
        _ => false,
    }
}

/// Whether `presented` matches the registered URI `registered`: the exact same string, or for a
/// registered loopback `http` URI, the same URI with any port (RFC 8252 §7.3).
pub fn redirect_uri_matches(registered: &str, presented: &str) -> bool {
    if registered == presented {
        return true;
    }
    let (Ok(registered_url), Ok(presented_url)) = (Url::parse(registered), Url::parse(presented))
    else {
        return false;
    };
    registered_url.scheme() == "http"
        && is_loopback_ip(&registered_url)
        && presented_url.scheme() == "http"
        && presented_url.host() == registered_url.host()
        && presented_url.path() == registered_url.path()
        && presented_url.query() == registered_url.query()
        && presented_url.fragment().is_none()
        && presented_url.username().is_empty()
        && presented_url.password().is_none()
        // The string must be the URL's canonical form, so nothing unparsed slips through.
        && without_port(presented) == without_port(registered)
}

/// The URI with its `:port` removed, for comparing loopback URIs textually.
fn without_port(uri: &str) -> String {
    let Some(rest) = uri.strip_prefix("http://") else {
        return uri.to_owned();
    };
    let (authority, tail) = rest
        .find(['/', '?'])
        .map_or((rest, ""), |i| rest.split_at(i));
    let host = match authority.rfind(':') {
        Some(i) if !authority[i..].contains(']') => &authority[..i],
        _ => authority,
    };
    format!("http://{host}{tail}")
}

/// The registered URI `presented` matches, if any.
pub fn find_redirect_uri<'a>(registered: &'a [String], presented: &str) -> Option<&'a str> {
    registered
        .iter()
        .map(String::as_str)
        .find(|r| redirect_uri_matches(r, presented))
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
        ] {
            assert!(
                matches!(
                    validate_redirect_uri(insecure),
                    Err(RedirectUriError::InsecureHttp(_))
                ),
                "{insecure}"
            );
        }
        for bad in ["myapp:/cb", "javascript:alert(1)", "data:text/html,x"] {
            assert!(
                matches!(
                    validate_redirect_uri(bad),
                    Err(RedirectUriError::BadCustomScheme(_))
                ),
                "{bad}"
            );
        }
    }

    #[test]
    fn exact_match_except_loopback_port() {
        let https = "https://app.example.com/cb";
        assert!(redirect_uri_matches(https, https));
        for near in [
            "https://app.example.com/cb/",
            "https://app.example.com/CB",
            "https://app.example.com/cb?x",
            "https://app.example.com:443/cb",
            "https://APP.example.com/cb",
        ] {
            assert!(!redirect_uri_matches(https, near), "{near}");
        }
        let loopback = "http://127.0.0.1/cb?a=1";
        assert!(redirect_uri_matches(
            loopback,
            "http://127.0.0.1:51234/cb?a=1"
        ));
        assert!(!redirect_uri_matches(
            loopback,
            "http://127.0.0.1:51234/cb?a=2"
        ));
        assert!(!redirect_uri_matches(
            loopback,
            "http://127.0.0.1:51234/other?a=1"
        ));
        assert!(!redirect_uri_matches(loopback, "http://[::1]:51234/cb?a=1"));
        assert!(!redirect_uri_matches(
            loopback,
            "http://user@127.0.0.1:5/cb?a=1"
        ));
        assert!(redirect_uri_matches(
            "http://[::1]/cb",
            "http://[::1]:8080/cb"
        ));
        assert!(
            !redirect_uri_matches("https://127.0.0.1/cb", "https://127.0.0.1:8443/cb"),
            "only http loopback"
        );
    }
}
