//! Decoding rows into domain types, and the column lists that go with them.

use gatekey_core::account::Account;
use gatekey_core::api_key::ApiKey;
use gatekey_core::api_key_usage::{CreditRefill, KeyCredits, KeyLimits, KeyMeta, RefillInterval};
use gatekey_core::clock::from_millis;
use gatekey_core::role::Role;
use gatekey_core::scope::ScopeSet;
use gatekey_core::store::StoreError;
use gatekey_core::user::{Member, Membership, User, UserKind};
use sqlx::any::AnyRow;
use sqlx::Row;
use time::OffsetDateTime;

pub(crate) type RowResult<T> = Result<T, StoreError>;

pub(crate) fn column<'r, T>(row: &'r AnyRow, name: &str) -> RowResult<T>
where
    T: sqlx::Decode<'r, sqlx::Any> + sqlx::Type<sqlx::Any>,
{
    row.try_get(name)
        .map_err(|e| StoreError::Unavailable(format!("column {name}: {e}")))
}

pub(crate) fn time_column(row: &AnyRow, name: &str) -> RowResult<OffsetDateTime> {
    column::<i64>(row, name).map(from_millis)
}

pub(crate) fn optional_time_column(row: &AnyRow, name: &str) -> RowResult<Option<OffsetDateTime>> {
    column::<Option<i64>>(row, name).map(|v| v.map(from_millis))
}

fn corrupt(what: &str, value: &str) -> StoreError {
    StoreError::Unavailable(format!("unexpected {what} {value:?} in the database"))
}

/// `accounts` columns, prefixed `a_`.
pub(crate) const ACCOUNT_COLUMNS: &str =
    "a.id AS a_id, a.slug AS a_slug, a.name AS a_name, a.created_at AS a_created_at";

/// The same, unqualified, for a `RETURNING` clause.
pub(crate) fn returning(columns: &str) -> String {
    columns
        .split(", ")
        .map(|c| c.split_once('.').map_or(c, |(_, rest)| rest).trim())
        .collect::<Vec<_>>()
        .join(", ")
}

pub(crate) fn account(row: &AnyRow) -> RowResult<Account> {
    Ok(Account {
        id: column(row, "a_id")?,
        slug: column(row, "a_slug")?,
        name: column(row, "a_name")?,
        created_at: time_column(row, "a_created_at")?,
    })
}

/// `users` columns, prefixed `u_`.
pub(crate) const USER_COLUMNS: &str = "u.id AS u_id, u.email AS u_email, u.name AS u_name, u.kind AS u_kind, \
     u.password_hash AS u_password_hash, u.disabled_at AS u_disabled_at, u.created_at AS u_created_at, \
     u.must_change_password AS u_must_change_password";

pub(crate) fn user(row: &AnyRow) -> RowResult<User> {
    let kind: String = column(row, "u_kind")?;
    Ok(User {
        id: column(row, "u_id")?,
        email: column(row, "u_email")?,
        name: column(row, "u_name")?,
        kind: kind
            .parse::<UserKind>()
            .map_err(|_| corrupt("user kind", &kind))?,
        password_hash: column(row, "u_password_hash")?,
        disabled_at: optional_time_column(row, "u_disabled_at")?,
        created_at: time_column(row, "u_created_at")?,
        must_change_password: column::<i64>(row, "u_must_change_password")? != 0,
    })
}

/// `memberships` columns, prefixed `m_`.
pub(crate) const MEMBERSHIP_COLUMNS: &str =
    "m.id AS m_id, m.user_id AS m_user_id, m.account_id AS m_account_id, \
     m.role AS m_role, m.created_at AS m_created_at";

pub(crate) fn role(text: &str) -> RowResult<Role> {
    text.parse().map_err(|_| corrupt("role", text))
}

pub(crate) fn membership(row: &AnyRow) -> RowResult<Membership> {
    let role_text: String = column(row, "m_role")?;
    Ok(Membership {
        id: column(row, "m_id")?,
        user_id: column(row, "m_user_id")?,
        account_id: column(row, "m_account_id")?,
        role: role(&role_text)?,
        created_at: time_column(row, "m_created_at")?,
    })
}

/// A user and membership read from one row holding [`USER_COLUMNS`] and [`MEMBERSHIP_COLUMNS`].
pub(crate) fn member(row: &AnyRow) -> RowResult<Member> {
    Ok(Member {
        user: user(row)?,
        membership: membership(row)?,
    })
}

/// `api_keys` columns (joined with `memberships m`), prefixed `k_`.
pub(crate) const API_KEY_COLUMNS: &str = "k.id AS k_id, k.membership_id AS k_membership_id, m.user_id AS k_user_id, \
     m.account_id AS k_account_id, k.name AS k_name, k.display_prefix AS k_display_prefix, k.scopes AS k_scopes, \
     k.created_at AS k_created_at, k.last_used_at AS k_last_used_at, k.expires_at AS k_expires_at, \
     k.revoked_at AS k_revoked_at, k.parent_key_id AS k_parent_key_id, \
     k.previous_secret_expires_at AS k_previous_secret_expires_at, \
     k.previous_display_prefix AS k_previous_display_prefix, k.last_used_ip AS k_last_used_ip, \
     k.meta AS k_meta, k.rate_per_second AS k_rate_per_second, k.rate_per_minute AS k_rate_per_minute, \
     k.rate_per_hour AS k_rate_per_hour, k.credits_remaining AS k_credits_remaining, \
     k.credits_refill_amount AS k_credits_refill_amount, k.credits_refill_interval AS k_credits_refill_interval, \
     k.credits_refilled_at AS k_credits_refilled_at, k.credits_generation AS k_credits_generation";

pub(crate) fn api_key(row: &AnyRow) -> RowResult<ApiKey> {
    let scopes: String = column(row, "k_scopes")?;
    Ok(ApiKey {
        id: column(row, "k_id")?,
        membership_id: column(row, "k_membership_id")?,
        user_id: column(row, "k_user_id")?,
        account_id: column(row, "k_account_id")?,
        name: column(row, "k_name")?,
        display_prefix: column(row, "k_display_prefix")?,
        previous_secret_expires_at: optional_time_column(row, "k_previous_secret_expires_at")?,
        previous_display_prefix: column(row, "k_previous_display_prefix")?,
        scopes: ScopeSet::parse(&scopes).map_err(|_| corrupt("scopes", &scopes))?,
        created_at: time_column(row, "k_created_at")?,
        last_used_at: optional_time_column(row, "k_last_used_at")?,
        last_used_ip: column(row, "k_last_used_ip")?,
        expires_at: optional_time_column(row, "k_expires_at")?,
        revoked_at: optional_time_column(row, "k_revoked_at")?,
        parent_key_id: column(row, "k_parent_key_id")?,
        meta: key_meta(row)?,
        limits: key_limits(row)?,
        credits: key_credits(row)?,
    })
}

fn key_meta(row: &AnyRow) -> RowResult<Option<KeyMeta>> {
    let text: Option<String> = column(row, "k_meta")?;
    text.map(|text| KeyMeta::from_stored(&text).map_err(|_| corrupt("key meta", &text)))
        .transpose()
}

fn key_limit(row: &AnyRow, name: &str) -> RowResult<Option<u32>> {
    let value: Option<i64> = column(row, name)?;
    value
        .map(|v| u32::try_from(v).map_err(|_| corrupt("rate limit", &v.to_string())))
        .transpose()
}

fn key_limits(row: &AnyRow) -> RowResult<KeyLimits> {
    Ok(KeyLimits {
        per_second: key_limit(row, "k_rate_per_second")?,
        per_minute: key_limit(row, "k_rate_per_minute")?,
        per_hour: key_limit(row, "k_rate_per_hour")?,
    })
}

fn key_credits(row: &AnyRow) -> RowResult<Option<KeyCredits>> {
    let Some(remaining) = column::<Option<i64>>(row, "k_credits_remaining")? else {
        return Ok(None);
    };
    Ok(Some(KeyCredits {
        remaining,
        refill: refill_columns(
            column(row, "k_credits_refill_amount")?,
            column(row, "k_credits_refill_interval")?,
        )?,
        refilled_at: optional_time_column(row, "k_credits_refilled_at")?,
        generation: column(row, "k_credits_generation")?,
    }))
}

/// A refill from its two columns: both set, or neither.
pub(crate) fn refill_columns(
    amount: Option<i64>,
    interval: Option<String>,
) -> RowResult<Option<CreditRefill>> {
    match (amount, interval) {
        (Some(amount), Some(interval)) => Ok(Some(CreditRefill {
            amount,
            interval: RefillInterval::parse(&interval)
                .map_err(|_| corrupt("refill interval", &interval))?,
        })),
        _ => Ok(None),
    }
}

/// Reads a `total` count column.
pub(crate) fn total(row: &AnyRow) -> RowResult<u64> {
    column::<i64>(row, "total").map(|n| u64::try_from(n).unwrap_or(0))
}
