//! The retention purge's deletions (see `gatekey_core::retention` for the rules). Each call is
//! one `DELETE` of at most `limit` rows chosen by a sub-select, which both databases run the
//! same way; the indexes of migration 0005 keep the sub-selects from scanning whole tables
//! (those on the tokens' `revoked_at` hold only revoked tokens since 0015, which every
//! `revoked_at < $1` can use).
//!
//! Nothing references the rows deleted here by foreign key: codes, device codes and tokens are
//! leaves under their grants, sessions are leaves under users, and audit events reference
//! nothing. Grants, users and accounts are kept.

use gatekey_core::clock::to_millis;
use gatekey_core::retention::{Expired, RetentionStore};
use gatekey_core::store::StoreResult;
use time::OffsetDateTime;

use crate::query::rows_changed;
use crate::SqlStore;

/// The `DELETE` of one batch of `kind`: `$1` is the cut-off in milliseconds, `$2` the limit.
fn delete_sql(kind: Expired) -> String {
    let (table, expired) = match kind {
        Expired::AuthorizationCodes => ("authorization_codes", "expires_at < $1"),
        Expired::DeviceCodes => ("device_codes", "expires_at < $1"),
        Expired::AccessTokens => ("access_tokens", "expires_at < $1 OR revoked_at < $1"),
        // A family goes whole, once no member is alive or died after the cut-off: a spent
        // member is kept while its family lives, so presenting it still revokes the family.
        Expired::RefreshFamilies => {
            return "DELETE FROM refresh_tokens WHERE family_id IN \
                    (SELECT r.family_id FROM refresh_tokens r \
                     WHERE (r.expires_at < $1 OR r.revoked_at < $1) \
                     AND NOT EXISTS (SELECT 1 FROM refresh_tokens l WHERE l.family_id = r.family_id \
                       AND l.expires_at >= $1 AND (l.revoked_at IS NULL OR l.revoked_at >= $1)) \
                     LIMIT $2)"
                .to_owned()
        }
        Expired::Sessions => ("sessions", "expires_at < $1"),
        Expired::IdleSessions => ("sessions", "last_seen_at < $1"),
        Expired::AuditEvents => ("audit_events", "at < $1"),
    };
    format!("DELETE FROM {table} WHERE id IN (SELECT id FROM {table} WHERE {expired} LIMIT $2)")
}

impl RetentionStore for SqlStore {
    async fn delete_expired(
        &self,
        kind: Expired,
        before: OffsetDateTime,
        limit: u32,
    ) -> StoreResult<u64> {
        let delete = delete_sql(kind);
        let query = sqlx::query(&delete)
            .bind(to_millis(before))
            .bind(i64::from(limit));
        rows_changed(query, &self.write).await
    }
}
