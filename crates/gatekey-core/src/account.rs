//! Accounts: the tenants. Every credential acts inside exactly one account.

use time::OffsetDateTime;

/// An account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Account {
    /// Database id.
    pub id: i64,
    /// URL-safe unique name, `[a-z0-9][a-z0-9-]{1,62}`.
    pub slug: String,
    /// Display name.
    pub name: String,
    /// When it was created.
    pub created_at: OffsetDateTime,
}

/// Why an account could not be created.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AccountInputError {
    /// The slug does not match `[a-z0-9][a-z0-9-]{1,62}`.
    #[error(
        "slug must be 2 to 63 characters of a-z, 0-9 and '-', starting with a letter or digit"
    )]
    BadSlug,
    /// The name is empty or over 200 characters.
    #[error("name must be 1 to 200 characters")]
    BadName,
}

/// Checks a slug against `[a-z0-9][a-z0-9-]{1,62}`.
pub fn validate_slug(slug: &str) -> Result<(), AccountInputError> {
    let bytes = slug.as_bytes();
    let first_ok = bytes
        .first()
        .is_some_and(|b| b.is_ascii_lowercase() || b.is_ascii_digit());
    let rest_ok = bytes
        .iter()
        .skip(1)
        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || *b == b'-');
    if first_ok && rest_ok && (2..=63).contains(&bytes.len()) {
        Ok(())
    } else {
        Err(AccountInputError::BadSlug)
    }
}

/// Checks a display name: trimmed, 1 to 200 characters, no control characters.
pub fn validate_name(name: &str) -> Result<(), AccountInputError> {
    let length = name.chars().count();
    if name.trim() != name || !(1..=200).contains(&length) || name.chars().any(char::is_control) {
        return Err(AccountInputError::BadName);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs() {
        for good in ["ab", "acme", "a-1", "0day"] {
            assert_eq!(validate_slug(good), Ok(()), "{good}");
        }
        let too_long = "a".repeat(64);
        for bad in ["a", "-ab", "Acme", "ac_me", "ac me", "", too_long.as_str()] {
            assert_eq!(validate_slug(bad), Err(AccountInputError::BadSlug), "{bad}");
        }
    }
}
