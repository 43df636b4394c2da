//! The Content-Security-Policy every response carries, in one place for the layer that sets it
//! and the pages that widen it.

use axum::http::HeaderValue;

/// Content-Security-Policy of every response (unless a page sets its own, as the consent page
/// does): only our own script and stylesheet, no framing, forms posted only to us.
pub const CONTENT_SECURITY_POLICY: &str =
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; \
     connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/// The policy, except that forms may also lead to `source` (an origin, or a `scheme:`).
pub fn policy_with_form_action(source: &str) -> String {
    CONTENT_SECURITY_POLICY.replace(
        "form-action 'self'",
        &format!("form-action 'self' {source}"),
    )
}

/// The policy of a page whose form is answered by a redirect to `uri`: browsers apply
/// `form-action` to that redirect too, so `uri`'s origin (or scheme, without a host) is allowed.
/// `None` when `uri` is not a URL.
pub fn policy_for_form_leading_to(uri: &str) -> Option<HeaderValue> {
    let url = url::Url::parse(uri).ok()?;
    let source = match url.host_str() {
        Some(_) => url.origin().ascii_serialization(),
        None => format!("{}:", url.scheme()),
    };
    HeaderValue::from_str(&policy_with_form_action(&source)).ok()
}
