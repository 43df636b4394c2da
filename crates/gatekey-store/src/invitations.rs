//! Invitations. Each way an invitation ends is one `UPDATE … WHERE status = 'pending' AND
//! expires_at > now` in the transaction that does what the ending means, so a link is used at
//! most once even when two requests race.

use gatekey_core::account::Account;
use gatekey_core::audit::AuditEntry;
use gatekey_core::clock::to_millis;
use gatekey_core::invitation::{
    Invitation, InvitationCreated, InvitationEnded, InvitationStatus, InvitationStore,
    NewInvitation,
};
use gatekey_core::page::{Page, PageRequest};
use gatekey_core::secret::TokenHash;
use gatekey_core::store::{NewUser, StoreError, StoreResult};
use gatekey_core::user::{Member, Membership, UserKind};
use sqlx::any::AnyRow;
use sqlx::AnyConnection;
use time::OffsetDateTime;

use crate::audits::insert_audit;
use crate::error::{conflict_as, from_sqlx};
use crate::query::{fetch_page, rows_changed, Listing};
use crate::rows::{self, column, time_column, ACCOUNT_COLUMNS};
use crate::users::{insert_membership, insert_user};
use crate::SqlStore;

/// `invitations` columns, prefixed `i_`.
const INVITATION_COLUMNS: &str = "i.id AS i_id, i.account_id AS i_account_id, i.email AS i_email, \
     i.name AS i_name, i.role AS i_role, i.status AS i_status, i.secret_hash AS i_secret_hash, \
     i.invited_by AS i_invited_by, i.created_at AS i_created_at, i.expires_at AS i_expires_at";

fn invitation(row: &AnyRow) -> StoreResult<Invitation> {
    let hash: Vec<u8> = column(row, "i_secret_hash")?;
    let hash: [u8; 32] = hash
        .try_into()
        .map_err(|_| StoreError::Unavailable("bad invitation hash".into()))?;
    let status: String = column(row, "i_status")?;
    let role: String = column(row, "i_role")?;
    Ok(Invitation {
        id: column(row, "i_id")?,
        account_id: column(row, "i_account_id")?,
        email: column(row, "i_email")?,
        name: column(row, "i_name")?,
        role: rows::role(&role)?,
        status: InvitationStatus::parse(&status).ok_or_else(|| {
            StoreError::Unavailable(format!("unexpected invitation status {status:?}"))
        })?,
        hash: TokenHash::from_bytes(hash),
        invited_by: column(row, "i_invited_by")?,
        created_at: time_column(row, "i_created_at")?,
        expires_at: time_column(row, "i_expires_at")?,
    })
}

async fn select_invitation(conn: &mut AnyConnection, id: i64) -> StoreResult<Invitation> {
    let row = sqlx::query(&format!(
        "SELECT {INVITATION_COLUMNS} FROM invitations i WHERE i.id = $1"
    ))
    .bind(id)
    .fetch_one(conn)
    .await
    .map_err(from_sqlx)?;
    invitation(&row)
}

/// Ends invitation `id` with `status` if it is pending (and, unless withdrawing, unexpired).
/// Returns whether it did.
async fn end_invitation(
    conn: &mut AnyConnection,
    id: i64,
    account_id: Option<i64>,
    status: InvitationStatus,
    now: OffsetDateTime,
    expired_too: bool,
) -> StoreResult<bool> {
    let ended = rows_changed(
        sqlx::query(
            "UPDATE invitations SET status = $1, ended_at = $2 \
         WHERE id = $3 AND status = 'pending' AND ($4 IS NULL OR account_id = $4) \
         AND ($5 = 1 OR expires_at > $2)",
        )
        .bind(status.as_str())
        .bind(to_millis(now))
        .bind(id)
        .bind(account_id)
        .bind(i64::from(expired_too)),
        conn,
    )
    .await?;
    Ok(ended > 0)
}

async fn is_member_by_email(
    conn: &mut AnyConnection,
    account_id: i64,
    email: &str,
) -> StoreResult<bool> {
    let members: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM memberships m JOIN users u ON u.id = m.user_id \
         WHERE m.account_id = $1 AND u.email = $2",
    )
    .bind(account_id)
    .bind(email)
    .fetch_one(conn)
    .await
    .map_err(from_sqlx)?;
    Ok(members > 0)
}

impl InvitationStore for SqlStore {
    async fn create_invitation(
        &self,
        new: NewInvitation,
        audit: AuditEntry,
    ) -> StoreResult<InvitationCreated> {
        let mut tx = self.write.begin().await.map_err(from_sqlx)?;
        if is_member_by_email(&mut tx, new.account_id, &new.email).await? {
            return Ok(InvitationCreated::AlreadyMember);
        }
        // A repeat invitation replaces the pending one: its link stops working.
        sqlx::query(
            "UPDATE invitations SET status = 'replaced', ended_at = $1 \
             WHERE account_id = $2 AND email = $3 AND status = 'pending'",
        )
        .bind(to_millis(new.created_at))
        .bind(new.account_id)
        .bind(&new.email)
        .execute(&mut *tx)
        .await
        .map_err(from_sqlx)?;
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO invitations (account_id, email, name, role, status, secret_hash, \
             invited_by, created_at, expires_at) \
             VALUES ($1, $2, $3, $4, 'pending', $5, $6, $7, $8) RETURNING id",
        )
        .bind(new.account_id)
        .bind(&new.email)
        .bind(&new.name)
        .bind(new.role.as_str())
        .bind(new.hash.as_bytes().to_vec())
        .bind(new.invited_by)
        .bind(to_millis(new.created_at))
        .bind(to_millis(new.expires_at))
        .fetch_one(&mut *tx)
        .await
        .map_err(conflict_as("invitation"))?;
        insert_audit(&mut tx, audit.in_account(new.account_id), Some(id)).await?;
        let created = select_invitation(&mut tx, id).await?;
        tx.commit().await.map_err(from_sqlx)?;
        Ok(InvitationCreated::Created(created))
    }

    async fn invitation_by_hash(
        &self,
        hash: &TokenHash,
    ) -> StoreResult<Option<(Invitation, Account)>> {
        let row = sqlx::query(&format!(
            "SELECT {INVITATION_COLUMNS}, {ACCOUNT_COLUMNS} FROM invitations i \
             JOIN accounts a ON a.id = i.account_id WHERE i.secret_hash = $1"
        ))
        .bind(hash.as_bytes().to_vec())
        .fetch_optional(&self.read)
        .await
        .map_err(from_sqlx)?;
        row.map(|row| Ok((invitation(&row)?, rows::account(&row)?)))
            .transpose()
    }

    async fn pending_invitations(
        &self,
        account_id: i64,
        now: OffsetDateTime,
        page: PageRequest,
    ) -> StoreResult<Page<Invitation>> {
        let filter = "i.account_id = $1 AND i.status = 'pending' AND i.expires_at > $2";
        let listing = Listing {
            select: &format!(
                "SELECT {INVITATION_COLUMNS} FROM invitations i WHERE {filter} \
                 ORDER BY i.id LIMIT $3 OFFSET $4"
            ),
            count: &format!("SELECT COUNT(*) AS total FROM invitations i WHERE {filter}"),
        };
        fetch_page(
            &self.read,
            listing,
            |query| query.bind(account_id).bind(to_millis(now)),
            page,
            invitation,
        )
        .await
    }

    async fn withdraw_invitation(
        &self,
        account_id: i64,
        id: i64,
        now: OffsetDateTime,
        audit: AuditEntry,
    ) -> StoreResult<InvitationEnded<Invitation>> {
        let mut tx = self.write.begin().await.map_err(from_sqlx)?;
        let status = InvitationStatus::Withdrawn;
        if !end_invitation(&mut tx, id, Some(account_id), status, now, true).await? {
            return Ok(InvitationEnded::Gone);
        }
        insert_audit(&mut tx, audit.in_account(account_id).target(id), None).await?;
        let withdrawn = select_invitation(&mut tx, id).await?;
        tx.commit().await.map_err(from_sqlx)?;
        Ok(InvitationEnded::Done(withdrawn))
    }

    async fn decline_invitation(
        &self,
        id: i64,
        now: OffsetDateTime,
        audit: AuditEntry,
    ) -> StoreResult<InvitationEnded<()>> {
        let mut tx = self.write.begin().await.map_err(from_sqlx)?;
        let status = InvitationStatus::Declined;
        if !end_invitation(&mut tx, id, None, status, now, false).await? {
            return Ok(InvitationEnded::Gone);
        }
        let declined = select_invitation(&mut tx, id).await?;
        insert_audit(
            &mut tx,
            audit.in_account(declined.account_id).target(id),
            None,
        )
        .await?;
        tx.commit().await.map_err(from_sqlx)?;
        Ok(InvitationEnded::Done(()))
    }

    async fn accept_invitation(
        &self,
        id: i64,
        user_id: i64,
        now: OffsetDateTime,
        audit: AuditEntry,
    ) -> StoreResult<InvitationEnded<Membership>> {
        let mut tx = self.write.begin().await.map_err(from_sqlx)?;
        let status = InvitationStatus::Accepted;
        if !end_invitation(&mut tx, id, None, status, now, false).await? {
            return Ok(InvitationEnded::Gone);
        }
        let accepted = select_invitation(&mut tx, id).await?;
        let kind: String = sqlx::query_scalar("SELECT kind FROM users WHERE id = $1")
            .bind(user_id)
            .fetch_one(&mut *tx)
            .await
            .map_err(from_sqlx)?;
        if kind != UserKind::Person.as_str() {
            return Ok(InvitationEnded::Gone);
        }
        let membership = match insert_membership(
            &mut tx,
            user_id,
            accepted.account_id,
            accepted.role,
            now,
        )
        .await
        {
            Ok(membership) => membership,
            // Dropping the transaction rolls the ending back: the invitation stays pending.
            Err(StoreError::Conflict(_)) => return Ok(InvitationEnded::AlreadyMember),
            Err(error) => return Err(error),
        };
        let audit = audit.in_account(accepted.account_id).target(id);
        insert_audit(&mut tx, audit, None).await?;
        tx.commit().await.map_err(from_sqlx)?;
        Ok(InvitationEnded::Done(membership))
    }

    async fn accept_invitation_as_new_person(
        &self,
        id: i64,
        user: NewUser,
        now: OffsetDateTime,
        audit: AuditEntry,
    ) -> StoreResult<InvitationEnded<Member>> {
        let mut tx = self.write.begin().await.map_err(from_sqlx)?;
        let status = InvitationStatus::Accepted;
        if !end_invitation(&mut tx, id, None, status, now, false).await? {
            return Ok(InvitationEnded::Gone);
        }
        let accepted = select_invitation(&mut tx, id).await?;
        if user.email != accepted.email {
            return Ok(InvitationEnded::Gone);
        }
        let audit = audit.target(id);
        let member =
            match insert_user(&mut tx, user, accepted.account_id, accepted.role, audit).await {
                Ok(member) => member,
                Err(StoreError::Conflict(_)) => return Ok(InvitationEnded::LoginExists),
                Err(error) => return Err(error),
            };
        tx.commit().await.map_err(from_sqlx)?;
        Ok(InvitationEnded::Done(member))
    }
}
