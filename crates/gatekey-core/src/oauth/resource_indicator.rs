//! Resource indicators (RFC 8707): the resource servers an application's tokens are meant for.
//!
//! An application registers the resources it may ask for; a token request names some of them
//! with `resource` parameters (RFC 8707 §2), and they become the token's audience. A resource
//! is an absolute URI without a fragment (RFC 8707 §2). Registration reads it with the same
//! care as a redirect URI (see [`super::redirect_uri`]): the text is checked before any URL
//! parser sees it, so whitespace, control characters and anything outside ASCII are refused,
//! and the stored string is the one a request must repeat exactly.

use url::Url;

/// The longest resource indicator that may be registered, in bytes.
pub const MAX_RESOURCE_LEN: usize = 2000;

/// The most resource indicators an application may register.
pub const MAX_RESOURCES: usize = 20;

/// Why a resource indicator cannot be registered.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ResourceIndicatorError {
    /// Contains a space, a tab, a line break or another whitespace or control character.
    #[error("resource {0:?} contains whitespace or a control character")]
    ForbiddenCharacter(String),
    /// Contains a character outside ASCII (RFC 3986 §2).
    #[error("resource {0:?} contains a character outside ASCII; percent-encode it (RFC 3986)")]
    NotAscii(String),
    /// Not an absolute URI (RFC 8707 §2).
    #[error("resource {0:?} is not an absolute URI")]
    NotAbsolute(String),
    /// Has a fragment (RFC 8707 §2).
    #[error("resource {0:?} must not have a fragment")]
    Fragment(String),
    /// Longer than [`MAX_RESOURCE_LEN`].
    #[error("resource is too long (at most 2000 characters)")]
    TooLong,
}

/// Checks a resource indicator: an absolute URI without a fragment (RFC 8707 §2), in ASCII
/// without whitespace or control characters, at most [`MAX_RESOURCE_LEN`] bytes.
pub fn validate_resource(uri: &str) -> Result<(), ResourceIndicatorError> {
    if uri.len() > MAX_RESOURCE_LEN {
        return Err(ResourceIndicatorError::TooLong);
    }
    if uri.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(ResourceIndicatorError::ForbiddenCharacter(uri.to_owned()));
    }
    if !uri.is_ascii() {
        return Err(ResourceIndicatorError::NotAscii(uri.to_owned()));
    }
    let parsed =
        Url::parse(uri).map_err(|_| ResourceIndicatorError::NotAbsolute(uri.to_owned()))?;
    if parsed.fragment().is_some() || uri.contains('#') {
        return Err(ResourceIndicatorError::Fragment(uri.to_owned()));
    }
    Ok(())
}

/// Why the `resource` parameters of a token request were refused: RFC 8707 §2's
/// `invalid_target` error, for each reason.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InvalidTarget {
    /// The value is not an absolute URI without a fragment.
    #[error(transparent)]
    Malformed(#[from] ResourceIndicatorError),
    /// The application has not registered this resource.
    #[error("resource {0:?} is not registered for this application")]
    NotRegistered(String),
    /// A refresh asked for a resource the original grant was not for.
    #[error("resource {0:?} was not part of the original grant")]
    NotGranted(String),
}

impl InvalidTarget {
    /// The OAuth error code (RFC 8707 §2).
    pub const CODE: &'static str = "invalid_target";
}

/// The audience of a token requested with the `resource` values `requested` by an application
/// that registered `registered` (RFC 8707 §2): each value must be an absolute URI without a
/// fragment and one of the registered resources, by exact string. The audience is the
/// requested resources in the order given, each once; none requested gives an empty audience
/// (a token for no particular resource server, as before resource indicators).
pub fn requested_audience<S: AsRef<str>>(
    registered: &[String],
    requested: &[S],
) -> Result<Vec<String>, InvalidTarget> {
    let mut audience: Vec<String> = Vec::with_capacity(requested.len());
    for resource in requested {
        let resource = resource.as_ref();
        validate_resource(resource)?;
        if !registered.iter().any(|r| r == resource) {
            return Err(InvalidTarget::NotRegistered(resource.to_owned()));
        }
        if !audience.iter().any(|r| r == resource) {
            audience.push(resource.to_owned());
        }
    }
    Ok(audience)
}

/// The audience of a token obtained with a refresh token whose grant had the audience
/// `granted`: without `resource` values the same audience, less any resource the application
/// no longer registers; with them, a part of it (RFC 8707 §2.2: a refresh may narrow the
/// audience, never widen it). A grant with no particular audience may be narrowed to any
/// resource the application registered.
pub fn refreshed_audience<S: AsRef<str>>(
    registered: &[String],
    granted: &[String],
    requested: &[S],
) -> Result<Vec<String>, InvalidTarget> {
    if requested.is_empty() {
        return Ok(granted
            .iter()
            .filter(|r| registered.contains(r))
            .cloned()
            .collect());
    }
    let audience = requested_audience(registered, requested)?;
    if !granted.is_empty() {
        if let Some(outside) = audience.iter().find(|r| !granted.contains(r)) {
            return Err(InvalidTarget::NotGranted(outside.clone()));
        }
    }
    Ok(audience)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registration_needs_an_absolute_uri_without_fragment() {
        for good in [
            "https://api.example.com",
            "https://api.example.com/v1?tenant=a",
            "http://api.internal:8080/",
            "urn:example:billing",
        ] {
            assert_eq!(validate_resource(good), Ok(()), "{good}");
        }
        for (bad, expected) in [
            ("/v1", ResourceIndicatorError::NotAbsolute("/v1".into())),
            ("api", ResourceIndicatorError::NotAbsolute("api".into())),
            ("", ResourceIndicatorError::NotAbsolute(String::new())),
            (
                "https://api.example.com/#x",
                ResourceIndicatorError::Fragment("https://api.example.com/#x".into()),
            ),
            (
                "https://api.example.com/#",
                ResourceIndicatorError::Fragment("https://api.example.com/#".into()),
            ),
            (
                "https://api.example.com/\nhttps://evil.example",
                ResourceIndicatorError::ForbiddenCharacter(
                    "https://api.example.com/\nhttps://evil.example".into(),
                ),
            ),
            (
                " https://api.example.com",
                ResourceIndicatorError::ForbiddenCharacter(" https://api.example.com".into()),
            ),
            (
                "https://äpi.example.com",
                ResourceIndicatorError::NotAscii("https://äpi.example.com".into()),
            ),
        ] {
            assert_eq!(validate_resource(bad), Err(expected), "{bad:?}");
        }
        assert_eq!(
            validate_resource(&format!("https://a.example/{}", "x".repeat(2000))),
            Err(ResourceIndicatorError::TooLong)
        );
    }

    fn registered() -> Vec<String> {
        vec![
            "https://api.example.com".into(),
            "https://billing.example.com/".into(),
        ]
    }

    #[test]
    fn requested_resources_must_be_registered_exactly() {
        assert_eq!(requested_audience::<&str>(&registered(), &[]), Ok(vec![]));
        assert_eq!(
            requested_audience(
                &registered(),
                &[
                    "https://billing.example.com/",
                    "https://api.example.com",
                    "https://billing.example.com/"
                ]
            ),
            Ok(vec![
                "https://billing.example.com/".to_owned(),
                "https://api.example.com".to_owned()
            ])
        );
        for near in [
            "https://api.example.com/",
            "https://API.example.com",
            "https://billing.example.com",
            "https://other.example.com",
        ] {
            assert_eq!(
                requested_audience(&registered(), &[near]),
                Err(InvalidTarget::NotRegistered(near.to_owned())),
                "{near}"
            );
        }
        assert!(matches!(
            requested_audience(&registered(), &["https://api.example.com#x"]),
            Err(InvalidTarget::Malformed(ResourceIndicatorError::Fragment(
                _
            )))
        ));
        assert!(matches!(
            requested_audience(&registered(), &["api"]),
            Err(InvalidTarget::Malformed(
                ResourceIndicatorError::NotAbsolute(_)
            ))
        ));
        assert_eq!(
            requested_audience(&[], &["https://api.example.com"]),
            Err(InvalidTarget::NotRegistered(
                "https://api.example.com".into()
            ))
        );
    }

    #[test]
    fn a_refresh_keeps_or_narrows_the_audience() {
        let granted = vec!["https://api.example.com".to_owned()];
        assert_eq!(
            refreshed_audience::<&str>(&registered(), &granted, &[]),
            Ok(granted.clone())
        );
        assert_eq!(
            refreshed_audience(&registered(), &granted, &["https://api.example.com"]),
            Ok(granted.clone())
        );
        assert_eq!(
            refreshed_audience(&registered(), &granted, &["https://billing.example.com/"]),
            Err(InvalidTarget::NotGranted(
                "https://billing.example.com/".into()
            ))
        );
        assert_eq!(
            refreshed_audience(&registered(), &[], &["https://billing.example.com/"]),
            Ok(vec!["https://billing.example.com/".to_owned()])
        );
        assert_eq!(
            refreshed_audience::<&str>(&registered()[1..], &granted, &[]),
            Ok(vec![]),
            "a resource no longer registered is dropped"
        );
        assert_eq!(
            refreshed_audience(&registered(), &[], &["https://elsewhere.example"]),
            Err(InvalidTarget::NotRegistered(
                "https://elsewhere.example".into()
            ))
        );
    }
}
