//! Device authorizations (RFC 8628).

use gatekey_core::audit::AuditEntry;
use gatekey_core::clock::{from_millis, to_millis};
use gatekey_core::oauth::device::{
    DeviceCodeRecord, DeviceCodeSlot, DeviceStatus, NewDeviceCode, DEFAULT_INTERVAL_SECS,
};
use gatekey_core::oauth::grant::{Grant, NewGrant};
use gatekey_core::oauth::sign_in::SignIn;
use gatekey_core::oauth::store::DeviceStore;
use gatekey_core::scope::ScopeSet;
use gatekey_core::secret::TokenHash;
use gatekey_core::store::{StoreError, StoreResult};
use sqlx::any::{AnyArguments, AnyRow};
use sqlx::query::QueryScalar;
use sqlx::{Any, AnyConnection};
use time::OffsetDateTime;

use crate::application_rows::{application, APPLICATION_COLUMNS};
use crate::audits::insert_audit;
use crate::error::{conflict_as, from_sqlx};
use crate::grants::{grant, insert_grant, GRANT_COLUMNS};
use crate::rows::{column, optional_time_column, time_column};
use crate::SqlStore;

const DEVICE_QUERY: &str = "SELECT d.id AS d_id, d.user_code AS d_user_code, d.scopes AS d_scopes, d.status AS d_status, \
     d.grant_id AS d_grant_id, d.interval_secs AS d_interval_secs, d.last_polled_at AS d_last_polled_at, \
     d.expires_at AS d_expires_at, d.auth_time AS d_auth_time, d.sid AS d_sid";

/// The insert of a new pending device code, binding `$1` to `$7`; `sql` adds the rest.
fn insert_device<'q>(
    sql: &'q str,
    new: &'q NewDeviceCode,
) -> QueryScalar<'q, Any, i64, AnyArguments<'q>> {
    sqlx::query_scalar(sql)
        .bind(new.hash.as_bytes().to_vec())
        .bind(&new.user_code)
        .bind(new.application_id)
        .bind(new.scopes.to_string())
        .bind(DEFAULT_INTERVAL_SECS)
        .bind(to_millis(new.created_at))
        .bind(to_millis(new.expires_at))
}

/// The columns of a new device code, for both inserts.
const INSERT_DEVICE: &str =
    "INSERT INTO device_codes (device_code_hash, user_code, application_id, scopes, status, \
     interval_secs, created_at, expires_at)";

/// Decides a pending device code that has not expired at `now`; `false` when it was decided
/// already or has expired.
async fn decide(
    conn: &mut AnyConnection,
    id: i64,
    status: DeviceStatus,
    grant_id: Option<i64>,
    now: Option<OffsetDateTime>,
) -> StoreResult<bool> {
    let changed = sqlx::query(
        "UPDATE device_codes SET status = $1, grant_id = $2 WHERE id = $3 AND status = 'pending' \
         AND ($4 IS NULL OR expires_at > $4)",
    )
    .bind(status.as_str())
    .bind(grant_id)
    .bind(id)
    .bind(now.map(to_millis))
    .execute(conn)
    .await
    .map_err(from_sqlx)?;
    Ok(changed.rows_affected() == 1)
}

fn device(row: &AnyRow) -> StoreResult<DeviceCodeRecord> {
    let scopes: String = column(row, "d_scopes")?;
    let status: String = column(row, "d_status")?;
    let grant_id: Option<i64> = column(row, "d_grant_id")?;
    Ok(DeviceCodeRecord {
        id: column(row, "d_id")?,
        user_code: column(row, "d_user_code")?,
        application: application(row)?,
        scopes: ScopeSet::parse(&scopes)
            .map_err(|_| StoreError::Unavailable("bad device scopes".into()))?,
        status: DeviceStatus::parse(&status)
            .ok_or_else(|| StoreError::Unavailable("bad device status".into()))?,
        grant_id,
        grant: grant_id.map(|_| grant(row)).transpose()?,
        interval_secs: column(row, "d_interval_secs")?,
        last_polled_at: optional_time_column(row, "d_last_polled_at")?,
        auth_time: optional_time_column(row, "d_auth_time")?,
        sid: column(row, "d_sid")?,
        expires_at: time_column(row, "d_expires_at")?,
    })
}

impl SqlStore {
    async fn device_where(
        &self,
        condition: &str,
        bind: Vec<u8>,
        text: Option<&str>,
    ) -> StoreResult<Option<DeviceCodeRecord>> {
        let sql = format!(
            "{DEVICE_QUERY}, {APPLICATION_COLUMNS}, {GRANT_COLUMNS} FROM device_codes d JOIN applications p ON p.id = d.application_id \
             LEFT JOIN grants g ON g.id = d.grant_id WHERE {condition} AND p.deleted_at IS NULL"
        );
        let query = sqlx::query(&sql);
        let query = match text {
            Some(text) => query.bind(text.to_owned()),
            None => query.bind(bind),
        };
        let row = query.fetch_optional(&self.read).await.map_err(from_sqlx)?;
        row.as_ref().map(device).transpose()
    }
}

impl DeviceStore for SqlStore {
    async fn create_device_code(&self, new: NewDeviceCode) -> StoreResult<i64> {
        let sql =
            format!("{INSERT_DEVICE} VALUES ($1, $2, $3, $4, 'pending', $5, $6, $7) RETURNING id");
        insert_device(&sql, &new)
            .fetch_one(&self.write)
            .await
            .map_err(conflict_as("user code"))
    }

    async fn create_device_code_within(
        &self,
        new: NewDeviceCode,
        max_pending: u32,
    ) -> StoreResult<DeviceCodeSlot> {
        // One statement, so concurrent requests on SQLite's single writer cannot overshoot; on
        // PostgreSQL concurrent inserts may each see the count just below the cap, so the cap
        // can be passed by the number of requests in flight at that instant, no more.
        let sql = format!(
            "{INSERT_DEVICE} SELECT $1, $2, $3, $4, 'pending', $5, $6, $7 \
             WHERE (SELECT COUNT(*) FROM device_codes WHERE application_id = $3 AND status = 'pending' \
             AND expires_at > $6) < $8 RETURNING id"
        );
        let created: Option<i64> = insert_device(&sql, &new)
            .bind(i64::from(max_pending))
            .fetch_optional(&self.write)
            .await
            .map_err(conflict_as("user code"))?;
        if let Some(id) = created {
            return Ok(DeviceCodeSlot::Created(id));
        }
        let oldest: Option<i64> = sqlx::query_scalar(
            "SELECT MIN(expires_at) FROM device_codes WHERE application_id = $1 \
             AND status = 'pending' AND expires_at > $2",
        )
        .bind(new.application_id)
        .bind(to_millis(new.created_at))
        .fetch_one(&self.read)
        .await
        .map_err(from_sqlx)?;
        Ok(DeviceCodeSlot::Full {
            free_at: oldest.map_or(new.created_at, from_millis),
        })
    }

    async fn device_code_by_user_code(
        &self,
        user_code: &str,
    ) -> StoreResult<Option<DeviceCodeRecord>> {
        self.device_where("d.user_code = $1", Vec::new(), Some(user_code))
            .await
    }

    async fn decide_device_code(&self, id: i64, grant_id: Option<i64>) -> StoreResult<bool> {
        let status = if grant_id.is_some() {
            DeviceStatus::Approved
        } else {
            DeviceStatus::Denied
        };
        let mut conn = self.write.acquire().await.map_err(from_sqlx)?;
        decide(&mut conn, id, status, grant_id, None).await
    }

    async fn approve_device_code(
        &self,
        id: i64,
        new: NewGrant,
        sign_in: &SignIn,
        audit: AuditEntry,
    ) -> StoreResult<Option<Grant>> {
        let mut tx = self.write.begin().await.map_err(from_sqlx)?;
        let now = Some(new.created_at);
        let grant = insert_grant(&mut tx, new, audit).await?;
        if !decide(&mut tx, id, DeviceStatus::Approved, Some(grant.id), now).await? {
            // Dropping the transaction rolls the grant and its audit entry back.
            return Ok(None);
        }
        sqlx::query("UPDATE device_codes SET auth_time = $1, sid = $2 WHERE id = $3")
            .bind(to_millis(sign_in.auth_time))
            .bind(sign_in.sid.as_str())
            .bind(id)
            .execute(&mut *tx)
            .await
            .map_err(from_sqlx)?;
        tx.commit().await.map_err(from_sqlx)?;
        Ok(Some(grant))
    }

    async fn deny_device_code(
        &self,
        id: i64,
        now: OffsetDateTime,
        audit: AuditEntry,
    ) -> StoreResult<bool> {
        let mut tx = self.write.begin().await.map_err(from_sqlx)?;
        if !decide(&mut tx, id, DeviceStatus::Denied, None, Some(now)).await? {
            return Ok(false);
        }
        insert_audit(&mut tx, audit, None).await?;
        tx.commit().await.map_err(from_sqlx)?;
        Ok(true)
    }

    async fn poll_device_code(
        &self,
        hash: &TokenHash,
        now: OffsetDateTime,
    ) -> StoreResult<Option<DeviceCodeRecord>> {
        let found = self
            .device_where("d.device_code_hash = $1", hash.as_bytes().to_vec(), None)
            .await?;
        if let Some(record) = &found {
            sqlx::query("UPDATE device_codes SET last_polled_at = $1 WHERE id = $2")
                .bind(to_millis(now))
                .bind(record.id)
                .execute(&self.write)
                .await
                .map_err(from_sqlx)?;
        }
        Ok(found)
    }

    async fn slow_down_device_code(&self, id: i64, interval_secs: i64) -> StoreResult<()> {
        sqlx::query("UPDATE device_codes SET interval_secs = $1 WHERE id = $2")
            .bind(interval_secs)
            .bind(id)
            .execute(&self.write)
            .await
            .map(|_| ())
            .map_err(from_sqlx)
    }

    async fn redeem_device_code(&self, id: i64) -> StoreResult<bool> {
        let changed = sqlx::query(
            "UPDATE device_codes SET status = 'redeemed' WHERE id = $1 AND status = 'approved'",
        )
        .bind(id)
        .execute(&self.write)
        .await
        .map_err(from_sqlx)?;
        Ok(changed.rows_affected() == 1)
    }
}
