//! OpenID Connect's say over the user's part in an authorization request (OpenID Connect Core
//! 1.0 §3.1.2.1 `prompt` and `max_age`, §3.1.2.3, §3.1.2.6): whether the user must sign in
//! (again), choose an account, or be asked for consent, or whether the client wants none of
//! that and an error instead.
//!
//! [`Prompt::parse`] and [`parse_max_age`] read the parameters; [`decide_prompt`] takes what the
//! endpoint found (the session, the accounts, a standing grant) and the time, and decides,
//! doing no I/O. The endpoint applies the parameters to every authorization request, with or
//! without the `openid` scope: a plain OAuth client gains the same control over the pages.

use time::{Duration, OffsetDateTime};

/// The `prompt` parameter: a space-separated set of `none`, `login`, `consent` and
/// `select_account` (OpenID Connect Core §3.1.2.1).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Prompt {
    /// `none`: show no page at all; answer an error when one would be needed.
    pub none: bool,
    /// `login`: the user signs in again, even with a session.
    pub login: bool,
    /// `consent`: ask for consent, even when a standing grant covers the request.
    pub consent: bool,
    /// `select_account`: ask which account, even when the user has one.
    pub select_account: bool,
}

/// A `prompt` or `max_age` that cannot be accepted: `invalid_request` (§3.1.2.6 says nothing
/// more specific, and RFC 6749 §4.1.2.1 names it for a malformed parameter).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct PromptParameterError(pub String);

impl Prompt {
    /// Reads `prompt`. Absent or empty asks for nothing. An unknown value, or `none` with any
    /// other value, is refused (§3.1.2.1: "If this parameter contains none with any other
    /// value, an error is returned").
    pub fn parse(text: Option<&str>) -> Result<Self, PromptParameterError> {
        let mut prompt = Self::default();
        for value in text.unwrap_or("").split(' ').filter(|v| !v.is_empty()) {
            let slot = match value {
                "none" => &mut prompt.none,
                "login" => &mut prompt.login,
                "consent" => &mut prompt.consent,
                "select_account" => &mut prompt.select_account,
                other => {
                    return Err(PromptParameterError(format!(
                        "prompt value {other:?} is not supported"
                    )))
                }
            };
            *slot = true;
        }
        if prompt.none && (prompt.login || prompt.consent || prompt.select_account) {
            return Err(PromptParameterError(
                "prompt=none may not be combined with another value".into(),
            ));
        }
        Ok(prompt)
    }

    /// Whether nothing was asked.
    pub fn is_empty(&self) -> bool {
        *self == Self::default()
    }

    /// The values, space-separated, in the order of the specification.
    pub fn to_text(&self) -> String {
        [
            (self.none, "none"),
            (self.login, "login"),
            (self.consent, "consent"),
            (self.select_account, "select_account"),
        ]
        .into_iter()
        .filter_map(|(set, name)| set.then_some(name))
        .collect::<Vec<_>>()
        .join(" ")
    }
}

/// Reads `max_age`: the most seconds since the user last signed in (§3.1.2.1), a non-negative
/// integer. Absent or empty sets no limit.
pub fn parse_max_age(text: Option<&str>) -> Result<Option<u64>, PromptParameterError> {
    match text {
        None | Some("") => Ok(None),
        Some(digits) if digits.bytes().all(|b| b.is_ascii_digit()) => digits
            .parse::<u64>()
            .map(Some)
            .map_err(|_| PromptParameterError("max_age is too large".into())),
        Some(_) => Err(PromptParameterError(
            "max_age must be a non-negative integer".into(),
        )),
    }
}

/// What the endpoint found about the user behind the browser.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SessionFacts {
    /// When the user signed in for this session (OpenID Connect's `auth_time`).
    pub auth_time: OffsetDateTime,
    /// Whether the session names a user other than the one the client's `id_token_hint`
    /// names (§3.1.2.1: with `prompt=none`, answer `login_required`).
    pub hint_names_another_user: bool,
    /// How many accounts the user may authorize in.
    pub accounts: usize,
    /// Whether an account is chosen (named by the request, or the user's only one).
    pub account_chosen: bool,
    /// Whether a standing grant already covers the request, so gatekey would answer without
    /// asking (see `consent::remembered_consent`: confidential clients only).
    pub consent_remembered: bool,
}

/// What the authorization endpoint does next.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PromptDecision {
    /// Show the sign-in form; after signing in, the request continues without `login` in
    /// `prompt` and without `max_age`, which the fresh sign-in satisfies.
    SignIn,
    /// Ask which account the application acts in.
    ChooseAccount,
    /// Show the consent page.
    AskConsent,
    /// Answer the client at once under the standing grant.
    Proceed,
}

/// The errors of OpenID Connect Core §3.1.2.6, for `prompt=none`: the user would have to do
/// something, and the client asked that they be shown nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PromptError {
    /// The user must sign in.
    LoginRequired,
    /// The user must give consent.
    ConsentRequired,
    /// The user must choose an account.
    AccountSelectionRequired,
    /// The user must do something else first.
    InteractionRequired,
}

impl PromptError {
    /// The `error` value on the wire.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::LoginRequired => "login_required",
            Self::ConsentRequired => "consent_required",
            Self::AccountSelectionRequired => "account_selection_required",
            Self::InteractionRequired => "interaction_required",
        }
    }

    /// A description for the client's developer.
    pub const fn description(self) -> &'static str {
        match self {
            Self::LoginRequired => "prompt=none, and the user must sign in",
            Self::ConsentRequired => "prompt=none, and the user must consent",
            Self::AccountSelectionRequired => "prompt=none, and the user must choose an account",
            Self::InteractionRequired => "prompt=none, and the user must act first",
        }
    }
}

/// Whether a sign-in at `auth_time` is too old for `max_age` at `now` (§3.1.2.1: "If the
/// elapsed time is greater than this value, the OP MUST attempt to actively re-authenticate").
/// `max_age=0` is therefore always too old, like `prompt=login`; a clock that stepped back
/// reads as no time elapsed.
pub fn sign_in_too_old(auth_time: OffsetDateTime, max_age: u64, now: OffsetDateTime) -> bool {
    if max_age == 0 {
        return true;
    }
    let limit = Duration::seconds(i64::try_from(max_age).unwrap_or(i64::MAX));
    now - auth_time > limit
}

/// Decides the next step of an authorization request that passed its checks (client,
/// redirect URI, parameters), given `prompt`, `max_age`, the session if any, and `now`.
///
/// In order: sign-in (no session, `prompt=login`, `max_age` exceeded), then the account
/// choice (several accounts and none named, or `select_account`), then consent (no standing
/// grant covering the request, or `prompt=consent`). With `prompt=none` each step that would
/// show a page is the matching §3.1.2.6 error instead, sent to the client's redirect URI.
pub fn decide_prompt(
    prompt: Prompt,
    max_age: Option<u64>,
    session: Option<&SessionFacts>,
    now: OffsetDateTime,
) -> Result<PromptDecision, PromptError> {
    let ask = |decision, error| {
        if prompt.none {
            Err(error)
        } else {
            Ok(decision)
        }
    };
    let Some(session) = session else {
        return ask(PromptDecision::SignIn, PromptError::LoginRequired);
    };
    // §3.1.2.1 id_token_hint: "If the End-User identified by the ID Token is not logged in or
    // is logged in by the request, then the Authorization Server returns a login_required
    // error." Without prompt=none the hint is advice only.
    if prompt.none && session.hint_names_another_user {
        return Err(PromptError::LoginRequired);
    }
    let too_old = max_age.is_some_and(|max| sign_in_too_old(session.auth_time, max, now));
    if prompt.login || too_old {
        return ask(PromptDecision::SignIn, PromptError::LoginRequired);
    }
    if session.accounts == 0 {
        return ask(
            PromptDecision::ChooseAccount,
            PromptError::InteractionRequired,
        );
    }
    if prompt.select_account || !session.account_chosen {
        return ask(
            PromptDecision::ChooseAccount,
            PromptError::AccountSelectionRequired,
        );
    }
    if prompt.consent || !session.consent_remembered {
        return ask(PromptDecision::AskConsent, PromptError::ConsentRequired);
    }
    Ok(PromptDecision::Proceed)
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: OffsetDateTime = time::macros::datetime!(2026-01-01 12:00 UTC);

    fn prompt(text: &str) -> Prompt {
        Prompt::parse(Some(text)).expect("valid prompt")
    }

    fn session() -> SessionFacts {
        SessionFacts {
            auth_time: NOW - Duration::minutes(10),
            hint_names_another_user: false,
            accounts: 1,
            account_chosen: true,
            consent_remembered: true,
        }
    }

    #[test]
    fn prompt_values_parse_and_bad_ones_are_refused() {
        assert!(Prompt::parse(None).unwrap().is_empty());
        assert!(Prompt::parse(Some("")).unwrap().is_empty());
        let both = prompt("login  consent");
        assert!(both.login && both.consent && !both.none && !both.select_account);
        assert_eq!(both.to_text(), "login consent");
        assert_eq!(prompt("select_account").to_text(), "select_account");
        assert!(Prompt::parse(Some("sometimes")).is_err());
        assert!(
            Prompt::parse(Some("LOGIN")).is_err(),
            "values are case-sensitive"
        );
        assert!(Prompt::parse(Some("none login")).is_err());
        assert!(Prompt::parse(Some("consent none")).is_err());
        assert!(prompt("none none").none);
    }

    #[test]
    fn max_age_is_a_non_negative_integer() {
        assert_eq!(parse_max_age(None), Ok(None));
        assert_eq!(parse_max_age(Some("0")), Ok(Some(0)));
        assert_eq!(parse_max_age(Some("3600")), Ok(Some(3600)));
        for bad in ["-1", "1.5", "ten", " 5", "+5", "99999999999999999999999"] {
            assert!(parse_max_age(Some(bad)).is_err(), "{bad}");
        }
    }

    #[test]
    fn without_a_session_the_user_signs_in_or_the_client_hears_login_required() {
        let none = Prompt::parse(Some("none")).unwrap();
        assert_eq!(
            decide_prompt(Prompt::default(), None, None, NOW),
            Ok(PromptDecision::SignIn)
        );
        assert_eq!(
            decide_prompt(none, None, None, NOW),
            Err(PromptError::LoginRequired)
        );
    }

    #[test]
    fn a_session_with_a_remembered_grant_proceeds_even_with_prompt_none() {
        assert_eq!(
            decide_prompt(prompt("none"), None, Some(&session()), NOW),
            Ok(PromptDecision::Proceed)
        );
        assert_eq!(
            decide_prompt(Prompt::default(), None, Some(&session()), NOW),
            Ok(PromptDecision::Proceed)
        );
    }

    #[test]
    fn prompt_login_and_max_age_ask_for_a_fresh_sign_in() {
        let facts = session();
        assert_eq!(
            decide_prompt(prompt("login"), None, Some(&facts), NOW),
            Ok(PromptDecision::SignIn)
        );
        // Signed in ten minutes ago.
        assert_eq!(
            decide_prompt(Prompt::default(), Some(600), Some(&facts), NOW),
            Ok(PromptDecision::Proceed),
            "exactly max_age seconds is not greater than it"
        );
        assert_eq!(
            decide_prompt(Prompt::default(), Some(599), Some(&facts), NOW),
            Ok(PromptDecision::SignIn)
        );
        assert_eq!(
            decide_prompt(Prompt::default(), Some(0), Some(&facts), NOW),
            Ok(PromptDecision::SignIn),
            "max_age=0 is like prompt=login"
        );
        assert_eq!(
            decide_prompt(prompt("none"), Some(60), Some(&facts), NOW),
            Err(PromptError::LoginRequired)
        );
        assert_eq!(
            decide_prompt(prompt("none"), Some(u64::MAX), Some(&facts), NOW),
            Ok(PromptDecision::Proceed)
        );
    }

    #[test]
    fn an_id_token_hint_for_another_user_matters_only_with_prompt_none() {
        let other = SessionFacts {
            hint_names_another_user: true,
            ..session()
        };
        assert_eq!(
            decide_prompt(prompt("none"), None, Some(&other), NOW),
            Err(PromptError::LoginRequired)
        );
        assert_eq!(
            decide_prompt(Prompt::default(), None, Some(&other), NOW),
            Ok(PromptDecision::Proceed)
        );
    }

    #[test]
    fn accounts_are_chosen_when_unclear_or_asked_for() {
        let unchosen = SessionFacts {
            accounts: 2,
            account_chosen: false,
            consent_remembered: false,
            ..session()
        };
        assert_eq!(
            decide_prompt(Prompt::default(), None, Some(&unchosen), NOW),
            Ok(PromptDecision::ChooseAccount)
        );
        assert_eq!(
            decide_prompt(prompt("none"), None, Some(&unchosen), NOW),
            Err(PromptError::AccountSelectionRequired)
        );
        assert_eq!(
            decide_prompt(prompt("select_account"), None, Some(&session()), NOW),
            Ok(PromptDecision::ChooseAccount),
            "even with one account"
        );
        let memberless = SessionFacts {
            accounts: 0,
            account_chosen: false,
            ..session()
        };
        assert_eq!(
            decide_prompt(prompt("none"), None, Some(&memberless), NOW),
            Err(PromptError::InteractionRequired)
        );
    }

    #[test]
    fn consent_is_asked_without_a_remembered_grant_or_when_prompted() {
        let new = SessionFacts {
            consent_remembered: false,
            ..session()
        };
        assert_eq!(
            decide_prompt(Prompt::default(), None, Some(&new), NOW),
            Ok(PromptDecision::AskConsent)
        );
        assert_eq!(
            decide_prompt(prompt("none"), None, Some(&new), NOW),
            Err(PromptError::ConsentRequired)
        );
        assert_eq!(
            decide_prompt(prompt("consent"), None, Some(&session()), NOW),
            Ok(PromptDecision::AskConsent)
        );
        assert_eq!(PromptError::ConsentRequired.as_str(), "consent_required");
    }
}
