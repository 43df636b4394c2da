//! The name of a catalogue scope: an RFC 6749 §3.3 `scope-token`, of bounded length, and not one
//! of the built-in names.

use std::fmt;
use std::sync::Arc;

use crate::builtin_scope::Scope;
use crate::identity_scope::IdentityScope;

/// Longest scope name accepted, in characters (every allowed character is one byte).
pub const MAX_SCOPE_NAME_LEN: usize = 64;

/// A catalogue scope's name, checked: 1 to [`MAX_SCOPE_NAME_LEN`] characters from RFC 6749 §3.3
/// `scope-token = 1*( %x21 / %x23-5B / %x5D-7E )` (printable ASCII but space, `"` and `\`),
/// and none of the built-in names: `read`, `write`, `admin`, and the OpenID Connect identity
/// scopes `openid`, `profile`, `email`, `offline_access`. Cheap to clone.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ScopeName(Arc<str>);

/// Why a scope name was refused. The name is shown cut to a few dozen characters and with its
/// control characters escaped.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ScopeNameError {
    /// Nothing between two separators, or an empty name.
    #[error("a scope name cannot be empty")]
    Empty,
    /// More than [`MAX_SCOPE_NAME_LEN`] characters.
    #[error("the scope name {0:?}… is longer than {MAX_SCOPE_NAME_LEN} characters")]
    TooLong(String),
    /// A character outside RFC 6749 §3.3's `scope-token`.
    #[error("the scope name {name:?} contains {character:?}; a scope name uses printable ASCII characters other than space, '\"' and '\\' (RFC 6749 §3.3)")]
    BadCharacter {
        /// The name, cut.
        name: String,
        /// The first refused character.
        character: char,
    },
    /// `read`, `write`, `admin` or an identity scope (`openid`, …), which are built in.
    #[error("{0:?} is a built-in scope; catalogue scopes need other names")]
    Builtin(String),
}

/// Whether `c` may appear in a scope token (RFC 6749 §3.3).
const fn is_scope_char(c: char) -> bool {
    matches!(c, '\x21' | '\x23'..='\x5b' | '\x5d'..='\x7e')
}

/// At most `MAX_SCOPE_NAME_LEN` characters of `text`, for an error message.
fn cut(text: &str) -> String {
    text.chars().take(MAX_SCOPE_NAME_LEN).collect()
}

impl ScopeName {
    /// Checks `text` as a catalogue scope name.
    pub fn parse(text: &str) -> Result<Self, ScopeNameError> {
        if text.is_empty() {
            return Err(ScopeNameError::Empty);
        }
        if let Some(character) = text.chars().find(|c| !is_scope_char(*c)) {
            return Err(ScopeNameError::BadCharacter {
                name: cut(text),
                character,
            });
        }
        if text.len() > MAX_SCOPE_NAME_LEN {
            return Err(ScopeNameError::TooLong(cut(text)));
        }
        if Scope::from_name(text).is_some() || IdentityScope::from_name(text).is_some() {
            return Err(ScopeNameError::Builtin(text.to_owned()));
        }
        Ok(Self(text.into()))
    }

    /// The name.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for ScopeName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for ScopeName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ScopeName({:?})", &*self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_rfc_6749_scope_tokens() {
        for good in [
            "features:read",
            "billing",
            "a",
            "x!#[]^~",
            "urn:x:y/z.w-1_2",
        ] {
            assert_eq!(
                ScopeName::parse(good).map(|n| n.to_string()),
                Ok(good.into())
            );
        }
        assert_eq!(ScopeName::parse(""), Err(ScopeNameError::Empty));
        assert_eq!(
            ScopeName::parse("ideas write"),
            Err(ScopeNameError::BadCharacter {
                name: "ideas write".into(),
                character: ' '
            })
        );
        for bad in ["\"q\"", "a\\b", "tab\t", "nul\0", "del\x7f", "ü"] {
            assert!(
                matches!(
                    ScopeName::parse(bad),
                    Err(ScopeNameError::BadCharacter { .. })
                ),
                "{bad:?}"
            );
        }
        assert!(ScopeName::parse(&"x".repeat(MAX_SCOPE_NAME_LEN)).is_ok());
        assert!(matches!(
            ScopeName::parse(&"x".repeat(MAX_SCOPE_NAME_LEN + 1)),
            Err(ScopeNameError::TooLong(_))
        ));
        assert_eq!(
            ScopeName::parse("admin"),
            Err(ScopeNameError::Builtin("admin".into()))
        );
        for identity in ["openid", "profile", "email", "offline_access"] {
            assert_eq!(
                ScopeName::parse(identity),
                Err(ScopeNameError::Builtin(identity.into()))
            );
        }
    }

    #[test]
    fn a_refused_name_is_shown_cut_and_escaped() {
        let long = format!("{}\u{1b}[2J", "y".repeat(500));
        let message = ScopeName::parse(&long).unwrap_err().to_string();
        assert!(message.len() < 250, "{message}");
        assert!(!message.contains('\u{1b}'));
    }
}
