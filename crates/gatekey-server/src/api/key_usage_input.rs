//! Reading an API key's meta, limits and credits from a request body, by the rules of
//! [`gatekey_core::api_key_usage`]: a value out of range is `400 invalid_request` naming the
//! field and the range.

use gatekey_core::api_key_usage::{
    credits, rate_limit, refill, KeyChanges, KeyMeta, KeyUsageError, KeyUsageSettings,
};
use gatekey_proto::api::CreateApiKeyRequest;
use gatekey_proto::api::CreditRefill;
use gatekey_proto::key_usage::UpdateApiKeyRequest;

use crate::error::ApiError;

fn refused(error: KeyUsageError) -> ApiError {
    ApiError::bad_request(error.to_string())
}

fn meta(value: &serde_json::Value) -> Result<KeyMeta, ApiError> {
    KeyMeta::from_value(value).map_err(refused)
}

fn limit(field: &'static str, value: i64) -> Result<u32, ApiError> {
    rate_limit(field, value).map_err(refused)
}

fn balance(value: i64) -> Result<i64, ApiError> {
    credits(value).map_err(refused)
}

fn read_refill(
    given: &CreditRefill,
) -> Result<gatekey_core::api_key_usage::CreditRefill, ApiError> {
    refill(given.amount, &given.interval).map_err(refused)
}

/// The meta, limits and credits a new key asks for.
pub(super) fn usage_settings(body: &CreateApiKeyRequest) -> Result<KeyUsageSettings, ApiError> {
    Ok(KeyUsageSettings {
        meta: body.meta.as_ref().map(meta).transpose()?,
        limits: gatekey_core::api_key_usage::KeyLimits {
            per_second: body
                .rate_per_second
                .map(|v| limit("rate_per_second", v))
                .transpose()?,
            per_minute: body
                .rate_per_minute
                .map(|v| limit("rate_per_minute", v))
                .transpose()?,
            per_hour: body
                .rate_per_hour
                .map(|v| limit("rate_per_hour", v))
                .transpose()?,
        },
        credits: body.credits_remaining.map(balance).transpose()?,
        refill: body.credits_refill.as_ref().map(read_refill).transpose()?,
    })
}

/// `Some(None)` stays, `Some(Some(v))` is read by `read`.
fn changed<T, U>(
    given: Option<Option<T>>,
    read: impl FnOnce(T) -> Result<U, ApiError>,
) -> Result<Option<Option<U>>, ApiError> {
    match given {
        None => Ok(None),
        Some(None) => Ok(Some(None)),
        Some(Some(value)) => read(value).map(|v| Some(Some(v))),
    }
}

/// The change a `PATCH` asks for.
pub(super) fn key_changes(body: UpdateApiKeyRequest) -> Result<KeyChanges, ApiError> {
    Ok(KeyChanges {
        name: body.name,
        meta: changed(body.meta, |v| meta(&v))?,
        per_second: changed(body.rate_per_second, |v| limit("rate_per_second", v))?,
        per_minute: changed(body.rate_per_minute, |v| limit("rate_per_minute", v))?,
        per_hour: changed(body.rate_per_hour, |v| limit("rate_per_hour", v))?,
        credits: changed(body.credits_remaining, balance)?,
        refill: changed(body.credits_refill, |v| read_refill(&v))?,
    })
}
