//! Password logins.

use crate::password::{verify_against_nothing_with, verify_password_with, HashMemory};
use crate::user::{User, UserKind};

/// Why a login failed. Deliberately coarse: the caller learns nothing about which part was wrong.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("wrong email or password")]
pub struct BadCredentials;

/// Checks a password against the user an email found (or `None`). Always spends one argon2
/// verification, whether or not the user exists or may log in, so timing does not reveal
/// which emails are registered. CPU-heavy (tens of milliseconds): run it off the async threads.
pub fn verify_login(user: Option<&User>, password: &str) -> Result<(), BadCredentials> {
    verify_login_with(user, password, &mut HashMemory::new())
}

/// [`verify_login`] in the given argon2 working memory.
pub fn verify_login_with(
    user: Option<&User>,
    password: &str,
    memory: &mut HashMemory,
) -> Result<(), BadCredentials> {
    let hash = match user {
        Some(User {
            kind: UserKind::Person,
            password_hash: Some(hash),
            ..
        }) => hash,
        _ => {
            verify_against_nothing_with(password, memory);
            return Err(BadCredentials);
        }
    };
    let matches = verify_password_with(password, hash, memory);
    if !matches || user.is_some_and(User::is_disabled) {
        return Err(BadCredentials);
    }
    Ok(())
}
