//! When to send a request again: after `429 Too Many Requests` or `503 Service Unavailable`,
//! honouring `Retry-After` (RFC 9110 §10.2.3), with exponential backoff otherwise.

use std::time::Duration;

use reqwest::header::{HeaderMap, RETRY_AFTER};
use reqwest::StatusCode;

/// Retries after the first attempt.
pub(crate) const MAX_RETRIES: u32 = 3;

/// The longest wait the client accepts from `Retry-After`; a server asking for more gets the
/// error passed on instead of a caller hanging.
const LONGEST_WAIT: Duration = Duration::from_secs(30);

/// Whether `status` says the request was not processed and may be sent again as is: the
/// server shed load (429) or could not reach its storage (503). Both are safe for any
/// method, including a refresh token request whose token must not be spent twice.
pub(crate) fn is_retryable(status: StatusCode) -> bool {
    status == StatusCode::TOO_MANY_REQUESTS || status == StatusCode::SERVICE_UNAVAILABLE
}

/// Whether a failure of an idempotent request (GET, PUT, DELETE) may be retried: the above,
/// and a gateway that lost the answer (502, 504) or a server error (500).
pub(crate) fn is_retryable_idempotent(status: StatusCode) -> bool {
    is_retryable(status)
        || status == StatusCode::INTERNAL_SERVER_ERROR
        || status == StatusCode::BAD_GATEWAY
        || status == StatusCode::GATEWAY_TIMEOUT
}

/// How long to wait before retry number `retry` (0-based): what `Retry-After` says in
/// seconds, or 250 ms doubled per retry with up to 25 % jitter. `None` when the server asks
/// for longer than the client is willing to wait.
pub(crate) fn delay(headers: &HeaderMap, retry: u32) -> Option<Duration> {
    let asked = headers
        .get(RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok())
        .map(Duration::from_secs);
    match asked {
        Some(wait) if wait > LONGEST_WAIT => None,
        Some(wait) => Some(wait),
        None => {
            let base = Duration::from_millis(250) * 2u32.saturating_pow(retry);
            let jitter = base.mul_f64(rand::random::<f64>() * 0.25);
            Some(base + jitter)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderValue;

    #[test]
    fn retry_after_in_seconds_is_honoured() {
        let mut headers = HeaderMap::new();
        headers.insert(RETRY_AFTER, HeaderValue::from_static("2"));
        assert_eq!(delay(&headers, 0), Some(Duration::from_secs(2)));
        headers.insert(RETRY_AFTER, HeaderValue::from_static("3600"));
        assert_eq!(delay(&headers, 0), None, "too long to wait");
    }

    #[test]
    fn without_retry_after_the_wait_doubles() {
        let headers = HeaderMap::new();
        let first = delay(&headers, 0).unwrap();
        let third = delay(&headers, 2).unwrap();
        assert!(first >= Duration::from_millis(250) && first <= Duration::from_millis(313));
        assert!(third >= Duration::from_millis(1000) && third <= Duration::from_millis(1250));
    }

    #[test]
    fn only_unprocessed_answers_are_retried_for_any_method() {
        assert!(is_retryable(StatusCode::TOO_MANY_REQUESTS));
        assert!(is_retryable(StatusCode::SERVICE_UNAVAILABLE));
        assert!(!is_retryable(StatusCode::BAD_GATEWAY));
        assert!(is_retryable_idempotent(StatusCode::BAD_GATEWAY));
        assert!(!is_retryable_idempotent(StatusCode::BAD_REQUEST));
    }
}
