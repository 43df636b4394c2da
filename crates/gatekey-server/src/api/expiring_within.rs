//! The `?expiring_within=` query of the key lists: only keys that work now and expire within
//! the window, to remind their holders before they stop.

use axum::extract::{FromRequestParts, Query};
use axum::http::request::Parts;
use gatekey_core::api_key_expiry::parse_expiry_window;
use serde::Deserialize;
use time::{Duration, OffsetDateTime};
use utoipa::IntoParams;

use crate::error::ApiError;

/// The query as sent; also what the OpenAPI document lists.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(super) struct ExpiringQuery {
    /// Only keys that are neither revoked nor expired and expire within this window: a whole
    /// number of days, hours, minutes or seconds (`7d`, `12h`, `30m`, `90s`), at most `3650d`.
    #[param(pattern = "^[0-9]{1,12}[dhms]$", example = "7d")]
    expiring_within: Option<String>,
}

/// A checked `expiring_within`, if given.
#[derive(Debug, Clone, Copy)]
pub struct ExpiringWithin(pub Option<Duration>);

impl ExpiringWithin {
    /// The filter's bounds from `now`: keys working at `now` that expire by `now + window`.
    pub fn between(self, now: OffsetDateTime) -> Option<(OffsetDateTime, OffsetDateTime)> {
        self.0.map(|window| (now, now + window))
    }
}

impl<S: Send + Sync> FromRequestParts<S> for ExpiringWithin {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let error = |e: &dyn std::fmt::Display| ApiError::bad_request(e.to_string());
        let Query(raw) = Query::<ExpiringQuery>::from_request_parts(parts, state)
            .await
            .map_err(|e| error(&e))?;
        raw.expiring_within
            .map(|text| parse_expiry_window(&text).map_err(|e| error(&e)))
            .transpose()
            .map(Self)
    }
}
