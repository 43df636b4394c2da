//! OAuth applications.

use gatekey_core::audit::AuditEntry;
use gatekey_core::clock::to_millis;
use gatekey_core::oauth::application::{Application, ApplicationSettings, GrantType};
use gatekey_core::oauth::store::{ApplicationStore, NewApplication};
use gatekey_core::page::{Page, PageRequest};
use gatekey_core::scope::ScopeSet;
use gatekey_core::secret::TokenHash;
use gatekey_core::store::{Invalidation, StoreError, StoreResult};
use sqlx::any::AnyRow;
use sqlx::AnyConnection;
use time::OffsetDateTime;

use crate::audits::insert_audit;
use crate::error::{conflict_as, from_sqlx};
use crate::invalidations::InvalidatingTx;
use crate::rows::{column, optional_time_column, time_column, total};
use crate::SqlStore;

/// `applications` columns, prefixed `p_`.
pub(crate) const APPLICATION_COLUMNS: &str = "p.id AS p_id, p.client_id AS p_client_id, p.account_id AS p_account_id, \
     p.name AS p_name, p.client_type AS p_client_type, p.secret_hash AS p_secret_hash, \
     p.previous_secret_hash AS p_previous_secret_hash, p.previous_secret_expires_at AS p_previous_secret_expires_at, \
     p.redirect_uris AS p_redirect_uris, p.grant_types AS p_grant_types, p.scopes AS p_scopes, \
     p.implicit_allowed AS p_implicit_allowed, p.introspect AS p_introspect, \
     p.introspect_all_accounts AS p_introspect_all_accounts, \
     p.service_account_id AS p_service_account_id, p.created_at AS p_created_at, p.updated_at AS p_updated_at";

fn hash_column(row: &AnyRow, name: &str) -> StoreResult<Option<TokenHash>> {
    let bytes: Option<Vec<u8>> = column(row, name)?;
    bytes
        .map(|b| <[u8; 32]>::try_from(b).map(TokenHash::from_bytes))
        .transpose()
        .map_err(|_| StoreError::Unavailable(format!("bad digest in {name}")))
}

fn corrupt(what: &str) -> StoreError {
    StoreError::Unavailable(format!("unexpected {what} in the database"))
}

pub(crate) fn application(row: &AnyRow) -> StoreResult<Application> {
    let client_type: String = column(row, "p_client_type")?;
    let redirect_uris: String = column(row, "p_redirect_uris")?;
    let grant_types: String = column(row, "p_grant_types")?;
    let scopes: String = column(row, "p_scopes")?;
    Ok(Application {
        id: column(row, "p_id")?,
        client_id: column(row, "p_client_id")?,
        account_id: column(row, "p_account_id")?,
        name: column(row, "p_name")?,
        client_type: client_type.parse().map_err(|_| corrupt("client type"))?,
        secret_hash: hash_column(row, "p_secret_hash")?,
        previous_secret_hash: hash_column(row, "p_previous_secret_hash")?,
        previous_secret_expires_at: optional_time_column(row, "p_previous_secret_expires_at")?,
        redirect_uris: serde_json::from_str(&redirect_uris)
            .map_err(|_| corrupt("redirect URI list"))?,
        grant_types: grant_types
            .split_ascii_whitespace()
            .map(str::parse::<GrantType>)
            .collect::<Result<_, _>>()
            .map_err(|_| corrupt("grant type"))?,
        scopes: ScopeSet::parse(&scopes).map_err(|_| corrupt("scopes"))?,
        implicit_allowed: column::<i64>(row, "p_implicit_allowed")? != 0,
        introspect: column::<i64>(row, "p_introspect")? != 0,
        introspect_all_accounts: column::<i64>(row, "p_introspect_all_accounts")? != 0,
        service_account_id: column(row, "p_service_account_id")?,
        created_at: time_column(row, "p_created_at")?,
        updated_at: time_column(row, "p_updated_at")?,
    })
}

/// The redirect URIs as stored: a JSON array of strings. The list is always read and written
/// whole and never searched by element, and the application row is read joined to grants,
/// codes and tokens: one column keeps each of those reads a single query (a child table would
/// add one), and JSON encodes any character unambiguously, where a separator could be smuggled
/// inside a URI.
fn redirect_uris_json(uris: &[String]) -> StoreResult<String> {
    serde_json::to_string(uris)
        .map_err(|e| StoreError::Unavailable(format!("cannot encode redirect URIs: {e}")))
}

fn grant_types_text(grants: &[GrantType]) -> String {
    grants
        .iter()
        .map(|g| g.as_str())
        .collect::<Vec<_>>()
        .join(" ")
}

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

impl SqlStore {
    /// Ends a transaction that changed application `id`: reads it back, makes every server drop
    /// what it cached of it (its settings, secret or introspection rights), writes the audit
    /// entry, and commits.
    async fn finish_application_change(
        &self,
        mut tx: InvalidatingTx,
        id: i64,
        audit: AuditEntry,
    ) -> StoreResult<Application> {
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
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO applications (client_id, account_id, name, client_type, secret_hash, redirect_uris, \
             grant_types, scopes, implicit_allowed, introspect, service_account_id, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $12) RETURNING id",
        )
        .bind(&app.client_id)
        .bind(app.account_id)
        .bind(&s.name)
        .bind(app.client_type.as_str())
        .bind(app.secret_hash.map(|h| h.as_bytes().to_vec()))
        .bind(redirect_uris_json(&s.redirect_uris)?)
        .bind(grant_types_text(&s.grant_types))
        .bind(s.scopes.to_string())
        .bind(i64::from(s.implicit_allowed))
        .bind(i64::from(s.introspect))
        .bind(s.service_account_id)
        .bind(now)
        .fetch_one(&mut *tx)
        .await
        .map_err(conflict_as("client id"))?;
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
        let row = sqlx::query(&format!(
            "SELECT {APPLICATION_COLUMNS} FROM applications p WHERE p.client_id = $1 AND p.deleted_at IS NULL"
        ))
        .bind(client_id)
        .fetch_optional(&self.read)
        .await
        .map_err(from_sqlx)?;
        row.as_ref().map(application).transpose()
    }

    async fn application_in_account(
        &self,
        account_id: i64,
        id: i64,
    ) -> StoreResult<Option<Application>> {
        let row = sqlx::query(&format!(
            "SELECT {APPLICATION_COLUMNS} FROM applications p \
             WHERE p.id = $1 AND p.account_id = $2 AND p.deleted_at IS NULL"
        ))
        .bind(id)
        .bind(account_id)
        .fetch_optional(&self.read)
        .await
        .map_err(from_sqlx)?;
        row.as_ref().map(application).transpose()
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
        let mut tx = self.begin_invalidating().await.map_err(from_sqlx)?;
        let changed = sqlx::query(
            "UPDATE applications SET name = $1, redirect_uris = $2, grant_types = $3, scopes = $4, \
             implicit_allowed = $5, introspect = $6, service_account_id = $7, updated_at = $8 \
             WHERE id = $9 AND deleted_at IS NULL",
        )
        .bind(&s.name)
        .bind(redirect_uris_json(&s.redirect_uris)?)
        .bind(grant_types_text(&s.grant_types))
        .bind(s.scopes.to_string())
        .bind(i64::from(s.implicit_allowed))
        .bind(i64::from(s.introspect))
        .bind(s.service_account_id)
        .bind(to_millis(now))
        .bind(id)
        .execute(&mut *tx)
        .await
        .map_err(from_sqlx)?;
        if changed.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        self.finish_application_change(tx, id, audit).await
    }

    async fn set_introspect_all_accounts(
        &self,
        id: i64,
        all_accounts: bool,
        now: OffsetDateTime,
        audit: AuditEntry,
    ) -> StoreResult<Application> {
        let mut tx = self.begin_invalidating().await.map_err(from_sqlx)?;
        let changed = sqlx::query(
            "UPDATE applications SET introspect_all_accounts = $1, updated_at = $2 \
             WHERE id = $3 AND deleted_at IS NULL",
        )
        .bind(i64::from(all_accounts))
        .bind(to_millis(now))
        .bind(id)
        .execute(&mut *tx)
        .await
        .map_err(from_sqlx)?;
        if changed.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        self.finish_application_change(tx, id, audit).await
    }

    async fn rotate_application_secret(
        &self,
        id: i64,
        new_hash: TokenHash,
        previous_valid_until: OffsetDateTime,
        now: OffsetDateTime,
        audit: AuditEntry,
    ) -> StoreResult<Application> {
        let mut tx = self.begin_invalidating().await.map_err(from_sqlx)?;
        let changed = sqlx::query(
            "UPDATE applications SET previous_secret_hash = secret_hash, previous_secret_expires_at = $1, \
             secret_hash = $2, updated_at = $3 WHERE id = $4 AND deleted_at IS NULL AND client_type = 'confidential'",
        )
        .bind(to_millis(previous_valid_until))
        .bind(new_hash.as_bytes().to_vec())
        .bind(to_millis(now))
        .bind(id)
        .execute(&mut *tx)
        .await
        .map_err(from_sqlx)?;
        if changed.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        self.finish_application_change(tx, id, audit).await
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
        crate::grants::revoke_grant_ids(&mut tx, &grants, at).await?;
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
