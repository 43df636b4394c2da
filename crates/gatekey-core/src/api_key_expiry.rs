//! Keys close to their expiry: the window `?expiring_within=` lists, and the reminder the web
//! page shows.

use time::{Duration, OffsetDateTime};

use crate::api_key::ApiKey;

/// How close to its expiry a key is flagged on the web page: 7 days.
pub const EXPIRY_REMINDER: Duration = Duration::days(7);

/// The widest window `expiring_within` accepts: 3650 days, the longest lifetime a key can have.
pub const MAX_EXPIRY_WINDOW: Duration = Duration::days(3650);

/// An `expiring_within` value that is not a whole number followed by `d`, `h`, `m` or `s`, or
/// is wider than [`MAX_EXPIRY_WINDOW`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("expiring_within must be a whole number of days, hours, minutes or seconds, such as 7d, 12h, 30m or 90s, at most 3650d")]
pub struct ExpiryWindowError;

/// Reads a window such as `7d`, `12h`, `30m` or `90s`: digits, then one unit letter.
pub fn parse_expiry_window(text: &str) -> Result<Duration, ExpiryWindowError> {
    let unit = text.chars().last().ok_or(ExpiryWindowError)?;
    let digits = &text[..text.len() - unit.len_utf8()];
    if digits.is_empty() || digits.len() > 12 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(ExpiryWindowError);
    }
    let count: i64 = digits.parse().map_err(|_| ExpiryWindowError)?;
    let seconds_per_unit = match unit {
        'd' => 86_400,
        'h' => 3_600,
        'm' => 60,
        's' => 1,
        _ => return Err(ExpiryWindowError),
    };
    let window = count
        .checked_mul(seconds_per_unit)
        .map(Duration::seconds)
        .ok_or(ExpiryWindowError)?;
    if window > MAX_EXPIRY_WINDOW {
        return Err(ExpiryWindowError);
    }
    Ok(window)
}

/// How long `key` has left at `now`, if it works and expires within `window`.
pub fn expires_within(key: &ApiKey, now: OffsetDateTime, window: Duration) -> Option<Duration> {
    let left = key.expires_at? - now;
    (key.is_usable_at(now) && left <= window).then_some(left)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_are_a_count_and_a_unit() {
        assert_eq!(parse_expiry_window("7d"), Ok(Duration::days(7)));
        assert_eq!(parse_expiry_window("12h"), Ok(Duration::hours(12)));
        assert_eq!(parse_expiry_window("30m"), Ok(Duration::minutes(30)));
        assert_eq!(parse_expiry_window("90s"), Ok(Duration::seconds(90)));
        assert_eq!(parse_expiry_window("3650d"), Ok(MAX_EXPIRY_WINDOW));
        assert_eq!(parse_expiry_window("0s"), Ok(Duration::ZERO));
        for bad in [
            "",
            "d",
            "7",
            "7w",
            "-1d",
            "+1d",
            "1.5d",
            "7 d",
            " 7d",
            "7D",
            "3651d",
            "99999999999999d",
            "7dd",
            "٣d",
            "7é",
        ] {
            assert_eq!(parse_expiry_window(bad), Err(ExpiryWindowError), "{bad:?}");
        }
    }
}
