//! Retention: what may be deleted once it can no longer be used, and when.
//!
//! Codes, device codes and tokens are kept for a *grace* after they expire or are revoked,
//! because some of them still mean something then: presenting a spent refresh token revokes its
//! whole family (RFC 9700 §4.14.2), and replaying a spent authorization code revokes the tokens
//! issued from it (RFC 6749 §4.1.2). A refresh family is deleted only as a whole, once every
//! member has been dead (expired or revoked) for the grace, so reuse is detected for as long as
//! any member could still be used and for the grace after. Sessions and device codes carry no
//! such detection and go once expired (a device code can be asked for by a public client, which
//! has no secret, so keeping dead ones for a long grace would let anyone fill the table). Audit
//! events go after a configured retention, or never.
//!
//! Deletions run in small batches, each its own statement, so a large backlog never holds the
//! database for long; running the same purge on several servers at once is harmless, since each
//! batch deletes only rows that are already dead.

use std::future::Future;

use time::{Duration, OffsetDateTime};

use crate::store::StoreResult;

/// How long what is dead is kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetentionPolicy {
    /// How long expired or revoked authorization codes and tokens are kept.
    pub grace: Duration,
    /// How long audit events are kept; `None` keeps them forever.
    pub audit_retention: Option<Duration>,
    /// How long a web session may go unused before it ends; `None` deletes sessions only when
    /// their lifetime is over.
    pub session_idle: Option<Duration>,
}

/// What a purge deletes, each with its own rule (see the module documentation).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Expired {
    /// Authorization codes expired before the cut-off.
    AuthorizationCodes,
    /// Device codes expired before the cut-off.
    DeviceCodes,
    /// Access tokens expired or revoked before the cut-off.
    AccessTokens,
    /// Refresh families whose every member expired or was revoked before the cut-off.
    RefreshFamilies,
    /// Web sessions expired before the cut-off.
    Sessions,
    /// Web sessions last used before the cut-off: ended by the idle timeout.
    IdleSessions,
    /// Audit events written before the cut-off.
    AuditEvents,
}

impl Expired {
    /// Every kind, in the order a purge visits them.
    pub const ALL: [Self; 7] = [
        Self::AuthorizationCodes,
        Self::DeviceCodes,
        Self::AccessTokens,
        Self::RefreshFamilies,
        Self::Sessions,
        Self::IdleSessions,
        Self::AuditEvents,
    ];

    /// The kind's name, for logs.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::AuthorizationCodes => "authorization_codes",
            Self::DeviceCodes => "device_codes",
            Self::AccessTokens => "access_tokens",
            Self::RefreshFamilies => "refresh_tokens",
            Self::Sessions => "sessions",
            Self::IdleSessions => "idle_sessions",
            Self::AuditEvents => "audit_events",
        }
    }
}

impl RetentionPolicy {
    /// The time before which `kind` may be deleted, at `now`; `None` when it is kept forever
    /// (also when a configured duration reaches back beyond the representable dates).
    pub fn cutoff(&self, kind: Expired, now: OffsetDateTime) -> Option<OffsetDateTime> {
        match kind {
            Expired::AuthorizationCodes | Expired::AccessTokens | Expired::RefreshFamilies => {
                now.checked_sub(self.grace)
            }
            Expired::DeviceCodes | Expired::Sessions => Some(now),
            Expired::IdleSessions => self.session_idle.and_then(|idle| now.checked_sub(idle)),
            Expired::AuditEvents => self.audit_retention.and_then(|keep| now.checked_sub(keep)),
        }
    }
}

/// Storage of the retention purge.
pub trait RetentionStore: Send + Sync {
    /// Deletes at most about `limit` rows of `kind` that died before `before` (a refresh family
    /// is deleted whole, so a batch may exceed `limit` by one family). Returns how many rows
    /// were deleted.
    fn delete_expired(
        &self,
        kind: Expired,
        before: OffsetDateTime,
        limit: u32,
    ) -> impl Future<Output = StoreResult<u64>> + Send;
}

/// How a purge deletes: batch size, and how many batches per kind before it leaves the rest to
/// the next purge.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PurgeLimits {
    /// Rows per batch.
    pub batch: u32,
    /// Batches per kind and purge.
    pub max_batches: u32,
}

impl Default for PurgeLimits {
    fn default() -> Self {
        Self {
            batch: 500,
            max_batches: 200,
        }
    }
}

/// How many rows one purge deleted, by kind.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PurgeReport {
    /// Rows deleted per kind, for the kinds that had any.
    pub deleted: Vec<(Expired, u64)>,
}

impl PurgeReport {
    /// Rows deleted of `kind`.
    pub fn of(&self, kind: Expired) -> u64 {
        self.deleted
            .iter()
            .filter(|(k, _)| *k == kind)
            .map(|(_, n)| n)
            .sum()
    }
}

/// Deletes what `policy` lets go at `now`, batch by batch, yielding between batches so other
/// work gets the database.
pub async fn purge<S: RetentionStore>(
    store: &S,
    policy: &RetentionPolicy,
    limits: PurgeLimits,
    now: OffsetDateTime,
) -> StoreResult<PurgeReport> {
    let mut report = PurgeReport::default();
    for kind in Expired::ALL {
        let Some(before) = policy.cutoff(kind, now) else {
            continue;
        };
        let mut total = 0;
        for _ in 0..limits.max_batches {
            let deleted = store.delete_expired(kind, before, limits.batch).await?;
            total += deleted;
            if deleted == 0 {
                break;
            }
            yield_to_other_tasks().await;
        }
        if total > 0 {
            report.deleted.push((kind, total));
        }
    }
    Ok(report)
}

/// Lets other tasks run between batches, without depending on a runtime.
async fn yield_to_other_tasks() {
    let mut yielded = false;
    std::future::poll_fn(|cx| {
        if yielded {
            std::task::Poll::Ready(())
        } else {
            yielded = true;
            cx.waker().wake_by_ref();
            std::task::Poll::Pending
        }
    })
    .await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cutoffs_follow_the_policy() {
        let now = OffsetDateTime::UNIX_EPOCH + Duration::days(1000);
        let keep = RetentionPolicy {
            grace: Duration::days(1),
            audit_retention: None,
            session_idle: None,
        };
        assert_eq!(
            keep.cutoff(Expired::RefreshFamilies, now),
            Some(now - Duration::days(1))
        );
        assert_eq!(keep.cutoff(Expired::Sessions, now), Some(now));
        assert_eq!(keep.cutoff(Expired::DeviceCodes, now), Some(now));
        assert_eq!(keep.cutoff(Expired::AuditEvents, now), None, "kept forever");
        assert_eq!(keep.cutoff(Expired::IdleSessions, now), None);
        let idle = RetentionPolicy {
            session_idle: Some(Duration::minutes(30)),
            ..keep
        };
        assert_eq!(
            idle.cutoff(Expired::IdleSessions, now),
            Some(now - Duration::minutes(30))
        );
        let year = RetentionPolicy {
            audit_retention: Some(Duration::days(365)),
            ..keep
        };
        assert_eq!(
            year.cutoff(Expired::AuditEvents, now),
            Some(now - Duration::days(365))
        );
        let forever = RetentionPolicy {
            grace: Duration::MAX,
            audit_retention: Some(Duration::MAX),
            session_idle: Some(Duration::MAX),
        };
        assert_eq!(forever.cutoff(Expired::AccessTokens, now), None);
        assert_eq!(forever.cutoff(Expired::AuditEvents, now), None);
        assert_eq!(forever.cutoff(Expired::IdleSessions, now), None);
    }
}
