//! The `AccessTokenCommand` option: an external program whose standard output is an access token.
//!
//! This lets tokens be secured by another process (a password manager, a cloud CLI, a vault
//! agent) rather than by the connection string.

use std::fmt;
use std::process::{ExitStatus, Stdio};
use std::time::Duration;

use secrecy::SecretString;
use tokio::io::{AsyncRead, AsyncReadExt};
use tokio::process::Command;

/// How long a command may run unless told otherwise (`AccessTokenCommandTimeout`).
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);

/// More standard output than this is not a token; the rest is read and thrown away so that the
/// program is not blocked on a full pipe.
const STDOUT_LIMIT: usize = 64 * 1024;
/// How much standard error is kept for the error message.
const STDERR_LIMIT: usize = 16 * 1024;
/// How many characters of standard error a [`CommandError::Failed`] shows.
const STDERR_SHOWN: usize = 2000;

/// A program that prints an access token, with its arguments and a time limit.
///
/// The program is run directly (no shell) unless it was made with `shell = true`, in which case
/// it runs as `sh -c <line>`.
///
/// The program and its arguments are not treated as secret: `Debug` and
/// [`ConnectionOptions`](crate::ConnectionOptions)'s `Display` print them, and other users of the
/// machine may see them in the process list. Do not put a secret in the arguments; let the
/// program fetch it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenCommand {
    program: String,
    args: Vec<String>,
    /// The line as given, when it runs through `sh -c`.
    script: Option<String>,
    timeout: Duration,
}

/// What a [`TokenCommand`] printed.
#[derive(Clone)]
pub struct CommandToken {
    /// The access token.
    pub access_token: SecretString,
    /// Its lifetime, when the program printed JSON with `expires_in`.
    pub expires_in: Option<Duration>,
}

impl fmt::Debug for CommandToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CommandToken")
            .field("access_token", &"***")
            .field("expires_in", &self.expires_in)
            .finish()
    }
}

/// Why a [`TokenCommand`] could not be made or gave no token.
///
/// No variant holds the program's standard output, which is the token.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CommandError {
    /// The command line is empty.
    #[error("the command line is empty")]
    EmptyCommandLine,
    /// The command line's quoting could not be parsed.
    #[error("the command line cannot be split into words: {reason}")]
    BadQuoting {
        /// What is wrong, e.g. "missing closing quote".
        reason: String,
    },
    /// The program could not be started.
    #[error("could not start {program:?}: {source}")]
    Spawn {
        /// The program that was to run.
        program: String,
        /// Why it could not start.
        #[source]
        source: std::io::Error,
    },
    /// Reading the program's output or waiting for it failed.
    #[error("could not read the command's output: {0}")]
    Io(#[source] std::io::Error),
    /// The program ran longer than its timeout and was killed.
    #[error("the command did not finish within {} s and was killed", timeout.as_secs_f64())]
    TimedOut {
        /// The time limit.
        timeout: Duration,
    },
    /// The program exited unsuccessfully.
    #[error("the command failed ({status}){}", stderr_suffix(stderr))]
    Failed {
        /// Its exit status.
        status: ExitStatus,
        /// Its standard error, trimmed and cut to about 2000 characters.
        stderr: String,
    },
    /// The program succeeded but printed nothing.
    #[error("the command printed no token")]
    EmptyOutput,
    /// The program printed more than a token can be.
    #[error("the command printed more than {limit} bytes, which is not a token")]
    OutputTooLong {
        /// The limit in bytes.
        limit: usize,
    },
    /// The output is a JSON object but not one with a string `access_token` and a numeric
    /// `expires_in`.
    #[error(
        "the command printed a JSON object without a usable \"access_token\" (a string of visible \
         ASCII) or with an \"expires_in\" that is not a number of seconds"
    )]
    InvalidJson,
    /// The output is neither JSON nor one line of visible ASCII. It is not shown: it may be
    /// (a damaged) secret.
    #[error(
        "the command's output is not a token: expected one line of visible ASCII characters or a \
         JSON object with \"access_token\" (the output is not shown)"
    )]
    InvalidToken,
}

fn stderr_suffix(stderr: &str) -> String {
    if stderr.is_empty() {
        " and printed nothing on standard error".to_owned()
    } else {
        format!(": {stderr}")
    }
}

impl TokenCommand {
    /// A command that runs `program` with `args` directly (no shell), with the default timeout of
    /// 30 seconds.
    pub fn new(
        program: impl Into<String>,
        args: impl IntoIterator<Item = impl Into<String>>,
    ) -> Self {
        Self {
            program: program.into(),
            args: args.into_iter().map(Into::into).collect(),
            script: None,
            timeout: DEFAULT_TIMEOUT,
        }
    }

    /// A command from a command line, as the `AccessTokenCommand` option gives it.
    ///
    /// With `shell = false` the line is split into words by POSIX shell quoting rules (without
    /// running a shell: no variables, globs or pipes) and the first word is the program. With
    /// `shell = true` it runs as `sh -c <line>`.
    pub fn parse(line: &str, shell: bool, timeout: Duration) -> Result<Self, CommandError> {
        if line.trim().is_empty() {
            return Err(CommandError::EmptyCommandLine);
        }
        if shell {
            return Ok(Self {
                program: "sh".to_owned(),
                args: vec!["-c".to_owned(), line.to_owned()],
                script: Some(line.to_owned()),
                timeout,
            });
        }
        let mut words = shell_words::split(line)
            .map_err(|e| CommandError::BadQuoting {
                reason: e.to_string(),
            })?
            .into_iter();
        let program = words.next().ok_or(CommandError::EmptyCommandLine)?;
        Ok(Self::new(program, words).with_timeout(timeout))
    }

    /// The same command with another time limit.
    #[must_use]
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// The program that runs (`sh` for a shell command).
    pub fn program(&self) -> &str {
        &self.program
    }

    /// Its arguments (`-c` and the line for a shell command).
    pub fn args(&self) -> &[String] {
        &self.args
    }

    /// Whether it runs through `sh -c`.
    pub fn is_shell(&self) -> bool {
        self.script.is_some()
    }

    /// How long it may run before it is killed.
    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    /// The command line that [`TokenCommand::parse`] turns back into this command: the line as
    /// given for a shell command, else the program and arguments quoted for a POSIX shell.
    pub fn command_line(&self) -> String {
        match &self.script {
            Some(script) => script.clone(),
            None => shell_words::join(std::iter::once(&self.program).chain(&self.args)),
        }
    }

    /// Runs the program and reads the token it prints.
    ///
    /// Standard input is closed. Standard output, trimmed, is either the token itself (one line
    /// of visible ASCII) or a JSON object `{"access_token": "…", "expires_in": 3600}` as in a
    /// token response (RFC 6749 §5.1). A program still running after the timeout is killed.
    pub async fn run(&self) -> Result<CommandToken, CommandError> {
        let mut child = Command::new(&self.program)
            .args(&self.args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .map_err(|source| CommandError::Spawn {
                program: self.program.clone(),
                source,
            })?;
        let stdout = child.stdout.take();
        let stderr = child.stderr.take();
        let finished = tokio::time::timeout(self.timeout, async {
            tokio::try_join!(
                child.wait(),
                read_capped(stdout, STDOUT_LIMIT),
                read_capped(stderr, STDERR_LIMIT),
            )
        })
        .await;
        let (status, (stdout, stdout_cut), (stderr, _)) = match finished {
            Ok(result) => result.map_err(CommandError::Io)?,
            Err(_elapsed) => {
                // Killing may fail only because it has just exited; either way it is gone.
                let _ = child.kill().await;
                return Err(CommandError::TimedOut {
                    timeout: self.timeout,
                });
            }
        };
        if !status.success() {
            return Err(CommandError::Failed {
                status,
                stderr: shorten(String::from_utf8_lossy(&stderr).trim(), STDERR_SHOWN),
            });
        }
        if stdout_cut {
            return Err(CommandError::OutputTooLong {
                limit: STDOUT_LIMIT,
            });
        }
        token_from_output(&stdout)
    }
}

/// Reads everything from `pipe`, keeping at most `limit` bytes; says whether any was dropped.
async fn read_capped(
    pipe: Option<impl AsyncRead + Unpin>,
    limit: usize,
) -> std::io::Result<(Vec<u8>, bool)> {
    let mut kept = Vec::new();
    let Some(mut pipe) = pipe else {
        return Ok((kept, false));
    };
    let limit_u64 = u64::try_from(limit).unwrap_or(u64::MAX);
    (&mut pipe).take(limit_u64).read_to_end(&mut kept).await?;
    let dropped = tokio::io::copy(&mut pipe, &mut tokio::io::sink()).await?;
    Ok((kept, dropped > 0))
}

fn shorten(text: &str, max_chars: usize) -> String {
    match text.char_indices().nth(max_chars) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text.to_owned(),
    }
}

/// A token goes into an `Authorization` header, so it must be one line of visible ASCII.
fn is_visible_ascii(token: &str) -> bool {
    !token.is_empty() && token.bytes().all(|b| b.is_ascii_graphic())
}

fn token_from_output(stdout: &[u8]) -> Result<CommandToken, CommandError> {
    let text = std::str::from_utf8(stdout).map_err(|_| CommandError::InvalidToken)?;
    let text = text.trim();
    if text.is_empty() {
        return Err(CommandError::EmptyOutput);
    }
    if text.starts_with('{') {
        if let Ok(serde_json::Value::Object(object)) = serde_json::from_str(text) {
            return token_from_json(&object);
        }
    }
    if !is_visible_ascii(text) {
        return Err(CommandError::InvalidToken);
    }
    Ok(CommandToken {
        access_token: SecretString::from(text),
        expires_in: None,
    })
}

fn token_from_json(
    object: &serde_json::Map<String, serde_json::Value>,
) -> Result<CommandToken, CommandError> {
    let access_token = match object.get("access_token") {
        Some(serde_json::Value::String(token)) if is_visible_ascii(token) => token,
        _ => return Err(CommandError::InvalidJson),
    };
    let expires_in = match object.get("expires_in") {
        None | Some(serde_json::Value::Null) => None,
        Some(serde_json::Value::Number(n)) => match n.as_u64() {
            Some(secs) => Some(Duration::from_secs(secs)),
            None => match n.as_f64() {
                Some(secs) if secs >= 0.0 && secs.is_finite() => {
                    Some(Duration::from_secs_f64(secs))
                }
                _ => return Err(CommandError::InvalidJson),
            },
        },
        Some(_) => return Err(CommandError::InvalidJson),
    };
    Ok(CommandToken {
        access_token: SecretString::from(access_token.as_str()),
        expires_in,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use secrecy::ExposeSecret;

    fn shell(script: &str) -> TokenCommand {
        TokenCommand::parse(script, true, DEFAULT_TIMEOUT).unwrap()
    }

    #[tokio::test]
    async fn a_shell_script_prints_a_token() {
        let token = shell("echo '  gk_at_abc.def  '").run().await.unwrap();
        assert_eq!(token.access_token.expose_secret(), "gk_at_abc.def");
        assert_eq!(token.expires_in, None);
    }

    #[tokio::test]
    async fn json_output_gives_the_token_and_its_lifetime() {
        let command = shell(r#"printf '{"access_token":"gk_at_json","expires_in":3600}\n'"#);
        let token = command.run().await.unwrap();
        assert_eq!(token.access_token.expose_secret(), "gk_at_json");
        assert_eq!(token.expires_in, Some(Duration::from_secs(3600)));
    }

    #[tokio::test]
    async fn json_without_a_string_access_token_is_refused_without_showing_it() {
        let err = shell(r#"printf '{"access_token":["gk_at_hidden"]}'"#)
            .run()
            .await
            .unwrap_err();
        assert!(matches!(err, CommandError::InvalidJson), "{err:?}");
        assert!(!err.to_string().contains("gk_at_hidden"));
    }

    #[tokio::test]
    async fn a_failing_program_shows_its_stderr() {
        let err = shell("echo 'vault is sealed' >&2; echo gk_at_not_this; exit 3")
            .run()
            .await
            .unwrap_err();
        match &err {
            CommandError::Failed { status, stderr } => {
                assert_eq!(status.code(), Some(3));
                assert_eq!(stderr, "vault is sealed");
            }
            other => panic!("expected Failed, got {other:?}"),
        }
        let message = err.to_string();
        assert!(message.contains("vault is sealed"), "{message}");
        assert!(!message.contains("gk_at_not_this"), "{message}");
    }

    #[tokio::test]
    async fn long_stderr_is_cut() {
        let err = shell("head -c 10000 /dev/zero | tr '\\0' x >&2; exit 1")
            .run()
            .await
            .unwrap_err();
        let CommandError::Failed { stderr, .. } = err else {
            panic!("expected Failed, got {err:?}");
        };
        assert_eq!(stderr.chars().count(), STDERR_SHOWN + 1);
        assert!(stderr.ends_with('…'));
    }

    #[tokio::test]
    async fn a_slow_program_is_killed_at_the_timeout() {
        let command = shell("sleep 5; echo too_late").with_timeout(Duration::from_secs(1));
        let started = std::time::Instant::now();
        let err = command.run().await.unwrap_err();
        assert!(
            matches!(err, CommandError::TimedOut { timeout } if timeout == Duration::from_secs(1)),
            "{err:?}"
        );
        assert!(started.elapsed() < Duration::from_secs(4));
    }

    #[tokio::test]
    async fn without_a_shell_quotes_keep_an_argument_with_a_space_whole() {
        let dir = tempfile::tempdir().unwrap();
        let script = dir.path().join("print token.sh");
        // Prints the number of arguments, the length of the first, and the second.
        std::fs::write(&script, "printf '%s:%s:%s' \"$#\" \"${#1}\" \"$2\"\n").unwrap();
        let script = shell_words::quote(&script.to_string_lossy()).into_owned();
        let line = format!("sh {script} 'one two' three");
        let command = TokenCommand::parse(&line, false, DEFAULT_TIMEOUT).unwrap();
        assert_eq!(command.program(), "sh");
        assert_eq!(command.args()[1..], ["one two", "three"]);
        let token = command.run().await.unwrap();
        assert_eq!(token.access_token.expose_secret(), "2:7:three");

        let command = TokenCommand::new("printf", ["%s_%s", "one", "two"]);
        let token = command.run().await.unwrap();
        assert_eq!(token.access_token.expose_secret(), "one_two");
    }

    #[tokio::test]
    async fn without_a_shell_metacharacters_are_plain_arguments() {
        let command = TokenCommand::parse("echo gk_at_x; false", false, DEFAULT_TIMEOUT).unwrap();
        assert_eq!(command.args(), ["gk_at_x;", "false"]);
        let err = command.run().await.unwrap_err();
        assert!(matches!(err, CommandError::InvalidToken), "{err:?}");
    }

    #[tokio::test]
    async fn empty_output_is_an_error() {
        let err = shell("printf '  \\n'").run().await.unwrap_err();
        assert!(matches!(err, CommandError::EmptyOutput), "{err:?}");
    }

    #[tokio::test]
    async fn several_lines_are_not_a_token_and_are_not_shown() {
        let err = shell("printf 'gk_at_first\\ngk_at_second\\n'")
            .run()
            .await
            .unwrap_err();
        assert!(matches!(err, CommandError::InvalidToken), "{err:?}");
        assert!(!err.to_string().contains("gk_at_"));
        assert!(!format!("{err:?}").contains("gk_at_"));
    }

    #[tokio::test]
    async fn a_missing_program_is_a_spawn_error_naming_it() {
        let err = TokenCommand::new("gatekey-no-such-program", Vec::<String>::new())
            .run()
            .await
            .unwrap_err();
        assert!(
            matches!(&err, CommandError::Spawn { program, .. } if program == "gatekey-no-such-program"),
            "{err:?}"
        );
        assert!(err.to_string().contains("gatekey-no-such-program"));
    }

    #[test]
    fn parse_refuses_an_empty_line_and_bad_quoting() {
        assert!(matches!(
            TokenCommand::parse("  ", false, DEFAULT_TIMEOUT),
            Err(CommandError::EmptyCommandLine)
        ));
        assert!(matches!(
            TokenCommand::parse("", true, DEFAULT_TIMEOUT),
            Err(CommandError::EmptyCommandLine)
        ));
        assert!(matches!(
            TokenCommand::parse("vault read 'secret", false, DEFAULT_TIMEOUT),
            Err(CommandError::BadQuoting { .. })
        ));
    }

    #[test]
    fn command_line_parses_back_to_the_same_command() {
        let command = TokenCommand::new("/opt/my tools/token", ["--profile", "it's mine", "a;b"]);
        let again = TokenCommand::parse(&command.command_line(), false, DEFAULT_TIMEOUT).unwrap();
        assert_eq!(again, command);

        let script = "vault read -field=token secret/gk | tr -d '\\n'";
        let command = TokenCommand::parse(script, true, DEFAULT_TIMEOUT).unwrap();
        assert!(command.is_shell());
        assert_eq!(command.command_line(), script);
        assert_eq!(command.args(), ["-c", script]);
    }

    #[test]
    fn debug_of_a_token_hides_it() {
        let token = CommandToken {
            access_token: SecretString::from("gk_at_debug"),
            expires_in: None,
        };
        assert!(!format!("{token:?}").contains("gk_at_debug"));
    }
}
