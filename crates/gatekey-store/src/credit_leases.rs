//! Leases of API keys' credits ([`gatekey_core::api_key_credits`]): one short transaction per
//! lease, holding the key's row lock, and a batch that gives unspent credits back.

use gatekey_core::api_key_credits::{
    plan_lease, CreditLeaseStore, LeaseOutcome, StoredBalance, UnspentLease,
};
use gatekey_core::clock::to_millis;
use gatekey_core::store::StoreResult;
use time::OffsetDateTime;

use crate::error::from_sqlx;
use crate::query::rows_changed;
use crate::rows::{column, optional_time_column, refill_columns};
use crate::SqlStore;

impl CreditLeaseStore for SqlStore {
    async fn lease_credits(
        &self,
        key_id: i64,
        returned: Option<UnspentLease>,
        needed: i64,
        now: OffsetDateTime,
    ) -> StoreResult<Option<LeaseOutcome>> {
        let mut tx = self.write.begin().await.map_err(from_sqlx)?;
        // Lock the row first (a no-op update, as SQLite has no `FOR UPDATE`): two servers
        // leasing at once are ordered, and the second reads what the first left.
        let lock =
            sqlx::query("UPDATE api_keys SET credits_remaining = credits_remaining WHERE id = $1")
                .bind(key_id);
        if rows_changed(lock, &mut *tx).await? == 0 {
            return Ok(None);
        }
        let row = sqlx::query(
            "SELECT credits_remaining, credits_refill_amount, credits_refill_interval, \
             credits_refilled_at, credits_generation FROM api_keys WHERE id = $1",
        )
        .bind(key_id)
        .fetch_one(&mut *tx)
        .await
        .map_err(from_sqlx)?;
        let balance = StoredBalance {
            remaining: column(&row, "credits_remaining")?,
            refill: refill_columns(
                column(&row, "credits_refill_amount")?,
                column(&row, "credits_refill_interval")?,
            )?,
            refilled_at: optional_time_column(&row, "credits_refilled_at")?,
            generation: column(&row, "credits_generation")?,
        };
        let outcome = plan_lease(balance, returned, needed, now);
        if let LeaseOutcome::Leased(plan) = outcome {
            let changed =
                Some(plan.remaining) != balance.remaining || plan.generation != balance.generation;
            if changed {
                sqlx::query(
                    "UPDATE api_keys SET credits_remaining = $1, credits_refilled_at = $2, \
                     credits_generation = $3 WHERE id = $4",
                )
                .bind(plan.remaining)
                .bind(plan.refilled_at.map(to_millis))
                .bind(plan.generation)
                .bind(key_id)
                .execute(&mut *tx)
                .await
                .map_err(from_sqlx)?;
            }
        }
        tx.commit().await.map_err(from_sqlx)?;
        Ok(Some(outcome))
    }

    async fn return_credits(&self, unspent: &[UnspentLease]) -> StoreResult<()> {
        let unspent: Vec<&UnspentLease> = unspent.iter().filter(|u| u.credits > 0).collect();
        if unspent.is_empty() {
            return Ok(());
        }
        let mut tx = self.write.begin().await.map_err(from_sqlx)?;
        for lease in unspent {
            sqlx::query(
                "UPDATE api_keys SET credits_remaining = credits_remaining + $1 \
                 WHERE id = $2 AND credits_generation = $3 AND credits_remaining IS NOT NULL",
            )
            .bind(lease.credits)
            .bind(lease.key_id)
            .bind(lease.generation)
            .execute(&mut *tx)
            .await
            .map_err(from_sqlx)?;
        }
        tx.commit().await.map_err(from_sqlx)
    }
}
