//! Users and memberships.

use gatekey_core::account::Account;
use gatekey_core::audit::AuditEntry;
use gatekey_core::clock::to_millis;
use gatekey_core::page::{Page, PageRequest};
use gatekey_core::role::Role;
use gatekey_core::store::{Invalidation, NewUser, RoleChange, StoreError, StoreResult, UserStore};
use gatekey_core::user::{Member, Membership, User, UserKind};
use sqlx::AnyConnection;
use time::OffsetDateTime;

use crate::api_keys::{revoke_descendants, Lineage};
use crate::audits::insert_audit;
use crate::error::{conflict_as, from_sqlx};
use crate::query::{change_one, fetch_page, rows_changed, Listing};
use crate::rows::{self, returning, ACCOUNT_COLUMNS, MEMBERSHIP_COLUMNS, USER_COLUMNS};
use crate::SqlStore;

pub(crate) async fn insert_membership(
    conn: &mut AnyConnection,
    user_id: i64,
    account_id: i64,
    role: Role,
    now: OffsetDateTime,
) -> StoreResult<Membership> {
    let row = sqlx::query(&format!(
        "INSERT INTO memberships (user_id, account_id, role, created_at) VALUES ($1, $2, $3, $4) RETURNING {}",
        returning(MEMBERSHIP_COLUMNS)
    ))
    .bind(user_id)
    .bind(account_id)
    .bind(role.as_str())
    .bind(to_millis(now))
    .fetch_one(conn)
    .await
    .map_err(conflict_as("membership"))?;
    rows::membership(&row)
}

async fn select_user(conn: &mut AnyConnection, id: i64) -> StoreResult<User> {
    let row = sqlx::query(&format!(
        "SELECT {USER_COLUMNS} FROM users u WHERE u.id = $1"
    ))
    .bind(id)
    .fetch_one(conn)
    .await
    .map_err(from_sqlx)?;
    rows::user(&row)
}

async fn select_member(
    conn: &mut AnyConnection,
    account_id: i64,
    user_id: i64,
) -> StoreResult<Option<Member>> {
    let row = sqlx::query(&format!(
        "SELECT {USER_COLUMNS}, {MEMBERSHIP_COLUMNS} FROM memberships m JOIN users u ON u.id = m.user_id \
         WHERE m.account_id = $1 AND m.user_id = $2"
    ))
    .bind(account_id)
    .bind(user_id)
    .fetch_optional(conn)
    .await
    .map_err(from_sqlx)?;
    row.as_ref().map(rows::member).transpose()
}

/// Writes `audit` once in each of the user's accounts, so every account's admins see it.
pub(crate) async fn insert_audit_in_user_accounts(
    conn: &mut AnyConnection,
    user_id: i64,
    audit: AuditEntry,
) -> StoreResult<()> {
    let accounts: Vec<i64> =
        sqlx::query_scalar("SELECT account_id FROM memberships WHERE user_id = $1 ORDER BY id")
            .bind(user_id)
            .fetch_all(&mut *conn)
            .await
            .map_err(from_sqlx)?;
    if accounts.is_empty() {
        return insert_audit(conn, audit, None).await;
    }
    for account_id in accounts {
        insert_audit(&mut *conn, audit.clone().in_account(account_id), None).await?;
    }
    Ok(())
}

/// Inserts a user, their membership in `account_id` and the audit event in the caller's
/// transaction.
pub(crate) async fn insert_user(
    conn: &mut AnyConnection,
    user: NewUser,
    account_id: i64,
    role: Role,
    audit: AuditEntry,
) -> StoreResult<Member> {
    let row = sqlx::query(&format!(
        "INSERT INTO users (email, name, kind, password_hash, created_at) VALUES ($1, $2, $3, $4, $5) RETURNING {}",
        returning(USER_COLUMNS)
    ))
    .bind(&user.email)
    .bind(&user.name)
    .bind(user.kind.as_str())
    .bind(user.password_hash.as_deref())
    .bind(to_millis(user.created_at))
    .fetch_one(&mut *conn)
    .await
    .map_err(conflict_as("user email"))?;
    let created = rows::user(&row)?;
    let membership =
        insert_membership(&mut *conn, created.id, account_id, role, user.created_at).await?;
    insert_audit(conn, audit.in_account(account_id), Some(created.id)).await?;
    Ok(Member {
        user: created,
        membership,
    })
}

impl UserStore for SqlStore {
    async fn create_user(
        &self,
        user: NewUser,
        account_id: i64,
        role: Role,
        audit: AuditEntry,
    ) -> StoreResult<Member> {
        let mut tx = self.write.begin().await.map_err(from_sqlx)?;
        let member = insert_user(&mut tx, user, account_id, role, audit).await?;
        tx.commit().await.map_err(from_sqlx)?;
        Ok(member)
    }

    async fn add_membership(
        &self,
        user_id: i64,
        account_id: i64,
        role: Role,
        now: OffsetDateTime,
        audit: AuditEntry,
    ) -> StoreResult<Membership> {
        let mut tx = self.write.begin().await.map_err(from_sqlx)?;
        let user = select_user(&mut tx, user_id).await?;
        if user.kind == UserKind::Service {
            // A service account belongs to exactly one account.
            return Err(StoreError::Conflict("membership of this service account"));
        }
        let membership = insert_membership(&mut tx, user_id, account_id, role, now).await?;
        insert_audit(&mut tx, audit.in_account(account_id), Some(membership.id)).await?;
        tx.commit().await.map_err(from_sqlx)?;
        Ok(membership)
    }

    async fn user_by_email(&self, email: &str) -> StoreResult<Option<User>> {
        let row = sqlx::query(&format!(
            "SELECT {USER_COLUMNS} FROM users u WHERE u.email = $1"
        ))
        .bind(email)
        .fetch_optional(&self.read)
        .await
        .map_err(from_sqlx)?;
        row.as_ref().map(rows::user).transpose()
    }

    async fn member(&self, account_id: i64, user_id: i64) -> StoreResult<Option<Member>> {
        let mut conn = self.read.acquire().await.map_err(from_sqlx)?;
        select_member(&mut conn, account_id, user_id).await
    }

    async fn memberships_of(&self, user_id: i64) -> StoreResult<Vec<(Membership, Account)>> {
        let found = sqlx::query(&format!(
            "SELECT {MEMBERSHIP_COLUMNS}, {ACCOUNT_COLUMNS} FROM memberships m JOIN accounts a ON a.id = m.account_id \
             WHERE m.user_id = $1 ORDER BY m.id"
        ))
        .bind(user_id)
        .fetch_all(&self.read)
        .await
        .map_err(from_sqlx)?;
        found
            .iter()
            .map(|row| Ok((rows::membership(row)?, rows::account(row)?)))
            .collect()
    }

    async fn list_members(
        &self,
        account_id: Option<i64>,
        kind: Option<UserKind>,
        page: PageRequest,
    ) -> StoreResult<Page<Member>> {
        // NULL parameters mean "any": one statement for every filter combination.
        let filter = "($1 IS NULL OR m.account_id = $1) AND ($2 IS NULL OR u.kind = $2)";
        let listing = Listing {
            select: &format!(
                "SELECT {USER_COLUMNS}, {MEMBERSHIP_COLUMNS} FROM memberships m JOIN users u ON u.id = m.user_id \
                 WHERE {filter} ORDER BY m.id LIMIT $3 OFFSET $4"
            ),
            count: &format!(
                "SELECT COUNT(*) AS total FROM memberships m JOIN users u ON u.id = m.user_id WHERE {filter}"
            ),
        };
        fetch_page(
            &self.read,
            listing,
            |query| query.bind(account_id).bind(kind.map(UserKind::as_str)),
            page,
            rows::member,
        )
        .await
    }

    async fn set_password(
        &self,
        user_id: i64,
        password_hash: &str,
        keep_session: Option<i64>,
        audit: AuditEntry,
    ) -> StoreResult<()> {
        let mut tx = self.begin_invalidating().await.map_err(from_sqlx)?;
        let set_hash = sqlx::query(
            "UPDATE users SET password_hash = $1, must_change_password = 0 WHERE id = $2 AND kind = 'person'",
        )
        .bind(password_hash)
        .bind(user_id);
        change_one(set_hash, &mut *tx).await?;
        let ended: Vec<i64> =
            sqlx::query_scalar("DELETE FROM sessions WHERE user_id = $1 AND id <> $2 RETURNING id")
                .bind(user_id)
                .bind(keep_session.unwrap_or(0))
                .fetch_all(&mut *tx)
                .await
                .map_err(from_sqlx)?;
        for session in ended {
            tx.record(Invalidation::Session(session)).await?;
        }
        insert_audit_in_user_accounts(&mut tx, user_id, audit).await?;
        tx.commit().await.map_err(from_sqlx)
    }

    async fn require_password_change(&self, user_id: i64) -> StoreResult<()> {
        change_one(
            sqlx::query(
                "UPDATE users SET must_change_password = 1 WHERE id = $1 AND kind = 'person'",
            )
            .bind(user_id),
            &self.write,
        )
        .await?;
        Ok(())
    }

    async fn enable_user(&self, user_id: i64, audit: AuditEntry) -> StoreResult<User> {
        let mut tx = self.write.begin().await.map_err(from_sqlx)?;
        let changed = rows_changed(
            sqlx::query(
                "UPDATE users SET disabled_at = NULL WHERE id = $1 AND disabled_at IS NOT NULL",
            )
            .bind(user_id),
            &mut *tx,
        )
        .await?;
        let user = select_user(&mut tx, user_id).await?;
        if changed > 0 {
            insert_audit_in_user_accounts(&mut tx, user_id, audit).await?;
        }
        tx.commit().await.map_err(from_sqlx)?;
        Ok(user)
    }

    async fn change_role(
        &self,
        account_id: i64,
        user_id: i64,
        role: Role,
        audit: AuditEntry,
    ) -> StoreResult<RoleChange> {
        let mut tx = self.begin_invalidating().await.map_err(from_sqlx)?;
        // The account's row is the lock that serialises its role changes, so two owners
        // demoting each other concurrently cannot both see the other still an owner.
        sqlx::query("UPDATE accounts SET name = name WHERE id = $1")
            .bind(account_id)
            .execute(&mut *tx)
            .await
            .map_err(from_sqlx)?;
        let Some(before) = select_member(&mut tx, account_id, user_id).await? else {
            return Ok(RoleChange::NotFound);
        };
        if before.membership.role == role {
            return Ok(RoleChange::Changed(before));
        }
        if before.membership.role == Role::Owner {
            let owners: i64 = sqlx::query_scalar(
                "SELECT COUNT(*) FROM memberships WHERE account_id = $1 AND role = 'owner'",
            )
            .bind(account_id)
            .fetch_one(&mut *tx)
            .await
            .map_err(from_sqlx)?;
            if owners <= 1 {
                return Ok(RoleChange::LastOwner);
            }
        }
        sqlx::query("UPDATE memberships SET role = $1 WHERE account_id = $2 AND user_id = $3")
            .bind(role.as_str())
            .bind(account_id)
            .bind(user_id)
            .execute(&mut *tx)
            .await
            .map_err(from_sqlx)?;
        tx.record(Invalidation::User(user_id)).await?;
        insert_audit(&mut tx, audit.in_account(account_id).target(user_id), None).await?;
        let after = select_member(&mut tx, account_id, user_id)
            .await?
            .ok_or(StoreError::NotFound)?;
        tx.commit().await.map_err(from_sqlx)?;
        Ok(RoleChange::Changed(after))
    }

    async fn disable_user(
        &self,
        user_id: i64,
        now: OffsetDateTime,
        audit: AuditEntry,
    ) -> StoreResult<User> {
        let mut tx = self.begin_invalidating().await.map_err(from_sqlx)?;
        let changed = rows_changed(
            sqlx::query("UPDATE users SET disabled_at = $1 WHERE id = $2 AND disabled_at IS NULL")
                .bind(to_millis(now))
                .bind(user_id),
            &mut *tx,
        )
        .await?;
        let user = select_user(&mut tx, user_id).await?;
        if changed > 0 {
            sqlx::query("DELETE FROM sessions WHERE user_id = $1")
                .bind(user_id)
                .execute(&mut *tx)
                .await
                .map_err(from_sqlx)?;
            tx.record(Invalidation::User(user_id)).await?;
            revoke_descendants(
                &mut tx,
                Lineage::OfUser(user_id),
                now,
                &audit,
                &format!("revoked because user {user_id}, whose key created it, was disabled"),
            )
            .await?;
            insert_audit_in_user_accounts(&mut tx, user_id, audit).await?;
        }
        tx.commit().await.map_err(from_sqlx)?;
        Ok(user)
    }
}
