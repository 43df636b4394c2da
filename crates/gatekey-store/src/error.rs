//! Mapping database errors into the domain's [`StoreError`].

use gatekey_core::store::StoreError;

/// Any database failure becomes `Unavailable`, never success; a missing row becomes `NotFound`.
pub(crate) fn from_sqlx(error: sqlx::Error) -> StoreError {
    match error {
        sqlx::Error::RowNotFound => StoreError::NotFound,
        other => StoreError::Unavailable(other.to_string()),
    }
}

/// Like [`from_sqlx`], but a uniqueness violation becomes `Conflict(what)`.
pub(crate) fn conflict_as(what: &'static str) -> impl Fn(sqlx::Error) -> StoreError {
    move |error| match &error {
        sqlx::Error::Database(db) if db.is_unique_violation() => StoreError::Conflict(what),
        _ => from_sqlx(error),
    }
}
