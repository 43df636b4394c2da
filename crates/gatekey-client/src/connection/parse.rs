//! The connection-string syntax: `Keyword=value` pairs separated by `;`, as in ODBC.

use std::path::PathBuf;
use std::str::FromStr;
use std::time::Duration;

use secrecy::SecretString;

use super::{ConnectionError, ConnectionOptions, ConnectionOptionsBuilder, Keyword};
use crate::command::DEFAULT_TIMEOUT;
use crate::TokenCommand;

impl FromStr for ConnectionOptions {
    type Err = ConnectionError;

    /// Same as [`ConnectionOptions::parse`].
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl ConnectionOptions {
    /// Parses and checks a connection string such as
    /// `Server=https://auth.example.com;ClientId=abc;ClientSecret={gk_cs_x;y}`.
    ///
    /// Keywords ignore case and may be given once each (an alias counts as its keyword).
    /// Whitespace around keywords and unbraced values is dropped, and so are empty segments.
    /// A value in braces is taken as it is, `;`, `=` and spaces included, with `}}` standing for
    /// one `}`.
    pub fn parse(connection_string: &str) -> Result<Self, ConnectionError> {
        let mut builder = ConnectionOptionsBuilder::default();
        let mut command_line = None;
        let mut command_shell = None;
        let mut command_timeout = None;
        let mut seen = Vec::new();
        for (keyword, value) in split_pairs(connection_string)? {
            if seen.contains(&keyword) {
                return Err(ConnectionError::DuplicateKeyword(keyword.name()));
            }
            seen.push(keyword);
            match keyword {
                Keyword::Server => builder.server = Some(value),
                Keyword::AuthenticationMethod => builder.method = Some(value.parse()?),
                Keyword::ApiKey => builder.api_key = Some(SecretString::from(value)),
                Keyword::AccessToken => builder.access_token = Some(SecretString::from(value)),
                Keyword::AccessTokenCommand => command_line = Some(value),
                Keyword::AccessTokenCommandShell => {
                    command_shell = Some(parse_bool(keyword, &value)?);
                }
                Keyword::AccessTokenCommandTimeout => {
                    command_timeout = Some(parse_seconds(keyword, &value, 1, 3600)?);
                }
                Keyword::RefreshToken => builder.refresh_token = Some(SecretString::from(value)),
                Keyword::ClientId => builder.client_id = Some(value),
                Keyword::ClientSecret => builder.client_secret = Some(SecretString::from(value)),
                Keyword::Scope => builder.scope = Some(value),
                Keyword::OAuthCode => builder.oauth_code = Some(SecretString::from(value)),
                Keyword::RedirectUri => builder.redirect_uri = Some(value),
                Keyword::CodeVerifier => builder.code_verifier = Some(SecretString::from(value)),
                Keyword::TokenCache => builder.token_cache = Some(PathBuf::from(value)),
                Keyword::RefreshSkew => {
                    builder.refresh_skew = Some(parse_seconds(keyword, &value, 0, 86_400)?);
                }
                Keyword::OpenBrowser => builder.open_browser = Some(parse_bool(keyword, &value)?),
            }
        }
        builder.access_token_command = match command_line {
            Some(line) => Some(
                TokenCommand::parse(
                    &line,
                    command_shell.unwrap_or(false),
                    command_timeout.unwrap_or(DEFAULT_TIMEOUT),
                )
                .map_err(|e| {
                    ConnectionError::invalid(Keyword::AccessTokenCommand, &line, e.to_string())
                })?,
            ),
            None => {
                let orphan = [
                    (Keyword::AccessTokenCommandShell, command_shell.is_some()),
                    (
                        Keyword::AccessTokenCommandTimeout,
                        command_timeout.is_some(),
                    ),
                ];
                if let Some((keyword, _)) = orphan.into_iter().find(|(_, given)| *given) {
                    return Err(ConnectionError::Missing {
                        keyword: Keyword::AccessTokenCommand.name(),
                        needed_by: keyword.name().to_owned(),
                    });
                }
                None
            }
        };
        builder.build()
    }
}

/// Splits a connection string into keywords and values, without judging the values.
fn split_pairs(input: &str) -> Result<Vec<(Keyword, String)>, ConnectionError> {
    let mut pairs = Vec::new();
    let mut rest = input;
    let mut segment = 0;
    while !rest.is_empty() {
        let key_end = rest.find(['=', ';']).unwrap_or(rest.len());
        if !rest[key_end..].starts_with('=') {
            let text = &rest[..key_end];
            rest = rest.get(key_end + 1..).unwrap_or_default();
            if text.trim().is_empty() {
                continue;
            }
            return Err(ConnectionError::MissingEquals {
                segment: segment + 1,
            });
        }
        segment += 1;
        let name = rest[..key_end].trim();
        if name.is_empty() {
            return Err(ConnectionError::EmptyKeyword { segment });
        }
        let keyword = Keyword::lookup(name)
            .ok_or_else(|| ConnectionError::UnknownKeyword(name.to_owned()))?;
        let after = rest[key_end + 1..].trim_start();
        let (value, remaining) = match after.strip_prefix('{') {
            Some(braced) => read_braced(braced, keyword)?,
            None => {
                let end = after.find(';').unwrap_or(after.len());
                (after[..end].trim_end().to_owned(), &after[end..])
            }
        };
        rest = remaining.strip_prefix(';').unwrap_or(remaining);
        pairs.push((keyword, value));
    }
    Ok(pairs)
}

/// Reads a braced value up to its closing `}` (the opening one already consumed), turning `}}`
/// into `}`; returns it and what follows, which must be `;` or the end.
fn read_braced(text: &str, keyword: Keyword) -> Result<(String, &str), ConnectionError> {
    let mut value = String::new();
    let mut chars = text.char_indices().peekable();
    while let Some((at, c)) = chars.next() {
        if c != '}' {
            value.push(c);
        } else if chars.next_if(|&(_, next)| next == '}').is_some() {
            value.push('}');
        } else {
            let after = text[at + 1..].trim_start();
            if !(after.is_empty() || after.starts_with(';')) {
                return Err(ConnectionError::TextAfterBrace(keyword.name()));
            }
            return Ok((value, after));
        }
    }
    Err(ConnectionError::UnterminatedBrace(keyword.name()))
}

fn parse_bool(keyword: Keyword, value: &str) -> Result<bool, ConnectionError> {
    match value.to_ascii_lowercase().as_str() {
        "true" | "yes" | "1" => Ok(true),
        "false" | "no" | "0" => Ok(false),
        _ => Err(ConnectionError::invalid(
            keyword,
            value,
            "expected true or false (or yes/no, 1/0)",
        )),
    }
}

fn parse_seconds(
    keyword: Keyword,
    value: &str,
    min: u64,
    max: u64,
) -> Result<Duration, ConnectionError> {
    match value.parse::<u64>() {
        Ok(secs) if (min..=max).contains(&secs) => Ok(Duration::from_secs(secs)),
        _ => Err(ConnectionError::invalid(
            keyword,
            value,
            format!("expected a whole number of seconds from {min} to {max}"),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::AuthenticationMethod;
    use secrecy::ExposeSecret;

    fn parse(input: &str) -> Result<ConnectionOptions, ConnectionError> {
        ConnectionOptions::parse(input)
    }

    #[test]
    fn braces_keep_separators_spaces_and_doubled_closing_braces() {
        let options = parse(
            "Server=https://auth.example.com;AuthenticationMethod=ClientCredentials;\
             ClientId={ a=b; c };ClientSecret={gk_cs_x;y}}z}  ;",
        )
        .unwrap();
        assert_eq!(options.client_id(), Some(" a=b; c "));
        assert_eq!(
            options.client_secret().unwrap().expose_secret(),
            "gk_cs_x;y}z"
        );
        let options = parse("Server=https://a.example;ClientId=x;ClientSecret={}}}}{}").unwrap();
        assert_eq!(options.client_secret().unwrap().expose_secret(), "}}{");
    }

    #[test]
    fn keywords_ignore_case_and_whitespace_is_trimmed() {
        let options = parse(
            " ;; sErVeR =  https://auth.example.com/  ; clientid = my app ;CLIENTSECRET=s;\
             authenticationmethod = clientcredentials ;scope=read;",
        )
        .unwrap();
        assert_eq!(options.server(), "https://auth.example.com");
        assert_eq!(options.method(), AuthenticationMethod::ClientCredentials);
        assert_eq!(options.client_id(), Some("my app"));
        assert_eq!(options.scope(), Some("read"));
    }

    #[test]
    fn aliases_set_their_keyword() {
        let options = parse("Server=https://a.example;SecurityToken=gk_key_1").unwrap();
        assert_eq!(options.method(), AuthenticationMethod::ApiKey);
        assert_eq!(options.api_key().unwrap().expose_secret(), "gk_key_1");

        let options = parse(
            "Server=https://a.example;authorizationcode=c1;ClientId=x;\
             RedirectURI=https://app.example/cb",
        )
        .unwrap();
        assert_eq!(options.method(), AuthenticationMethod::AuthorizationCode);
        assert_eq!(options.oauth_code().unwrap().expose_secret(), "c1");
    }

    #[test]
    fn a_keyword_given_twice_is_named_even_through_an_alias() {
        for (input, keyword) in [
            ("Server=https://a.example;ClientId=x;clientid=y", "ClientId"),
            (
                "Server=https://a.example;ApiKey=a;SecurityToken=b",
                "ApiKey",
            ),
            (
                "Server=https://a.example;AuthorizationCode=a;OAuthCode=b",
                "OAuthCode",
            ),
            (
                "Server=https://a.example;Server=https://b.example",
                "Server",
            ),
        ] {
            let err = parse(input).unwrap_err();
            assert_eq!(err, ConnectionError::DuplicateKeyword(keyword), "{input:?}");
            assert!(err.to_string().contains(keyword));
        }
    }

    #[test]
    fn syntax_errors_say_what_is_wrong_without_quoting_secrets() {
        let err = parse("Server=https://a.example;Foo=bar").unwrap_err();
        assert_eq!(err.to_string(), "unknown keyword \"Foo\"");

        let err = parse("Server=https://a.example;;gk_cs_pasted;ClientId=x").unwrap_err();
        assert_eq!(err, ConnectionError::MissingEquals { segment: 2 });
        assert!(!err.to_string().contains("gk_cs_pasted"));

        let err = parse("Server=https://a.example;=x").unwrap_err();
        assert_eq!(err, ConnectionError::EmptyKeyword { segment: 2 });

        let err =
            parse("Server=https://a.example;ClientSecret={gk_cs_open;ClientId=x").unwrap_err();
        assert_eq!(err, ConnectionError::UnterminatedBrace("ClientSecret"));
        assert!(!err.to_string().contains("gk_cs_open"));

        let err = parse("Server=https://a.example;ClientSecret={gk_cs_a}}").unwrap_err();
        assert_eq!(err, ConnectionError::UnterminatedBrace("ClientSecret"));

        let err = parse("Server=https://a.example;ClientSecret={gk_cs_a}b;ClientId=x").unwrap_err();
        assert_eq!(err, ConnectionError::TextAfterBrace("ClientSecret"));
        assert!(!err.to_string().contains("gk_cs_a"));
    }

    #[test]
    fn typed_values_name_their_keyword_and_value() {
        let cases = [
            (
                "AuthenticationMethod=OAuth2;ApiKey=k",
                "AuthenticationMethod",
                "OAuth2",
            ),
            (
                "ApiKey=k;AccessTokenCommandShell=maybe",
                "AccessTokenCommandShell",
                "maybe",
            ),
            (
                "AccessTokenCommand=x;AccessTokenCommandTimeout=0",
                "AccessTokenCommandTimeout",
                "0",
            ),
            (
                "AccessTokenCommand=x;AccessTokenCommandTimeout=3601",
                "AccessTokenCommandTimeout",
                "3601",
            ),
            (
                "ClientId=x;ClientSecret=s;RefreshSkew=-1",
                "RefreshSkew",
                "-1",
            ),
            (
                "ClientId=x;ClientSecret=s;RefreshSkew=86401",
                "RefreshSkew",
                "86401",
            ),
            (
                "ClientId=x;ClientSecret=s;RefreshSkew=1m",
                "RefreshSkew",
                "1m",
            ),
            (
                "AuthenticationMethod=PKCE;ClientId=x;OpenBrowser=sometimes",
                "OpenBrowser",
                "sometimes",
            ),
            (
                "AccessTokenCommand={vault 'read}",
                "AccessTokenCommand",
                "vault 'read",
            ),
            ("AccessTokenCommand={  }", "AccessTokenCommand", "  "),
        ];
        for (input, keyword, value) in cases {
            let err = parse(&format!("Server=https://a.example;{input}")).unwrap_err();
            let message = err.to_string();
            assert!(
                message.starts_with(&format!("invalid value for {keyword} {value:?}")),
                "{input:?}: {message}"
            );
        }
    }

    #[test]
    fn command_options_need_the_command() {
        let err =
            parse("Server=https://a.example;ApiKey=k;AccessTokenCommandShell=true").unwrap_err();
        assert_eq!(
            err.to_string(),
            "AccessTokenCommandShell needs AccessTokenCommand"
        );
        let err = parse("Server=https://a.example;AccessToken=a;AccessTokenCommandTimeout=5")
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "AccessTokenCommandTimeout needs AccessTokenCommand"
        );
    }

    #[test]
    fn the_command_line_is_split_unless_it_runs_in_a_shell() {
        let options = parse(
            "Server=https://a.example;AccessTokenCommand={vault read -field=token \"secret/a b\"};\
             AccessTokenCommandTimeout=5",
        )
        .unwrap();
        assert_eq!(options.method(), AuthenticationMethod::AccessToken);
        let command = options.access_token_command().unwrap();
        assert_eq!(command.program(), "vault");
        assert_eq!(command.args(), ["read", "-field=token", "secret/a b"]);
        assert!(!command.is_shell());
        assert_eq!(command.timeout(), Duration::from_secs(5));

        let options = parse(
            "Server=https://a.example;AuthenticationMethod=AccessTokenCommand;\
             AccessTokenCommand={gk token | tr -d '\\n'};AccessTokenCommandShell=1",
        )
        .unwrap();
        let command = options.access_token_command().unwrap();
        assert_eq!(command.program(), "sh");
        assert_eq!(command.args(), ["-c", "gk token | tr -d '\\n'"]);
        assert_eq!(command.timeout(), DEFAULT_TIMEOUT);
    }

    #[test]
    fn defaults_apply_when_options_are_absent() {
        let options =
            parse("Server=https://a.example;AuthenticationMethod=PKCE;ClientId=x").unwrap();
        assert_eq!(options.refresh_skew(), Duration::from_secs(60));
        assert!(options.open_browser());
        assert_eq!(options.redirect_uri(), None);
        assert_eq!(options.token_cache(), None);
    }

    #[test]
    fn the_method_is_inferred_in_order() {
        use AuthenticationMethod as M;
        let cases = [
            ("ApiKey=k", M::ApiKey),
            ("SecurityToken=k", M::ApiKey),
            (
                "OAuthCode=c;ClientId=x;RedirectURI=https://app.example/cb",
                M::AuthorizationCode,
            ),
            ("RefreshToken=r;ClientId=x", M::RefreshToken),
            (
                "RefreshToken=r;AccessToken=a;ClientId=x;ClientSecret=s",
                M::RefreshToken,
            ),
            ("AccessToken=a", M::AccessToken),
            ("AccessTokenCommand=gk-token", M::AccessToken),
            ("AccessToken=a;ClientId=x;ClientSecret=s", M::AccessToken),
            ("ClientId=x;ClientSecret=s", M::ClientCredentials),
        ];
        for (input, method) in cases {
            let options = parse(&format!("Server=https://a.example;{input}"))
                .unwrap_or_else(|e| panic!("{input:?}: {e}"));
            assert_eq!(options.method(), method, "{input:?}");
        }

        // OAuthCode comes before RefreshToken, which AuthorizationCode cannot use.
        let err = parse(
            "Server=https://a.example;OAuthCode=c;RefreshToken=r;ClientId=x;\
             RedirectURI=https://app.example/cb",
        )
        .unwrap_err();
        assert_eq!(
            err.to_string(),
            "RefreshToken cannot be used with AuthenticationMethod=AuthorizationCode"
        );

        for input in ["ClientId=x", "ClientSecret=s", "Scope=read", ""] {
            let err = parse(&format!("Server=https://a.example;{input}")).unwrap_err();
            assert_eq!(err, ConnectionError::CannotInferMethod, "{input:?}");
            let message = err.to_string();
            assert!(message.contains("set AuthenticationMethod"), "{message}");
            assert!(message.contains("PKCE, ClientCredentials"), "{message}");
        }
    }
}
