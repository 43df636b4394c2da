//! The Content-Security-Policy every response carries, in one place for the layer that sets it
//! and the consent page that widens it.

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
