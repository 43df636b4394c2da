//! CSRF tokens. Signed-in forms echo the session's token; the login form, which has no session
//! yet, echoes a token that was also set in a short-lived cookie (double submit).

use rand::distributions::Alphanumeric;
use rand::Rng;
use subtle::ConstantTimeEq;

/// The login form's CSRF cookie.
pub const LOGIN_CSRF_COOKIE: &str = "gatekey_login_csrf";

/// A fresh random token (256 bits).
pub fn new_token() -> String {
    rand::rngs::OsRng
        .sample_iter(&Alphanumeric)
        .take(43)
        .map(char::from)
        .collect()
}

/// Compares a submitted token with the expected one in constant time; empty never matches.
pub fn tokens_match(submitted: &str, expected: &str) -> bool {
    !expected.is_empty() && bool::from(submitted.as_bytes().ct_eq(expected.as_bytes()))
}
