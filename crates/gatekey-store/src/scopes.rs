//! The scope catalogue and the accounts' role mappings. Every write records its invalidation,
//! so that what roles hold is read again by every server, with the credentials checked under it.

use gatekey_core::audit::AuditEntry;
use gatekey_core::clock::to_millis;
use gatekey_core::role::{Role, RoleSet};
use gatekey_core::scope::{ScopeName, ScopeSet};
use gatekey_core::scope_catalogue::{
    CatalogueChange, CatalogueEntry, NewCatalogueEntry, RoleOverride, ScopeStore,
};
use gatekey_core::store::{Invalidation, StoreError, StoreResult};
use sqlx::any::AnyRow;
use time::OffsetDateTime;

use crate::audits::insert_audit;
use crate::error::{conflict_as, from_sqlx};
use crate::rows::{column, time_column, RowResult};
use crate::SqlStore;

const ENTRY_COLUMNS: &str = "name, description, scope_group, default_roles, created_at, updated_at";

fn corrupt(what: &str) -> StoreError {
    StoreError::Unavailable(format!("unexpected {what} in the scope catalogue"))
}

fn entry(row: &AnyRow) -> RowResult<CatalogueEntry> {
    let name: String = column(row, "name")?;
    let roles: String = column(row, "default_roles")?;
    Ok(CatalogueEntry {
        name: ScopeName::parse(&name).map_err(|_| corrupt("scope name"))?,
        description: column(row, "description")?,
        group: column(row, "scope_group")?,
        default_roles: RoleSet::parse(&roles).map_err(|_| corrupt("role"))?,
        created_at: time_column(row, "created_at")?,
        updated_at: time_column(row, "updated_at")?,
    })
}

fn role_override(row: &AnyRow) -> RowResult<RoleOverride> {
    let role: String = column(row, "role")?;
    let scopes: String = column(row, "scopes")?;
    Ok(RoleOverride {
        role: role.parse().map_err(|_| corrupt("role"))?,
        scopes: ScopeSet::parse(&scopes).map_err(|_| corrupt("mapped scope"))?,
        updated_at: time_column(row, "updated_at")?,
    })
}

impl ScopeStore for SqlStore {
    async fn scope_catalogue(&self) -> StoreResult<Vec<CatalogueEntry>> {
        let found = sqlx::query(&format!("SELECT {ENTRY_COLUMNS} FROM scopes ORDER BY name"))
            .fetch_all(&self.read)
            .await
            .map_err(from_sqlx)?;
        found.iter().map(entry).collect()
    }

    async fn create_scope(
        &self,
        new: NewCatalogueEntry,
        audit: AuditEntry,
    ) -> StoreResult<CatalogueEntry> {
        let now = to_millis(new.created_at);
        let mut tx = self.begin_invalidating().await.map_err(from_sqlx)?;
        let row = sqlx::query(&format!(
            "INSERT INTO scopes (name, description, scope_group, default_roles, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $5) RETURNING {ENTRY_COLUMNS}"
        ))
        .bind(new.name.as_str())
        .bind(&new.description)
        .bind(new.group.as_deref())
        .bind(new.default_roles.to_string())
        .bind(now)
        .fetch_one(&mut *tx)
        .await
        .map_err(conflict_as("scope"))?;
        let created = entry(&row)?;
        tx.record(Invalidation::ScopeCatalogue).await?;
        insert_audit(&mut tx, audit, None).await?;
        tx.commit().await.map_err(from_sqlx)?;
        Ok(created)
    }

    async fn update_scope(
        &self,
        name: &ScopeName,
        change: CatalogueChange,
        now: OffsetDateTime,
        audit: AuditEntry,
    ) -> StoreResult<CatalogueEntry> {
        let (set_group, group) = match change.group {
            Some(group) => (1_i64, group),
            None => (0, None),
        };
        let mut tx = self.begin_invalidating().await.map_err(from_sqlx)?;
        let row = sqlx::query(&format!(
            "UPDATE scopes SET description = COALESCE($1, description), \
             scope_group = CASE WHEN $2 = 1 THEN $3 ELSE scope_group END, \
             default_roles = COALESCE($4, default_roles), updated_at = $5 \
             WHERE name = $6 RETURNING {ENTRY_COLUMNS}"
        ))
        .bind(change.description)
        .bind(set_group)
        .bind(group)
        .bind(change.default_roles.map(|roles| roles.to_string()))
        .bind(to_millis(now))
        .bind(name.as_str())
        .fetch_optional(&mut *tx)
        .await
        .map_err(from_sqlx)?;
        let updated = entry(&row.ok_or(StoreError::NotFound)?)?;
        tx.record(Invalidation::ScopeCatalogue).await?;
        insert_audit(&mut tx, audit, None).await?;
        tx.commit().await.map_err(from_sqlx)?;
        Ok(updated)
    }

    async fn delete_scope(&self, name: &ScopeName, audit: AuditEntry) -> StoreResult<()> {
        let mut tx = self.begin_invalidating().await.map_err(from_sqlx)?;
        let deleted = sqlx::query("DELETE FROM scopes WHERE name = $1")
            .bind(name.as_str())
            .execute(&mut *tx)
            .await
            .map_err(from_sqlx)?;
        if deleted.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        tx.record(Invalidation::ScopeCatalogue).await?;
        insert_audit(&mut tx, audit, None).await?;
        tx.commit().await.map_err(from_sqlx)?;
        Ok(())
    }

    async fn role_overrides(&self, account_id: i64) -> StoreResult<Vec<RoleOverride>> {
        let found =
            sqlx::query("SELECT role, scopes, updated_at FROM role_scopes WHERE account_id = $1")
                .bind(account_id)
                .fetch_all(&self.read)
                .await
                .map_err(from_sqlx)?;
        found.iter().map(role_override).collect()
    }

    async fn set_role_override(
        &self,
        account_id: i64,
        role: Role,
        scopes: &ScopeSet,
        now: OffsetDateTime,
        audit: AuditEntry,
    ) -> StoreResult<()> {
        let mut tx = self.begin_invalidating().await.map_err(from_sqlx)?;
        sqlx::query(
            "INSERT INTO role_scopes (account_id, role, scopes, updated_at) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (account_id, role) DO UPDATE SET scopes = excluded.scopes, \
             updated_at = excluded.updated_at",
        )
        .bind(account_id)
        .bind(role.as_str())
        .bind(scopes.to_string())
        .bind(to_millis(now))
        .execute(&mut *tx)
        .await
        .map_err(from_sqlx)?;
        tx.record(Invalidation::AccountScopes(account_id)).await?;
        insert_audit(&mut tx, audit, None).await?;
        tx.commit().await.map_err(from_sqlx)?;
        Ok(())
    }

    async fn remove_role_override(
        &self,
        account_id: i64,
        role: Role,
        audit: AuditEntry,
    ) -> StoreResult<bool> {
        let mut tx = self.begin_invalidating().await.map_err(from_sqlx)?;
        let removed = sqlx::query("DELETE FROM role_scopes WHERE account_id = $1 AND role = $2")
            .bind(account_id)
            .bind(role.as_str())
            .execute(&mut *tx)
            .await
            .map_err(from_sqlx)?;
        if removed.rows_affected() == 0 {
            return Ok(false);
        }
        tx.record(Invalidation::AccountScopes(account_id)).await?;
        insert_audit(&mut tx, audit, None).await?;
        tx.commit().await.map_err(from_sqlx)?;
        Ok(true)
    }
}
