//! Leases on periodic jobs (migration 0012) on every backend: one holder at a time, renewed
//! by its holder, taken over once expired, and never won by two claimants at once.

use gatekey_core::store::JobLeaseStore;
use time::{Duration, OffsetDateTime};

mod fixtures;
use fixtures::each_backend;

const LEASE: Duration = Duration::minutes(30);

#[tokio::test]
async fn one_holder_at_a_time_until_its_lease_runs_out() {
    each_backend(|store| async move {
        let now = OffsetDateTime::now_utc();
        let claim = |holder: &'static str, at: OffsetDateTime| {
            let store = store.clone();
            async move {
                store
                    .claim_job_lease("retention_purge", holder, at, LEASE)
                    .await
                    .expect("claim")
            }
        };
        assert!(claim("replica-a", now).await, "a free lease is taken");
        assert!(!claim("replica-b", now).await, "a running lease is not");
        let later = now + Duration::minutes(20);
        assert!(claim("replica-a", later).await, "the holder renews it");
        // Renewed at +20 min for 30: still A's at +45 min, B's at +50 min.
        assert!(!claim("replica-b", now + Duration::minutes(45)).await);
        assert!(
            claim("replica-b", now + Duration::minutes(50)).await,
            "an expired lease is taken over"
        );
        assert!(
            !claim("replica-a", now + Duration::minutes(51)).await,
            "and is then B's"
        );
        // Another job has its own lease.
        assert!(store
            .claim_job_lease("other_job", "replica-a", now, LEASE)
            .await
            .expect("claim"));
    })
    .await;
}

#[tokio::test]
async fn concurrent_claims_have_one_winner() {
    each_backend(|store| async move {
        let now = OffsetDateTime::now_utc();
        let claims = (0..8).map(|i| {
            let store = store.clone();
            tokio::spawn(async move {
                store
                    .claim_job_lease("race", &format!("replica-{i}"), now, LEASE)
                    .await
            })
        });
        let mut winners = 0;
        for claim in claims {
            match claim.await.expect("task") {
                Ok(true) => winners += 1,
                Ok(false) => {}
                // SQLite may answer a busy database; that claimant simply did not win.
                Err(error) => eprintln!("a claim failed: {error}"),
            }
        }
        assert_eq!(winners, 1);
    })
    .await;
}
