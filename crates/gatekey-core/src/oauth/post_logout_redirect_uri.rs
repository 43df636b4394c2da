//! Post-logout redirect URIs (OpenID Connect RP-Initiated Logout 1.0): where the provider may
//! send the browser after logging the user out at an application's request.
//!
//! They are registered per application (§3.1) and matched by exact string (§2), like redirect
//! URIs. Registration applies the redirect URI rules of [`super::redirect_uri`] (ASCII, no
//! whitespace or control characters, absolute, no fragment, http only on a loopback IP
//! literal), and further allows only `https` and loopback `http`: a logout page is a web page.

use super::redirect_uri::{validate_redirect_uri, RedirectUriError};

/// The most post-logout redirect URIs an application may register.
pub const MAX_POST_LOGOUT_REDIRECT_URIS: usize = 20;

/// Why a post-logout redirect URI cannot be registered.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PostLogoutRedirectUriError {
    /// A rule shared with redirect URIs was broken.
    #[error("post-logout {0}")]
    Uri(#[from] RedirectUriError),
    /// A custom scheme: only `https` and loopback `http` are allowed.
    #[error("post-logout redirect URI {0:?} must use https, or http on 127.0.0.1 or [::1]")]
    NotHttp(String),
}

/// Checks a post-logout redirect URI at registration (RP-Initiated Logout 1.0 §3.1).
pub fn validate_post_logout_redirect_uri(uri: &str) -> Result<(), PostLogoutRedirectUriError> {
    validate_redirect_uri(uri)?;
    let scheme = uri.split_once(':').map(|(scheme, _)| scheme);
    if !matches!(scheme, Some("https" | "http")) {
        return Err(PostLogoutRedirectUriError::NotHttp(uri.to_owned()));
    }
    Ok(())
}

/// The registered post-logout redirect URI equal to `presented`, if any (RP-Initiated Logout
/// 1.0 §2: exact match). A URI stored under older, looser rules is never returned.
pub fn find_post_logout_redirect_uri<'a>(
    registered: &'a [String],
    presented: &str,
) -> Option<&'a str> {
    registered
        .iter()
        .map(String::as_str)
        .find(|uri| *uri == presented && validate_post_logout_redirect_uri(uri).is_ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_https_and_loopback_http_without_fragment() {
        for good in [
            "https://app.example.com/logged-out",
            "https://app.example.com/bye?from=op",
            "http://127.0.0.1:8080/bye",
            "http://[::1]/bye",
        ] {
            assert_eq!(validate_post_logout_redirect_uri(good), Ok(()), "{good}");
        }
        assert_eq!(
            validate_post_logout_redirect_uri("com.example.app:/bye"),
            Err(PostLogoutRedirectUriError::NotHttp(
                "com.example.app:/bye".into()
            ))
        );
        for bad in [
            "http://app.example.com/bye",
            "http://localhost/bye",
            "https://app.example.com/bye#x",
            "https://app.example.com/bye\r\nx",
            "/bye",
            "javascript:alert(1)",
        ] {
            assert!(
                matches!(
                    validate_post_logout_redirect_uri(bad),
                    Err(PostLogoutRedirectUriError::Uri(_))
                ),
                "{bad:?}"
            );
        }
        let message = validate_post_logout_redirect_uri("https://a.example/#x")
            .unwrap_err()
            .to_string();
        assert!(
            message.starts_with("post-logout redirect URI") && message.contains("fragment"),
            "{message}"
        );
    }

    #[test]
    fn matching_is_exact() {
        let registered = vec![
            "https://app.example.com/bye".to_owned(),
            "http://127.0.0.1:8080/bye".to_owned(),
            "https://evil.example/bye\n".to_owned(),
        ];
        assert_eq!(
            find_post_logout_redirect_uri(&registered, "https://app.example.com/bye"),
            Some("https://app.example.com/bye")
        );
        for not_it in [
            "https://app.example.com/bye/",
            "https://app.example.com/bye?x",
            "http://127.0.0.1:9090/bye",
            "https://evil.example/bye\n",
        ] {
            assert_eq!(
                find_post_logout_redirect_uri(&registered, not_it),
                None,
                "{not_it:?}"
            );
        }
    }
}
