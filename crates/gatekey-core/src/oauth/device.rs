//! The device authorization grant (RFC 8628): a device without a browser shows a short user
//! code; the user types it on `/device`, signs in and consents; the device polls the token
//! endpoint until then. Every rule of the grant is here: user codes, and what each poll gets
//! ([`check_device_poll`]). The consent itself is [`super::consent`]'s, shared with the
//! authorization endpoint.

use rand::Rng;
use time::{Duration, OffsetDateTime};

use super::application::Application;
use super::exchange::{check_grant_standing, ExchangeError, TokenErrorCode};
use super::grant::Grant;
use super::sign_in::SignIn;
use crate::scope::ScopeSet;
use crate::secret::TokenHash;
use crate::user::Member;

/// Characters of user codes: consonants only (no vowels, so no words; no look-alikes such as
/// 0/O or 1/I), as RFC 8628 §6.1 suggests.
const USER_CODE_ALPHABET: &[u8; 20] = b"BCDFGHJKLMNPQRSTVWXZ";
/// Characters in a user code, shown as two groups of four: 20^8 ≈ 2^34.6 possibilities.
const USER_CODE_LEN: usize = 8;
/// The polling interval a device starts with, in seconds (RFC 8628 §3.2 default).
pub const DEFAULT_INTERVAL_SECS: i64 = 5;
/// How much `slow_down` adds to the interval (RFC 8628 §3.5).
pub const SLOW_DOWN_SECS: i64 = 5;

/// Where a device authorization stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeviceStatus {
    /// Waiting for the user.
    Pending,
    /// The user allowed it; tokens not yet collected.
    Approved,
    /// The user refused.
    Denied,
    /// Tokens were issued; the device code is spent.
    Redeemed,
}

impl DeviceStatus {
    /// The status's name in storage.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Approved => "approved",
            Self::Denied => "denied",
            Self::Redeemed => "redeemed",
        }
    }

    /// Parses a stored status.
    pub fn parse(text: &str) -> Option<Self> {
        [Self::Pending, Self::Approved, Self::Denied, Self::Redeemed]
            .into_iter()
            .find(|s| s.as_str() == text)
    }
}

/// A device authorization to store.
#[derive(Debug, Clone)]
pub struct NewDeviceCode {
    /// SHA-256 of the device code.
    pub hash: TokenHash,
    /// The normalised user code (eight letters, no dash).
    pub user_code: String,
    /// The application.
    pub application_id: i64,
    /// The scopes asked for.
    pub scopes: ScopeSet,
    /// Issue time.
    pub created_at: OffsetDateTime,
    /// Expiry.
    pub expires_at: OffsetDateTime,
}

/// A stored device authorization.
#[derive(Debug, Clone)]
pub struct DeviceCodeRecord {
    /// Database id.
    pub id: i64,
    /// The normalised user code.
    pub user_code: String,
    /// The application.
    pub application: Application,
    /// The scopes asked for.
    pub scopes: ScopeSet,
    /// Where it stands.
    pub status: DeviceStatus,
    /// The grant's id, once approved.
    pub grant_id: Option<i64>,
    /// The grant as it stands now (revoked or not), once approved.
    pub grant: Option<Grant>,
    /// The current polling interval in seconds.
    pub interval_secs: i64,
    /// The previous poll.
    pub last_polled_at: Option<OffsetDateTime>,
    /// When the approving user signed in (OpenID Connect `auth_time`), once approved.
    pub auth_time: Option<OffsetDateTime>,
    /// The `sid` of the approving user's session, once approved.
    pub sid: Option<String>,
    /// Expiry.
    pub expires_at: OffsetDateTime,
}

impl DeviceCodeRecord {
    /// The sign-in of the user who approved it, once approved.
    pub fn sign_in(&self) -> Option<SignIn> {
        SignIn::from_parts(self.auth_time, self.sid.as_deref())
    }
}

/// The outcome of asking for a device code when an application may hold only so many pending
/// ones (RFC 8628 §5.2 leaves flooding to the server; an unbounded table would let any client,
/// public ones having no secret, fill the disk).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeviceCodeSlot {
    /// Stored, with this id.
    Created(i64),
    /// The application already holds the most pending device codes allowed; the oldest one
    /// expires at this time, which frees a slot.
    Full {
        /// When a slot frees up at the latest.
        free_at: OffsetDateTime,
    },
}

/// What a poll of the token endpoint with a device code may collect: tokens under `grant`
/// with `scopes` (RFC 8628 §3.5), once the device code is redeemed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceIssue {
    /// The grant the user made when approving.
    pub grant: Grant,
    /// The scopes the device asked for and the user approved.
    pub scopes: ScopeSet,
}

/// Why a poll gets no tokens (RFC 8628 §3.5).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DeviceRefusal {
    /// `authorization_pending`: the user has not decided yet.
    Pending,
    /// `slow_down`: polled sooner than the interval; the interval becomes `interval_secs` for
    /// this and every later poll (store it before answering).
    SlowDown {
        /// The new polling interval, in seconds.
        interval_secs: i64,
    },
    /// `access_denied`: the user refused on the verification page.
    Denied,
    /// `expired_token`: the device code expired; the device must start again.
    Expired,
    /// `invalid_grant`: an unknown code, another client's, one already collected, or an
    /// approval that no longer stands (the grant was revoked, its user disabled or no longer a
    /// member: RFC 6749 §5.2, as for an authorization code). `access_denied` would tell the
    /// device the user refused, which they did not.
    Invalid(ExchangeError),
}

impl From<DeviceRefusal> for ExchangeError {
    fn from(refusal: DeviceRefusal) -> Self {
        match refusal {
            DeviceRefusal::Pending => ExchangeError::new(
                TokenErrorCode::AuthorizationPending,
                "the user has not decided yet",
            ),
            DeviceRefusal::SlowDown { .. } => ExchangeError::new(
                TokenErrorCode::SlowDown,
                "polling too often; wait five more seconds between polls",
            ),
            DeviceRefusal::Denied => {
                ExchangeError::new(TokenErrorCode::AccessDenied, "the user denied the request")
            }
            DeviceRefusal::Expired => ExchangeError::new(
                TokenErrorCode::ExpiredToken,
                "the device code has expired; start again",
            ),
            DeviceRefusal::Invalid(error) => error,
        }
    }
}

/// The `invalid_grant` of a device code that is unknown, another client's or spent. One
/// description for all, so the answer does not tell which.
pub fn unknown_device_code() -> DeviceRefusal {
    DeviceRefusal::Invalid(ExchangeError::invalid_grant("the device code is not valid"))
}

/// One poll of the token endpoint by `client` with the device code of `device` (RFC 8628
/// §3.4, §3.5). The code must be the client's (a device code is bound to the client it was
/// issued to) and unexpired; a pending code polled sooner than its interval is `slow_down`;
/// an approved one issues tokens only while its grant stands and its user is still an enabled
/// member ([`check_grant_standing`], the same check as the authorization code grant's).
/// `holder` is the grant's user in the grant's account, if still a member. The caller redeems
/// the code so that exactly one poll collects the tokens.
pub fn check_device_poll(
    device: &DeviceCodeRecord,
    client: &Application,
    holder: Option<&Member>,
    now: OffsetDateTime,
) -> Result<DeviceIssue, DeviceRefusal> {
    if device.application.id != client.id {
        return Err(unknown_device_code());
    }
    if now >= device.expires_at {
        return Err(DeviceRefusal::Expired);
    }
    match device.status {
        DeviceStatus::Pending => {
            let too_soon = device
                .last_polled_at
                .is_some_and(|last| now - last < Duration::seconds(device.interval_secs));
            Err(if too_soon {
                DeviceRefusal::SlowDown {
                    interval_secs: device.interval_secs + SLOW_DOWN_SECS,
                }
            } else {
                DeviceRefusal::Pending
            })
        }
        DeviceStatus::Denied => Err(DeviceRefusal::Denied),
        DeviceStatus::Redeemed => Err(unknown_device_code()),
        DeviceStatus::Approved => {
            let Some(grant) = device
                .grant
                .as_ref()
                .filter(|g| g.application_id == client.id)
            else {
                return Err(unknown_device_code());
            };
            check_grant_standing(grant, holder).map_err(DeviceRefusal::Invalid)?;
            Ok(DeviceIssue {
                grant: grant.clone(),
                scopes: device.scopes.intersect(&grant.scopes),
            })
        }
    }
}

/// A new random user code, normalised (no dash).
pub fn new_user_code() -> String {
    let mut rng = rand::rngs::OsRng;
    (0..USER_CODE_LEN)
        .map(|_| char::from(USER_CODE_ALPHABET[rng.gen_range(0..USER_CODE_ALPHABET.len())]))
        .collect()
}

/// A user code as shown to people: `WDJB-MJHT`.
pub fn display_user_code(code: &str) -> String {
    if code.len() == USER_CODE_LEN {
        format!("{}-{}", &code[..4], &code[4..])
    } else {
        code.to_owned()
    }
}

/// What a person typed, normalised: case-insensitive, dashes and spaces ignored (RFC 8628
/// §6.1). `None` when it cannot be a user code.
pub fn normalize_user_code(typed: &str) -> Option<String> {
    let code: String = typed
        .chars()
        .filter(|c| !matches!(c, '-' | ' ' | '\t'))
        .map(|c| c.to_ascii_uppercase())
        .collect();
    let valid =
        code.len() == USER_CODE_LEN && code.bytes().all(|b| USER_CODE_ALPHABET.contains(&b));
    valid.then_some(code)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::oauth::application::{ClientType, GrantType};
    use crate::oauth::fixtures::{self, grant, member, t0};
    use crate::role::Role;
    use crate::user::UserKind;

    fn app(id: i64) -> Application {
        fixtures::app(id, ClientType::Public, vec![GrantType::DeviceCode])
    }

    fn holder() -> Member {
        member(5, UserKind::Person, Role::Member)
    }

    fn device(status: DeviceStatus) -> DeviceCodeRecord {
        let grant = (status == DeviceStatus::Approved).then(|| grant(1));
        DeviceCodeRecord {
            id: 9,
            user_code: "WDJBMJHT".into(),
            application: app(1),
            scopes: ScopeSet::parse("read").unwrap(),
            status,
            grant_id: grant.as_ref().map(|g| g.id),
            grant,
            interval_secs: DEFAULT_INTERVAL_SECS,
            last_polled_at: None,
            auth_time: None,
            sid: None,
            expires_at: t0() + Duration::minutes(10),
        }
    }

    fn code_of(refusal: Result<DeviceIssue, DeviceRefusal>) -> TokenErrorCode {
        ExchangeError::from(refusal.expect_err("refused")).code
    }

    #[test]
    fn a_poll_answers_by_where_the_code_stands() {
        let client = app(1);
        let member = holder();
        let poll =
            |device: &DeviceCodeRecord, at| check_device_poll(device, &client, Some(&member), at);
        let pending = device(DeviceStatus::Pending);
        assert_eq!(poll(&pending, t0()), Err(DeviceRefusal::Pending));
        let polled = DeviceCodeRecord {
            last_polled_at: Some(t0()),
            ..pending.clone()
        };
        assert_eq!(
            poll(&polled, t0() + Duration::seconds(4)),
            Err(DeviceRefusal::SlowDown { interval_secs: 10 })
        );
        assert_eq!(
            poll(&polled, t0() + Duration::seconds(5)),
            Err(DeviceRefusal::Pending)
        );
        assert_eq!(
            poll(&device(DeviceStatus::Denied), t0()),
            Err(DeviceRefusal::Denied)
        );
        assert_eq!(
            poll(&pending, t0() + Duration::minutes(10)),
            Err(DeviceRefusal::Expired)
        );
        assert_eq!(
            code_of(poll(&device(DeviceStatus::Redeemed), t0())),
            TokenErrorCode::InvalidGrant
        );
        let approved = device(DeviceStatus::Approved);
        let issue = poll(&approved, t0()).expect("issues");
        assert_eq!((issue.grant.id, issue.scopes), (3, approved.scopes.clone()));
        assert_eq!(
            code_of(check_device_poll(&approved, &app(2), Some(&member), t0())),
            TokenErrorCode::InvalidGrant,
            "bound to its client"
        );
    }

    #[test]
    fn an_approval_issues_only_while_the_grant_and_its_user_stand() {
        let client = app(1);
        let mut revoked = device(DeviceStatus::Approved);
        if let Some(grant) = revoked.grant.as_mut() {
            grant.revoked_at = Some(t0());
        }
        let mut disabled = holder();
        disabled.user.disabled_at = Some(t0());
        let mut elsewhere = holder();
        elsewhere.membership.account_id = 2;
        let approved = device(DeviceStatus::Approved);
        let refusals = [
            check_device_poll(&revoked, &client, Some(&holder()), t0()),
            check_device_poll(&approved, &client, Some(&disabled), t0()),
            check_device_poll(&approved, &client, Some(&elsewhere), t0()),
            check_device_poll(&approved, &client, None, t0()),
        ];
        for refusal in refusals {
            assert_eq!(code_of(refusal), TokenErrorCode::InvalidGrant);
        }
    }

    #[test]
    fn user_codes_are_typed_loosely() {
        let code = new_user_code();
        assert_eq!(normalize_user_code(&code), Some(code.clone()));
        assert_eq!(
            normalize_user_code(&display_user_code(&code).to_lowercase()),
            Some(code.clone())
        );
        assert_eq!(normalize_user_code("wdjb mjht"), Some("WDJBMJHT".into()));
        assert_eq!(normalize_user_code("WDJB-MJH"), None);
        assert_eq!(normalize_user_code("AEIO-UAEI"), None, "no vowels");
    }
}
