//! How many leak reports one server takes per wall-clock minute (`leak_reports.reports_per_minute`),
//! as GitLab's token revocation API specification asks of the service: a report past it is
//! answered 429 with `Retry-After`, and nothing of it is revoked. Only reports that proved
//! their sender (the GitLab token, GitHub's signature) are counted, so no stranger can spend
//! the scanners' budget.

use std::sync::{Arc, Mutex};

use axum::http::header::RETRY_AFTER;
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use time::OffsetDateTime;

use crate::error::ApiError;

/// The count of the current minute, shared by the scanners' endpoints of one server.
#[derive(Debug, Clone)]
pub struct ReportLimit {
    per_minute: u32,
    window: Arc<Mutex<Window>>,
}

#[derive(Debug, Default)]
struct Window {
    minute: i64,
    taken: u32,
}

/// A report refused for the limit: 429 with the seconds left in the minute.
pub struct ReportLimited {
    retry_after: i64,
}

impl IntoResponse for ReportLimited {
    fn into_response(self) -> Response {
        let mut response = ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            "rate_limited",
            "too many leak reports this minute; nothing was revoked, send it again later",
        )
        .into_response();
        if let Ok(value) = HeaderValue::from_str(&self.retry_after.to_string()) {
            response.headers_mut().insert(RETRY_AFTER, value);
        }
        response
    }
}

impl ReportLimit {
    /// `per_minute` reports a minute; 0 takes every report.
    pub fn new(per_minute: u32) -> Self {
        Self {
            per_minute,
            window: Arc::new(Mutex::new(Window::default())),
        }
    }

    /// Counts one report at `now`, or refuses it when the minute's reports are spent.
    pub fn take(&self, now: OffsetDateTime) -> Result<(), ReportLimited> {
        if self.per_minute == 0 {
            return Ok(());
        }
        let seconds = now.unix_timestamp();
        let minute = seconds.div_euclid(60);
        // A poisoned lock only means another report panicked mid-count; the count is still
        // a number, so keep counting with it.
        let mut window = self.window.lock().unwrap_or_else(|e| e.into_inner());
        if window.minute != minute {
            *window = Window { minute, taken: 0 };
        }
        if window.taken >= self.per_minute {
            return Err(ReportLimited {
                retry_after: 60 - seconds.rem_euclid(60),
            });
        }
        window.taken += 1;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use time::Duration;

    use super::*;

    #[test]
    fn a_minute_takes_its_count_then_the_next_minute_starts_afresh() {
        let limit = ReportLimit::new(2);
        let start = OffsetDateTime::UNIX_EPOCH + Duration::minutes(1000) + Duration::seconds(15);
        assert!(limit.take(start).is_ok());
        assert!(limit.take(start).is_ok());
        let refused = limit
            .take(start + Duration::seconds(5))
            .expect_err("refused");
        assert_eq!(refused.retry_after, 40);
        assert!(
            limit.take(start + Duration::seconds(45)).is_ok(),
            "next minute"
        );
        let unlimited = ReportLimit::new(0);
        assert!((0..100).all(|_| unlimited.take(start).is_ok()));
    }
}
