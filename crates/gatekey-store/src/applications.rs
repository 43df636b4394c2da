//! OAuth applications.

use gatekey_core::audit::AuditEntry;
use gatekey_core::clock::to_millis;
use gatekey_core::oauth::application::{Application, ApplicationSettings, GrantType};
use gatekey_core::oauth::store::{ApplicationStore, NewApplication};
use gatekey_core::page::{Page, PageRequest};
use gatekey_core::secret::TokenHash;
use gatekey_core::store::{Invalidation, StoreError, StoreResult};
use sqlx::{AnyConnection, Row};
use time::OffsetDateTime;

use crate::application_rows::{application, APPLICATION_COLUMNS};
use crate::audits::insert_audit;
use crate::error::{conflict_as, from_sqlx};
use crate::grants::revoke_grant_ids;
use crate::query::AnyQuery;
use crate::rows::total;
use crate::SqlStore;

/// A list of URIs (redirect URIs, resources, post-logout redirect URIs) as stored: a JSON
/// array of strings. Each list is always read and written whole and never searched by
/// element, and the application row is read joined to grants, codes and tokens: one column
/// keeps each of those reads a single query (a child table would add one), and JSON encodes
/// any character unambiguously, where a separator could be smuggled inside a URI.
fn uri_list_json(uris: &[String]) -> StoreResult<String> {
    serde_json::to_string(uris)
        .map_err(|e| StoreError::Unavailable(format!("cannot encode a URI list: {e}")))
}

fn grant_types_text(grants: &[GrantType]) -> String {
    grants
        .iter()
        .map(|g| g.as_str())
        .collect::<Vec<_>>()
        .join(" ")
}

/// A rotation: the current secret becomes the previous one, valid until `$1`, and `$2` the
/// new one. A public client's row has no secret and never matches.
/// Clears whichever of the two secrets has hash `$1`. Every `CASE` reads the row as it was
/// before the update, so the previous secret's expiry goes with its hash.
const REVOKE_SECRET: &str = "UPDATE applications SET \
     secret_hash = CASE WHEN secret_hash = $1 THEN NULL ELSE secret_hash END, \
     previous_secret_expires_at = CASE WHEN previous_secret_hash = $1 THEN NULL \
         ELSE previous_secret_expires_at END, \
     previous_secret_hash = CASE WHEN previous_secret_hash = $1 THEN NULL \
         ELSE previous_secret_hash END, \
     updated_at = $2 \
     WHERE id = $3 AND deleted_at IS NULL AND (secret_hash = $1 OR previous_secret_hash = $1)";

const ROTATE_SECRET: &str = "UPDATE applications SET previous_secret_hash = secret_hash, \
     previous_secret_expires_at = $1, secret_hash = $2, updated_at = $3 \
     WHERE id = $4 AND deleted_at IS NULL AND client_type = 'confidential'";

/// Binds `s` to `query` as the twelve parameters that follow those bound so far, in the order
/// of the columns [`SETTINGS_COLUMNS`]: how an insert and an update of an application write
/// its settings.
fn bind_settings<'q>(query: AnyQuery<'q>, s: &'q ApplicationSettings) -> StoreResult<AnyQuery<'q>> {
    Ok(query
        .bind(&s.name)
        .bind(uri_list_json(&s.redirect_uris)?)
        .bind(grant_types_text(&s.grant_types))
        .bind(s.scopes.to_string())
        .bind(i64::from(s.implicit_allowed))
        .bind(i64::from(s.introspect))
        .bind(s.service_account_id)
        .bind(s.id_token_signed_response_alg.as_str())
        .bind(s.access_token_format.as_str())
        .bind(uri_list_json(&s.resources)?)
        .bind(uri_list_json(&s.post_logout_redirect_uris)?)
        .bind(i64::from(s.verify_keys)))
}

/// The columns of an application's settings, in the order [`bind_settings`] binds them.
const SETTINGS_COLUMNS: [&str; 12] = [
    "name",
    "redirect_uris",
    "grant_types",
    "scopes",
    "implicit_allowed",
    "introspect",
    "service_account_id",
    "id_token_signed_response_alg",
    "access_token_format",
    "resources",
    "post_logout_redirect_uris",
    "verify_keys",
];

async fn select_application(conn: &mut AnyConnection, id: i64) -> StoreResult<Application> {
    let row = sqlx::query(&format!(
        "SELECT {APPLICATION_COLUMNS} FROM applications p WHERE p.id = $1"
    ))
    .bind(id)
    .fetch_one(conn)
    .await
    .map_err(from_sqlx)?;
    application(&row)
}

/// `count` placeholders numbered from `first`: `$first`, `$first+1`, ...
fn placeholders(first: usize, count: usize) -> Vec<String> {
    (first..first + count).map(|n| format!("${n}")).collect()
}

/// How a live (not deleted) application is looked up.
enum LiveApplication<'a> {
    /// By its client id, in any account.
    ClientId(&'a str),
    /// By its id, in one account only.
    InAccount { account_id: i64, id: i64 },
    /// By the hash of its current or previous secret.
    SecretHash(&'a TokenHash),
}
use LiveApplication::{ClientId, InAccount, SecretHash};

impl SqlStore {
    /// The live application `key` names.
    async fn live_application(&self, key: LiveApplication<'_>) -> StoreResult<Option<Application>> {
        let condition = match key {
            ClientId(_) => "p.client_id = $1",
            InAccount { .. } => "p.id = $1 AND p.account_id = $2",
            SecretHash(_) => "(p.secret_hash = $1 OR p.previous_secret_hash = $1)",
        };
        let sql = format!(
            "SELECT {APPLICATION_COLUMNS} FROM applications p WHERE {condition} AND p.deleted_at IS NULL"
        );
        let query = match key {
            ClientId(client_id) => sqlx::query(&sql).bind(client_id.to_owned()),
            InAccount { account_id, id } => sqlx::query(&sql).bind(id).bind(account_id),
            SecretHash(hash) => sqlx::query(&sql).bind(hash.as_bytes().to_vec()),
        };
        let row = query.fetch_optional(&self.read).await.map_err(from_sqlx)?;
        row.as_ref().map(application).transpose()
    }

    /// Applies `change`, an `UPDATE` of application `id` that matches no row once the
    /// application is deleted and whose last two parameters, bound here, are `updated_at`
    /// (`now`) and the id. In the same transaction it reads the application back, makes every
    /// server drop what it cached of it (its settings, secret or introspection rights) and
    /// writes the audit entry.
    async fn change_application(
        &self,
        id: i64,
        change: AnyQuery<'_>,
        now: OffsetDateTime,
        audit: AuditEntry,
    ) -> StoreResult<Application> {
        let change = change.bind(to_millis(now)).bind(id);
        let mut tx = self.begin_invalidating().await.map_err(from_sqlx)?;
        let changed = change.execute(&mut *tx).await.map_err(from_sqlx)?;
        if changed.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        let updated = select_application(&mut tx, id).await?;
        tx.record(Invalidation::Application(id)).await?;
        let audit = audit
            .in_account(updated.account_id)
            .target(&updated.client_id);
        insert_audit(&mut tx, audit, None).await?;
        tx.commit().await.map_err(from_sqlx)?;
        Ok(updated)
    }
}

impl ApplicationStore for SqlStore {
    async fn create_application(
        &self,
        app: NewApplication,
        audit: AuditEntry,
    ) -> StoreResult<Application> {
        let s = &app.settings;
        let now = to_millis(app.created_at);
        let mut tx = self.write.begin().await.map_err(from_sqlx)?;
        let insert_sql = format!(
            "INSERT INTO applications (client_id, account_id, client_type, secret_hash, {}, \
             created_at, updated_at) VALUES ($1, $2, $3, $4, {}, ${created}, ${created}) RETURNING id",
            SETTINGS_COLUMNS.join(", "),
            placeholders(5, SETTINGS_COLUMNS.len()).join(", "),
            created = 5 + SETTINGS_COLUMNS.len(),
        );
        let insert = sqlx::query(&insert_sql)
            .bind(&app.client_id)
            .bind(app.account_id)
            .bind(app.client_type.as_str())
            .bind(app.secret_hash.map(|h| h.as_bytes().to_vec()));
        let id: i64 = bind_settings(insert, s)?
            .bind(now)
            .fetch_one(&mut *tx)
            .await
            .map_err(conflict_as("client id"))?
            .try_get("id")
            .map_err(from_sqlx)?;
        let created = select_application(&mut tx, id).await?;
        insert_audit(
            &mut tx,
            audit.in_account(app.account_id).target(&app.client_id),
            None,
        )
        .await?;
        tx.commit().await.map_err(from_sqlx)?;
        Ok(created)
    }

    async fn application_by_client_id(&self, client_id: &str) -> StoreResult<Option<Application>> {
        self.live_application(ClientId(client_id)).await
    }

    async fn application_by_secret(&self, hash: &TokenHash) -> StoreResult<Option<Application>> {
        self.live_application(SecretHash(hash)).await
    }

    async fn revoke_application_secret(
        &self,
        id: i64,
        hash: &TokenHash,
        now: OffsetDateTime,
        audit: AuditEntry,
    ) -> StoreResult<Application> {
        let change = sqlx::query(REVOKE_SECRET).bind(hash.as_bytes().to_vec());
        self.change_application(id, change, now, audit).await
    }

    async fn application_in_account(
        &self,
        account_id: i64,
        id: i64,
    ) -> StoreResult<Option<Application>> {
        self.live_application(InAccount { account_id, id }).await
    }

    async fn list_applications(
        &self,
        account_id: i64,
        page: PageRequest,
    ) -> StoreResult<Page<Application>> {
        let found = sqlx::query(&format!(
            "SELECT {APPLICATION_COLUMNS} FROM applications p WHERE p.account_id = $1 AND p.deleted_at IS NULL \
             ORDER BY p.id LIMIT $2 OFFSET $3"
        ))
        .bind(account_id)
        .bind(page.limit())
        .bind(page.offset())
        .fetch_all(&self.read)
        .await
        .map_err(from_sqlx)?;
        let count =
            sqlx::query("SELECT COUNT(*) AS total FROM applications WHERE account_id = $1 AND deleted_at IS NULL")
                .bind(account_id)
                .fetch_one(&self.read)
                .await
                .map_err(from_sqlx)?;
        let items = found.iter().map(application).collect::<StoreResult<_>>()?;
        Ok(Page {
            items,
            total: total(&count)?,
            request: page,
        })
    }

    async fn update_application(
        &self,
        id: i64,
        s: &ApplicationSettings,
        now: OffsetDateTime,
        audit: AuditEntry,
    ) -> StoreResult<Application> {
        let assignments: Vec<String> = SETTINGS_COLUMNS
            .iter()
            .zip(placeholders(1, SETTINGS_COLUMNS.len()))
            .map(|(column, placeholder)| format!("{column} = {placeholder}"))
            .collect();
        let next = SETTINGS_COLUMNS.len() + 1;
        let sql = format!(
            "UPDATE applications SET {}, updated_at = ${next} WHERE id = ${} AND deleted_at IS NULL",
            assignments.join(", "),
            next + 1
        );
        let change = sqlx::query(&sql);
        let change = bind_settings(change, s)?;
        self.change_application(id, change, now, audit).await
    }

    async fn set_introspect_all_accounts(
        &self,
        id: i64,
        all_accounts: bool,
        now: OffsetDateTime,
        audit: AuditEntry,
    ) -> StoreResult<Application> {
        let change = sqlx::query(
            "UPDATE applications SET introspect_all_accounts = $1, updated_at = $2 \
             WHERE id = $3 AND deleted_at IS NULL",
        )
        .bind(i64::from(all_accounts));
        self.change_application(id, change, now, audit).await
    }

    async fn rotate_application_secret(
        &self,
        id: i64,
        new_hash: TokenHash,
        previous_valid_until: OffsetDateTime,
        now: OffsetDateTime,
        audit: AuditEntry,
    ) -> StoreResult<Application> {
        let change = sqlx::query(ROTATE_SECRET)
            .bind(to_millis(previous_valid_until))
            .bind(new_hash.as_bytes().to_vec());
        self.change_application(id, change, now, audit).await
    }

    async fn delete_application(
        &self,
        id: i64,
        now: OffsetDateTime,
        audit: AuditEntry,
    ) -> StoreResult<()> {
        let at = to_millis(now);
        let mut tx = self.begin_invalidating().await.map_err(from_sqlx)?;
        let app = select_application(&mut tx, id).await?;
        let changed = sqlx::query(
            "UPDATE applications SET deleted_at = $1 WHERE id = $2 AND deleted_at IS NULL",
        )
        .bind(at)
        .bind(id)
        .execute(&mut *tx)
        .await
        .map_err(from_sqlx)?;
        if changed.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        let grants: Vec<i64> = sqlx::query_scalar(
            "SELECT id FROM grants WHERE application_id = $1 AND revoked_at IS NULL",
        )
        .bind(id)
        .fetch_all(&mut *tx)
        .await
        .map_err(from_sqlx)?;
        revoke_grant_ids(&mut tx, &grants, at).await?;
        tx.record(Invalidation::Application(id)).await?;
        insert_audit(
            &mut tx,
            audit.in_account(app.account_id).target(&app.client_id),
            None,
        )
        .await?;
        tx.commit().await.map_err(from_sqlx)
    }
}
