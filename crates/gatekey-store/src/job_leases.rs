//! Leases on periodic jobs ([`JobLeaseStore`]): one statement takes a free or expired lease, or
//! renews the holder's own, and its row count says whether the caller holds the lease now. The
//! database serialises concurrent claims on the row, so two replicas never both win.

use gatekey_core::clock::to_millis;
use gatekey_core::store::{JobLeaseStore, StoreResult};

use crate::error::from_sqlx;
use crate::SqlStore;

impl JobLeaseStore for SqlStore {
    async fn claim_job_lease(
        &self,
        job: &str,
        holder: &str,
        now: time::OffsetDateTime,
        lease: time::Duration,
    ) -> StoreResult<bool> {
        let claimed = sqlx::query(
            "INSERT INTO job_leases (job, holder, expires_at) VALUES ($1, $2, $3) \
             ON CONFLICT (job) DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at \
             WHERE job_leases.expires_at <= $4 OR job_leases.holder = excluded.holder",
        )
        .bind(job)
        .bind(holder)
        .bind(to_millis(now + lease))
        .bind(to_millis(now))
        .execute(&self.write)
        .await
        .map_err(from_sqlx)?;
        Ok(claimed.rows_affected() == 1)
    }
}
