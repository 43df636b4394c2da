//! API keys.

use gatekey_core::api_key::ApiKey;
use gatekey_core::api_key_usage::KeyChanges;
use gatekey_core::audit::{AuditAction, AuditEntry};
use gatekey_core::clock::to_millis;
use gatekey_core::page::{Page, PageRequest};
use gatekey_core::secret::TokenHash;
use gatekey_core::store::{
    ApiKeyFilter, ApiKeyStore, Invalidation, KeyCreation, KeyCredential, KeyRoll, KeyRollOutcome,
    KeyUse, NewApiKey, RevokedKey, StoreError, StoreResult,
};
use sqlx::AnyConnection;
use time::OffsetDateTime;

use crate::audits::insert_audit;
use crate::error::{conflict_as, from_sqlx};
use crate::invalidations::InvalidatingTx;
use crate::query::{fetch_page, rows_changed, Listing};
use crate::rows::{
    self, column, ACCOUNT_COLUMNS, API_KEY_COLUMNS, MEMBERSHIP_COLUMNS, USER_COLUMNS,
};
use crate::SqlStore;

pub(crate) async fn select_key(conn: &mut AnyConnection, id: i64) -> StoreResult<Option<ApiKey>> {
    let row = sqlx::query(&format!(
        "SELECT {API_KEY_COLUMNS} FROM api_keys k JOIN memberships m ON m.id = k.membership_id WHERE k.id = $1"
    ))
    .bind(id)
    .fetch_optional(conn)
    .await
    .map_err(from_sqlx)?;
    row.as_ref().map(rows::api_key).transpose()
}

/// Whether the key `parent` may still create a key at `now`: its user is not disabled and the
/// key is neither revoked nor expired. Both rows are locked for the rest of the caller's
/// transaction (a no-op update, as SQLite has no `FOR UPDATE`), so a revocation or a disabling
/// running at the same time either finished before (and the parent is refused here) or waits
/// for this transaction and then sees the new child in its cascade. The user row is locked
/// first, as disabling does, so the two never wait on each other in a cycle.
async fn lock_usable_parent(
    conn: &mut AnyConnection,
    parent: i64,
    now: OffsetDateTime,
) -> StoreResult<bool> {
    let lock_user = sqlx::query(
        "UPDATE users SET disabled_at = disabled_at WHERE disabled_at IS NULL AND id = \
         (SELECT m.user_id FROM api_keys k JOIN memberships m ON m.id = k.membership_id WHERE k.id = $1)",
    )
    .bind(parent);
    if rows_changed(lock_user, &mut *conn).await? == 0 {
        return Ok(false);
    }
    let key = rows_changed(
        sqlx::query(
            "UPDATE api_keys SET revoked_at = revoked_at WHERE id = $1 AND revoked_at IS NULL \
         AND (expires_at IS NULL OR expires_at > $2)",
        )
        .bind(parent)
        .bind(to_millis(now)),
        &mut *conn,
    )
    .await?;
    Ok(key > 0)
}

/// The user holding key `id`.
async fn holder_of(conn: &mut AnyConnection, id: i64) -> StoreResult<Option<i64>> {
    sqlx::query_scalar(
        "SELECT m.user_id FROM api_keys k JOIN memberships m ON m.id = k.membership_id WHERE k.id = $1",
    )
    .bind(id)
    .fetch_optional(conn)
    .await
    .map_err(from_sqlx)
}

/// Whose descendants to revoke.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Lineage {
    /// The keys created with this key, and theirs.
    OfKey(i64),
    /// The keys created with any key of this user, and theirs.
    OfUser(i64),
}

/// Revokes, in the caller's transaction, every key that descends from `lineage` and is not
/// revoked yet: an audit event (`audit` with `detail`, in the key's account) and an
/// invalidation for each. Returns their ids.
pub(crate) async fn revoke_descendants(
    tx: &mut InvalidatingTx,
    lineage: Lineage,
    now: OffsetDateTime,
    audit: &AuditEntry,
    detail: &str,
) -> StoreResult<Vec<i64>> {
    let (children, id) = match lineage {
        Lineage::OfKey(id) => ("c.parent_key_id = $1", id),
        Lineage::OfUser(id) => (
            "c.parent_key_id IN (SELECT p.id FROM api_keys p \
             JOIN memberships pm ON pm.id = p.membership_id WHERE pm.user_id = $1)",
            id,
        ),
    };
    // Selected again until none is left: a child created while this runs waited on its
    // parent's row (see `lock_usable_parent`), which this transaction has just updated, and is
    // visible to the next selection.
    let mut revoked = Vec::new();
    loop {
        let found = sqlx::query(&format!(
            "WITH RECURSIVE lineage (id) AS ( \
                 SELECT c.id FROM api_keys c WHERE {children} \
                 UNION SELECT k.id FROM api_keys k JOIN lineage l ON k.parent_key_id = l.id) \
             SELECT k.id AS id, m.account_id AS account_id FROM api_keys k \
             JOIN memberships m ON m.id = k.membership_id \
             WHERE k.id IN (SELECT id FROM lineage) AND k.revoked_at IS NULL ORDER BY k.id"
        ))
        .bind(id)
        .fetch_all(tx.conn())
        .await
        .map_err(from_sqlx)?;
        if found.is_empty() {
            break;
        }
        for row in found {
            let key_id: i64 = column(&row, "id")?;
            let account_id: i64 = column(&row, "account_id")?;
            let changed = rows_changed(
                sqlx::query(
                    "UPDATE api_keys SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL",
                )
                .bind(to_millis(now))
                .bind(key_id),
                tx.conn(),
            )
            .await?;
            if changed == 0 {
                continue;
            }
            tx.record(Invalidation::ApiKey(key_id)).await?;
            let entry = AuditEntry {
                action: AuditAction::ApiKeyRevoked,
                target_type: "api_key",
                ..audit.clone()
            }
            .in_account(account_id)
            .target(key_id)
            .detail(detail);
            insert_audit(tx, entry, None).await?;
            revoked.push(key_id);
        }
    }
    Ok(revoked)
}

impl ApiKeyStore for SqlStore {
    async fn create_api_key(&self, key: NewApiKey, audit: AuditEntry) -> StoreResult<KeyCreation> {
        let mut tx = self.write.begin().await.map_err(from_sqlx)?;
        if let Some(parent) = key.parent_key_id {
            if !lock_usable_parent(&mut tx, parent, key.created_at).await? {
                // This server may still trust the parent, its change recorded elsewhere and
                // not yet heard from the feed: forget it and its holder's credentials now.
                let mut stale = vec![Invalidation::ApiKey(parent)];
                stale.extend(holder_of(&mut tx, parent).await?.map(Invalidation::User));
                self.invalidate_locally(&stale);
                return Ok(KeyCreation::ParentUnusable);
            }
        }
        let usage = &key.usage;
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO api_keys (membership_id, name, display_prefix, secret_hash, scopes, created_at, expires_at, parent_key_id, \
             meta, rate_per_second, rate_per_minute, rate_per_hour, credits_remaining, \
             credits_refill_amount, credits_refill_interval, credits_refilled_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16) RETURNING id",
        )
        .bind(key.membership_id)
        .bind(&key.name)
        .bind(&key.display_prefix)
        .bind(key.hash.as_bytes().to_vec())
        .bind(key.scopes.to_string())
        .bind(to_millis(key.created_at))
        .bind(key.expires_at.map(to_millis))
        .bind(key.parent_key_id)
        .bind(usage.meta.as_ref().map(|m| m.as_str().to_owned()))
        .bind(usage.limits.per_second.map(i64::from))
        .bind(usage.limits.per_minute.map(i64::from))
        .bind(usage.limits.per_hour.map(i64::from))
        .bind(usage.credits)
        .bind(usage.refill.map(|r| r.amount))
        .bind(usage.refill.map(|r| r.interval.as_str()))
        .bind(usage.credits.map(|_| to_millis(key.created_at)))
        .fetch_one(&mut *tx)
        .await
        .map_err(conflict_as("api key"))?;
        let created = select_key(&mut tx, id).await?.ok_or(StoreError::NotFound)?;
        insert_audit(&mut tx, audit.in_account(created.account_id), Some(id)).await?;
        tx.commit().await.map_err(from_sqlx)?;
        Ok(KeyCreation::Created(created))
    }

    async fn api_key_credential(&self, hash: &TokenHash) -> StoreResult<Option<KeyCredential>> {
        let row = sqlx::query(&format!(
            "SELECT {API_KEY_COLUMNS}, {USER_COLUMNS}, {ACCOUNT_COLUMNS}, {MEMBERSHIP_COLUMNS}, \
             k.secret_hash AS k_secret_hash \
             FROM api_keys k JOIN memberships m ON m.id = k.membership_id \
             JOIN users u ON u.id = m.user_id JOIN accounts a ON a.id = m.account_id \
             WHERE k.secret_hash = $1 OR k.previous_secret_hash = $1"
        ))
        .bind(hash.as_bytes().to_vec())
        .fetch_optional(&self.read)
        .await
        .map_err(from_sqlx)?;
        row.map(|row| {
            let current: Vec<u8> = column(&row, "k_secret_hash")?;
            Ok(KeyCredential {
                key: rows::api_key(&row)?,
                user: rows::user(&row)?,
                account: rows::account(&row)?,
                role: rows::membership(&row)?.role,
                by_previous_secret: current.as_slice() != hash.as_bytes(),
            })
        })
        .transpose()
    }

    async fn api_key_by_id(&self, id: i64) -> StoreResult<Option<ApiKey>> {
        let mut conn = self.read.acquire().await.map_err(from_sqlx)?;
        select_key(&mut conn, id).await
    }

    async fn list_api_keys(
        &self,
        filter: ApiKeyFilter,
        page: PageRequest,
    ) -> StoreResult<Page<ApiKey>> {
        let condition = "($1 IS NULL OR m.account_id = $1) AND ($2 IS NULL OR m.user_id = $2) \
             AND ($3 IS NULL OR (k.revoked_at IS NULL AND k.expires_at > $3 AND k.expires_at <= $4))";
        let listing = Listing {
            select: &format!(
                "SELECT {API_KEY_COLUMNS} FROM api_keys k JOIN memberships m ON m.id = k.membership_id \
                 WHERE {condition} ORDER BY k.id DESC LIMIT $5 OFFSET $6"
            ),
            count: &format!(
                "SELECT COUNT(*) AS total FROM api_keys k JOIN memberships m ON m.id = k.membership_id WHERE {condition}"
            ),
        };
        fetch_page(
            &self.read,
            listing,
            |query| {
                let (from, until) = filter.expiring_between.unzip();
                query
                    .bind(filter.account_id)
                    .bind(filter.user_id)
                    .bind(from.map(to_millis))
                    .bind(until.map(to_millis))
            },
            page,
            rows::api_key,
        )
        .await
    }

    async fn revoke_api_key(
        &self,
        id: i64,
        now: OffsetDateTime,
        audit: AuditEntry,
    ) -> StoreResult<RevokedKey> {
        let mut tx = self.begin_invalidating().await.map_err(from_sqlx)?;
        let changed = rows_changed(
            sqlx::query("UPDATE api_keys SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL")
                .bind(to_millis(now))
                .bind(id),
            &mut *tx,
        )
        .await?;
        let key = select_key(&mut tx, id).await?.ok_or(StoreError::NotFound)?;
        if changed > 0 {
            tx.record(Invalidation::ApiKey(id)).await?;
            insert_audit(
                &mut tx,
                audit.clone().in_account(key.account_id).target(id),
                None,
            )
            .await?;
        }
        let cascaded = revoke_descendants(
            &mut tx,
            Lineage::OfKey(id),
            now,
            &audit,
            &format!("revoked with key {id}, which created it"),
        )
        .await?;
        tx.commit().await.map_err(from_sqlx)?;
        Ok(RevokedKey { key, cascaded })
    }

    async fn update_api_key(
        &self,
        id: i64,
        changes: KeyChanges,
        now: OffsetDateTime,
        audit: AuditEntry,
    ) -> StoreResult<ApiKey> {
        let (assignments, values) = key_assignments(&changes, now);
        let mut tx = self.begin_invalidating().await.map_err(from_sqlx)?;
        let statement = format!(
            "UPDATE api_keys SET {} WHERE id = ${}",
            assignments.join(", "),
            values.len() + 1
        );
        let mut query = sqlx::query(&statement);
        for value in &values {
            query = match value {
                Value::Int(v) => query.bind(*v),
                Value::Text(v) => query.bind(v.clone()),
            };
        }
        if rows_changed(query.bind(id), &mut *tx).await? == 0 {
            return Err(StoreError::NotFound);
        }
        tx.record(Invalidation::ApiKey(id)).await?;
        let key = select_key(&mut tx, id).await?.ok_or(StoreError::NotFound)?;
        insert_audit(&mut tx, audit.in_account(key.account_id).target(id), None).await?;
        tx.commit().await.map_err(from_sqlx)?;
        Ok(key)
    }

    async fn record_key_usage(&self, usage: &[KeyUse]) -> StoreResult<()> {
        if usage.is_empty() {
            return Ok(());
        }
        let mut tx = self.write.begin().await.map_err(from_sqlx)?;
        for used in usage {
            sqlx::query(
                "UPDATE api_keys SET last_used_at = $1, last_used_ip = COALESCE($3, last_used_ip) \
                 WHERE id = $2 AND (last_used_at IS NULL OR last_used_at < $1)",
            )
            .bind(to_millis(used.at))
            .bind(used.key_id)
            .bind(used.ip.map(|ip| ip.to_string()))
            .execute(&mut *tx)
            .await
            .map_err(from_sqlx)?;
        }
        tx.commit().await.map_err(from_sqlx)
    }

    async fn roll_api_key(&self, roll: KeyRoll, audit: AuditEntry) -> StoreResult<KeyRollOutcome> {
        self.roll_key_secret(roll, audit).await
    }

    async fn end_previous_api_key_secret(
        &self,
        id: i64,
        hash: &TokenHash,
        audit: AuditEntry,
    ) -> StoreResult<bool> {
        self.end_previous_key_secret(id, hash, audit).await
    }
}

/// A value bound to an `UPDATE` of a key.
enum Value {
    Int(Option<i64>),
    Text(Option<String>),
}

/// `SET` clauses and the values of their placeholders, `$1` onwards.
#[derive(Default)]
struct Assignments {
    clauses: Vec<String>,
    values: Vec<Value>,
}

impl Assignments {
    /// `column = $n`.
    fn set(&mut self, column: &str, value: Value) {
        self.set_to(column, "{}", value);
    }

    /// `column = expression`, the expression's `{}` being the value's placeholder.
    fn set_to(&mut self, column: &str, expression: &str, value: Value) {
        self.values.push(value);
        let placeholder = format!("${}", self.values.len());
        self.clauses.push(format!(
            "{column} = {}",
            expression.replace("{}", &placeholder)
        ));
    }
}

/// The `SET` clauses of `changes` and their values. Setting the balance replaces it for the
/// current refill period and bumps the credit generation, so that credits leased before are
/// dropped rather than given back into it; clearing it (unlimited) clears the refill too.
fn key_assignments(changes: &KeyChanges, now: OffsetDateTime) -> (Vec<String>, Vec<Value>) {
    let mut out = Assignments::default();
    if let Some(name) = &changes.name {
        out.set("name", Value::Text(Some(name.clone())));
    }
    if let Some(meta) = &changes.meta {
        out.set(
            "meta",
            Value::Text(meta.as_ref().map(|m| m.as_str().to_owned())),
        );
    }
    let limits = [
        ("rate_per_second", changes.per_second),
        ("rate_per_minute", changes.per_minute),
        ("rate_per_hour", changes.per_hour),
    ];
    for (column, limit) in limits {
        if let Some(limit) = limit {
            out.set(column, Value::Int(limit.map(i64::from)));
        }
    }
    let now = to_millis(now);
    match changes.credits {
        Some(Some(credits)) => {
            out.set("credits_remaining", Value::Int(Some(credits)));
            out.set("credits_refilled_at", Value::Int(Some(now)));
        }
        Some(None) => {
            out.set("credits_remaining", Value::Int(None));
            out.set("credits_refill_amount", Value::Int(None));
            out.set("credits_refill_interval", Value::Text(None));
            out.set("credits_refilled_at", Value::Int(None));
        }
        None => {}
    }
    match changes.refill {
        Some(Some(refill)) => {
            out.set("credits_refill_amount", Value::Int(Some(refill.amount)));
            out.set(
                "credits_refill_interval",
                Value::Text(Some(refill.interval.as_str().to_owned())),
            );
            if changes.credits.is_none() {
                out.set_to(
                    "credits_refilled_at",
                    "COALESCE(credits_refilled_at, {})",
                    Value::Int(Some(now)),
                );
            }
        }
        Some(None) if changes.credits != Some(None) => {
            out.set("credits_refill_amount", Value::Int(None));
            out.set("credits_refill_interval", Value::Text(None));
        }
        _ => {}
    }
    if changes.credits.is_some() {
        out.clauses
            .push("credits_generation = credits_generation + 1".to_owned());
    }
    if out.clauses.is_empty() {
        // Not reached through the domain, which writes nothing for an empty change; kept
        // valid SQL all the same.
        out.clauses.push("name = name".to_owned());
    }
    (out.clauses, out.values)
}
