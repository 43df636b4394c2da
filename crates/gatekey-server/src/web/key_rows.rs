//! What the home page's key table shows beyond a key's fields: the roll form, the secret a
//! roll replaced while it still works, where the key was last used, and an expiry close
//! enough to remind its holder.

use gatekey_core::api_key::ApiKey;
use gatekey_core::api_key_expiry::{expires_within, EXPIRY_REMINDER};
use gatekey_core::secret::Secret;
use maud::{html, Markup};
use time::{Duration, OffsetDateTime};

use super::layout::display_time;

/// The graces the roll form offers, in seconds, with their labels.
pub const GRACES: [(i64, &str); 4] = [
    (0, "stops at once"),
    (3_600, "works 1 more hour"),
    (86_400, "works 1 more day"),
    (604_800, "works 7 more days"),
];

/// The form that rolls `key`, for a key that works at `now`.
pub fn roll_form(key: &ApiKey, now: OffsetDateTime, csrf: &str) -> Markup {
    if !key.is_usable_at(now) {
        return html! {};
    }
    let select = format!("grace-{}", key.id);
    html! {
        form.roll method="post" action={ "/keys/" (key.id) "/roll" } {
            input type="hidden" name="csrf_token" value=(csrf);
            label for=(select) { "Old secret" }
            select id=(select) name="grace_seconds" {
                @for (seconds, label) in GRACES {
                    option value=(seconds) selected[seconds == 3_600] { (label) }
                }
            }
            button.secondary type="submit" { "Roll" }
        }
    }
}

/// The notice with a rolled key's new secret, shown this once.
pub fn rolled_notice(key: &ApiKey, secret: &Secret, now: OffsetDateTime) -> Markup {
    html! {
        section {
            h2 { "New secret for “" (key.name) "”" }
            p.notice { "Copy it now: it will not be shown again." }
            div.secret { code #new-secret { (secret.expose()) } button.secondary type="button" data-copy="new-secret" { "Copy" } }
            @match key.previous_secret_until(now) {
                Some(until) => { p.muted { "The old secret " code { (key.previous_display_prefix.as_deref().unwrap_or("")) "…" } " keeps working until " (display_time(until)) "." } }
                None => { p.muted { "The old secret has stopped working." } }
            }
        }
    }
}

/// Under a key's prefix: the secret its last roll replaced, while that still works.
pub fn previous_secret_note(key: &ApiKey, now: OffsetDateTime) -> Markup {
    html! {
        @if let (Some(until), Some(prefix)) = (key.previous_secret_until(now), &key.previous_display_prefix) {
            br;
            small.muted.previous-secret { "old secret " code { (prefix) "…" } " works until " (display_time(until)) }
        }
    }
}

/// When and from where a key was last used.
pub fn last_use(key: &ApiKey) -> Markup {
    html! {
        @match key.last_used_at {
            None => { "never" }
            Some(at) => {
                (display_time(at))
                @if let Some(ip) = &key.last_used_ip { br; small.muted { "from " (ip) } }
            }
        }
    }
}

/// A key's expiry, flagged when it is less than [`EXPIRY_REMINDER`] away.
pub fn expiry(key: &ApiKey, now: OffsetDateTime) -> Markup {
    html! {
        @match key.expires_at {
            None => { "never" }
            Some(at) => {
                (display_time(at))
                @if let Some(left) = expires_within(key, now, EXPIRY_REMINDER) {
                    br; strong.expiring { "expires in " (time_left(left)) }
                }
            }
        }
    }
}

/// `3 days`, `5 hours`, `12 minutes`, `less than a minute`: the largest whole unit left.
fn time_left(left: Duration) -> String {
    let plural = |n: i64, unit: &str| format!("{n} {unit}{}", if n == 1 { "" } else { "s" });
    match (left.whole_days(), left.whole_hours(), left.whole_minutes()) {
        (days, _, _) if days > 0 => plural(days, "day"),
        (_, hours, _) if hours > 0 => plural(hours, "hour"),
        (_, _, minutes) if minutes > 0 => plural(minutes, "minute"),
        _ => "less than a minute".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn time_left_names_the_largest_whole_unit() {
        assert_eq!(time_left(Duration::days(3) + Duration::hours(23)), "3 days");
        assert_eq!(time_left(Duration::days(1)), "1 day");
        assert_eq!(time_left(Duration::hours(5)), "5 hours");
        assert_eq!(time_left(Duration::minutes(1)), "1 minute");
        assert_eq!(time_left(Duration::seconds(59)), "less than a minute");
    }
}
