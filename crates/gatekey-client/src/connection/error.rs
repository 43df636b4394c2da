//! Why a connection string or a builder was refused.

/// Why connection options were refused.
///
/// Every message names the keyword at fault. A value is quoted only when its keyword is not a
/// secret: no variant ever holds the value of `ApiKey`, `AccessToken`, `RefreshToken`,
/// `ClientSecret`, `OAuthCode` or `CodeVerifier`, so these errors may be logged as they are.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ConnectionError {
    /// A segment of the connection string has no `=`.
    ///
    /// Its text is not repeated: a stray segment may well be a secret pasted in the wrong place.
    #[error("segment {segment} of the connection string has no \"=\"; expected Keyword=value")]
    MissingEquals {
        /// Which `;`-separated segment, counting from 1 (empty segments are not counted).
        segment: usize,
    },
    /// A segment of the connection string starts with `=`.
    #[error("segment {segment} of the connection string has no keyword before \"=\"")]
    EmptyKeyword {
        /// Which `;`-separated segment, counting from 1 (empty segments are not counted).
        segment: usize,
    },
    /// A keyword that gatekey does not know.
    #[error("unknown keyword {0:?}")]
    UnknownKeyword(String),
    /// A keyword given twice, under its own name or an alias.
    #[error("{0} is given more than once (an alias counts as the same keyword)")]
    DuplicateKeyword(&'static str),
    /// A value opens a `{` that is never closed.
    #[error("the value of {0} opens a brace \"{{\" that is never closed (write \"}}}}\" for a \"}}\" inside braces)")]
    UnterminatedBrace(&'static str),
    /// Text follows the closing brace of a value before the next `;`.
    #[error("unexpected text after the closing brace of the value of {0}")]
    TextAfterBrace(&'static str),
    /// A value that its keyword does not accept.
    #[error("invalid value for {keyword}{}: {reason}", quoted(value.as_deref()))]
    InvalidValue {
        /// The canonical keyword.
        keyword: &'static str,
        /// The value as given; `None` when the keyword is a secret.
        value: Option<String>,
        /// What the keyword accepts.
        reason: String,
    },
    /// `Server` is absent.
    #[error("Server is required: the base URL of the gatekey server, e.g. Server=https://auth.example.com")]
    MissingServer,
    /// An option that another option or the authentication method needs is absent.
    #[error("{needed_by} needs {keyword}")]
    Missing {
        /// The keyword (or keywords, joined with "or") to supply.
        keyword: &'static str,
        /// What needs it, e.g. `AuthenticationMethod=ClientCredentials`.
        needed_by: String,
    },
    /// An option that the authentication method has no use for.
    #[error("{keyword} cannot be used with AuthenticationMethod={method}")]
    NotApplicable {
        /// The canonical keyword.
        keyword: &'static str,
        /// The chosen or inferred method.
        method: super::AuthenticationMethod,
    },
    /// `AuthenticationMethod` is absent and the other options do not decide it.
    #[error(
        "cannot tell which AuthenticationMethod to use from the options given (ClientId alone could \
         be PKCE or DeviceCode, for instance); set AuthenticationMethod to one of {}",
        super::AuthenticationMethod::NAMES.join(", ")
    )]
    CannotInferMethod,
}

fn quoted(value: Option<&str>) -> String {
    value.map(|v| format!(" {v:?}")).unwrap_or_default()
}

impl ConnectionError {
    /// An [`ConnectionError::InvalidValue`] that quotes the value unless `keyword` is a secret.
    pub(super) fn invalid(keyword: super::Keyword, value: &str, reason: impl Into<String>) -> Self {
        Self::InvalidValue {
            keyword: keyword.name(),
            value: (!keyword.is_secret()).then(|| value.to_owned()),
            reason: reason.into(),
        }
    }
}
