//! Authorization codes, access tokens and refresh tokens.

use std::sync::Arc;

use gatekey_core::audit::AuditEntry;
use gatekey_core::clock::to_millis;
use gatekey_core::oauth::store::TokenStore;
use gatekey_core::oauth::token::{
    CodeRecord, CodeRedemption, IssuedTokens, NewAccessToken, NewCode, NewRefreshToken, TokenRecord,
};
use gatekey_core::scope::ScopeSet;
use gatekey_core::secret::TokenHash;
use gatekey_core::store::{Invalidation, StoreError, StoreResult};
use sqlx::any::AnyRow;
use sqlx::AnyConnection;
use time::OffsetDateTime;

use crate::application_rows::{application, APPLICATION_COLUMNS};
use crate::audits::insert_audit;
use crate::error::{conflict_as, from_sqlx};
use crate::grants::{grant, GRANT_COLUMNS};
use crate::invalidations::InvalidatingTx;
use crate::rows::{self, column, optional_time_column, time_column, ACCOUNT_COLUMNS, USER_COLUMNS};
use crate::SqlStore;

fn scopes(row: &AnyRow, name: &str) -> StoreResult<ScopeSet> {
    let text: String = column(row, name)?;
    ScopeSet::parse(&text).map_err(|_| StoreError::Unavailable("bad token scopes".into()))
}

/// The query of a token (access or refresh) with its grant, application, user, account and
/// role. `refresh_only` names the columns only refresh tokens have (`used_at`, `auth_time`,
/// `sid`), or `None` to read them as NULL.
fn token_query(table: &str, refresh_only: Option<&str>) -> String {
    let (used, auth_time, sid) = match refresh_only {
        Some(t) => (
            format!("{t}.used_at"),
            format!("{t}.auth_time"),
            format!("{t}.sid"),
        ),
        None => ("NULL".to_owned(), "NULL".to_owned(), "NULL".to_owned()),
    };
    format!(
        "SELECT t.id AS t_id, t.family_id AS t_family_id, t.scopes AS t_scopes, t.created_at AS t_created_at, \
         t.expires_at AS t_expires_at, t.revoked_at AS t_revoked_at, {used} AS t_used_at, \
         {auth_time} AS t_auth_time, {sid} AS t_sid, \
         t.audience AS t_audience, \
         {GRANT_COLUMNS}, {APPLICATION_COLUMNS}, {USER_COLUMNS}, {ACCOUNT_COLUMNS}, m.role AS m_role \
         FROM {table} t JOIN grants g ON g.id = t.grant_id JOIN applications p ON p.id = g.application_id \
         JOIN users u ON u.id = g.user_id JOIN accounts a ON a.id = g.account_id \
         LEFT JOIN memberships m ON m.user_id = g.user_id AND m.account_id = g.account_id \
         WHERE t.token_hash = $1"
    )
}

/// A token's audience as stored: a JSON array of strings, like an application's URI lists.
pub(crate) fn audience_json(audience: &[String]) -> StoreResult<String> {
    serde_json::to_string(audience)
        .map_err(|e| StoreError::Unavailable(format!("cannot encode a token audience: {e}")))
}

fn audience_list(row: &AnyRow) -> StoreResult<Vec<String>> {
    let text: String = column(row, "t_audience")?;
    serde_json::from_str(&text)
        .map_err(|_| StoreError::Unavailable("unexpected token audience in the database".into()))
}

fn token_record(row: &AnyRow) -> StoreResult<TokenRecord> {
    let role: Option<String> = column(row, "m_role")?;
    let mut application = application(row)?;
    // A deleted application's tokens are refused through its revoked grants; keep it readable.
    application.secret_hash = None;
    application.previous_secret_hash = None;
    Ok(TokenRecord {
        id: column(row, "t_id")?,
        family_id: column(row, "t_family_id")?,
        scopes: scopes(row, "t_scopes")?,
        created_at: time_column(row, "t_created_at")?,
        expires_at: time_column(row, "t_expires_at")?,
        revoked_at: optional_time_column(row, "t_revoked_at")?,
        used_at: optional_time_column(row, "t_used_at")?,
        auth_time: optional_time_column(row, "t_auth_time")?,
        sid: column(row, "t_sid")?,
        audience: audience_list(row)?,
        grant: grant(row)?,
        application: Arc::new(application),
        user: Arc::new(rows::user(row)?),
        account: Arc::new(rows::account(row)?),
        role: role.as_deref().map(rows::role).transpose()?,
    })
}

pub(crate) async fn insert_access(
    conn: &mut AnyConnection,
    grant_id: i64,
    family_id: Option<i64>,
    token: &NewAccessToken,
) -> StoreResult<i64> {
    sqlx::query_scalar(
        "INSERT INTO access_tokens (token_hash, grant_id, family_id, code_id, scopes, created_at, expires_at, audience) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id",
    )
    .bind(token.hash.as_bytes().to_vec())
    .bind(grant_id)
    .bind(family_id)
    .bind(token.code_id)
    .bind(token.scopes.to_string())
    .bind(to_millis(token.created_at))
    .bind(to_millis(token.expires_at))
    .bind(audience_json(&token.audience)?)
    .fetch_one(conn)
    .await
    .map_err(conflict_as("access token"))
}

pub(crate) async fn insert_refresh(
    conn: &mut AnyConnection,
    grant_id: i64,
    family_id: Option<i64>,
    token: &NewRefreshToken,
) -> StoreResult<(i64, i64)> {
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO refresh_tokens (token_hash, grant_id, family_id, scopes, created_at, expires_at, auth_time, sid, audience) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id",
    )
    .bind(token.hash.as_bytes().to_vec())
    .bind(grant_id)
    .bind(family_id.unwrap_or(0))
    .bind(token.scopes.to_string())
    .bind(to_millis(token.created_at))
    .bind(to_millis(token.expires_at))
    .bind(token.auth_time.map(to_millis))
    .bind(token.sid.as_deref())
    .bind(audience_json(&token.audience)?)
    .fetch_one(&mut *conn)
    .await
    .map_err(conflict_as("refresh token"))?;
    let family_id = match family_id {
        Some(family) => family,
        None => {
            // A new family is named after its first member.
            sqlx::query("UPDATE refresh_tokens SET family_id = id WHERE id = $1")
                .bind(id)
                .execute(&mut *conn)
                .await
                .map_err(from_sqlx)?;
            id
        }
    };
    Ok((id, family_id))
}

/// Stores an authorization code in `conn`; returns its id.
pub(crate) async fn insert_code(conn: &mut AnyConnection, code: &NewCode) -> StoreResult<i64> {
    sqlx::query_scalar(
        "INSERT INTO authorization_codes (code_hash, grant_id, redirect_uri, scopes, code_challenge, created_at, expires_at, \
         nonce, auth_time, sid) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING id",
    )
    .bind(code.hash.as_bytes().to_vec())
    .bind(code.grant_id)
    .bind(&code.redirect_uri)
    .bind(code.scopes.to_string())
    .bind(code.code_challenge.as_deref())
    .bind(to_millis(code.created_at))
    .bind(to_millis(code.expires_at))
    .bind(code.nonce.as_deref())
    .bind(code.auth_time.map(to_millis))
    .bind(code.sid.as_deref())
    .fetch_one(conn)
    .await
    .map_err(conflict_as("authorization code"))
}

/// Spends the code with this hash in `conn`: marks it used unless it already was, and reads
/// it back. The outer error is the database's and fails the transaction; the inner one is a
/// row that cannot be read, and fails only this redemption.
pub(crate) async fn spend_code(
    conn: &mut AnyConnection,
    hash: &TokenHash,
    now: OffsetDateTime,
) -> StoreResult<StoreResult<CodeRedemption>> {
    let spent = sqlx::query(
        "UPDATE authorization_codes SET used_at = $1 WHERE code_hash = $2 AND used_at IS NULL",
    )
    .bind(to_millis(now))
    .bind(hash.as_bytes().to_vec())
    .execute(&mut *conn)
    .await
    .map_err(from_sqlx)?;
    let row = sqlx::query(&format!(
        "SELECT c.id AS c_id, c.redirect_uri AS c_redirect_uri, c.scopes AS c_scopes, \
         c.code_challenge AS c_code_challenge, c.expires_at AS c_expires_at, c.nonce AS c_nonce, \
         c.auth_time AS c_auth_time, c.sid AS c_sid, {GRANT_COLUMNS}, {APPLICATION_COLUMNS} \
         FROM authorization_codes c JOIN grants g ON g.id = c.grant_id JOIN applications p ON p.id = g.application_id \
         WHERE c.code_hash = $1"
    ))
    .bind(hash.as_bytes().to_vec())
    .fetch_optional(&mut *conn)
    .await
    .map_err(from_sqlx)?;
    let Some(row) = row else {
        return Ok(Ok(CodeRedemption::Unknown));
    };
    let first = spent.rows_affected() == 1;
    Ok(code_record(&row).map(|record| {
        if first {
            CodeRedemption::Redeemed(record)
        } else {
            CodeRedemption::Replayed(record)
        }
    }))
}

fn code_record(row: &AnyRow) -> StoreResult<Box<CodeRecord>> {
    Ok(Box::new(CodeRecord {
        id: column(row, "c_id")?,
        grant: grant(row)?,
        application: application(row)?,
        redirect_uri: column(row, "c_redirect_uri")?,
        scopes: scopes(row, "c_scopes")?,
        code_challenge: column(row, "c_code_challenge")?,
        nonce: column(row, "c_nonce")?,
        auth_time: optional_time_column(row, "c_auth_time")?,
        sid: column(row, "c_sid")?,
        expires_at: time_column(row, "c_expires_at")?,
    }))
}

impl TokenStore for SqlStore {
    async fn create_code(&self, code: NewCode) -> StoreResult<i64> {
        self.issue_batcher.create_code(code).await
    }

    async fn redeem_code(
        &self,
        hash: &TokenHash,
        now: OffsetDateTime,
    ) -> StoreResult<CodeRedemption> {
        self.issue_batcher.redeem_code(hash, now).await
    }

    async fn revoke_tokens_of_code(
        &self,
        code_id: i64,
        now: OffsetDateTime,
        audit: AuditEntry,
    ) -> StoreResult<()> {
        let at = to_millis(now);
        let mut tx = self.begin_invalidating().await.map_err(from_sqlx)?;
        let issued: Vec<(i64, Option<i64>)> =
            sqlx::query_as("SELECT id, family_id FROM access_tokens WHERE code_id = $1")
                .bind(code_id)
                .fetch_all(&mut *tx)
                .await
                .map_err(from_sqlx)?;
        for (access_id, family) in issued {
            sqlx::query(
                "UPDATE access_tokens SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL",
            )
            .bind(at)
            .bind(access_id)
            .execute(&mut *tx)
            .await
            .map_err(from_sqlx)?;
            tx.record(Invalidation::AccessToken(access_id)).await?;
            if let Some(family) = family {
                revoke_family_in(&mut tx, family, at).await?;
            }
        }
        insert_audit(&mut tx, audit, None).await?;
        tx.commit().await.map_err(from_sqlx)
    }

    async fn issue_tokens(
        &self,
        grant_id: i64,
        access: NewAccessToken,
        refresh: Option<NewRefreshToken>,
    ) -> StoreResult<IssuedTokens> {
        self.issue_batcher.issue(grant_id, access, refresh).await
    }

    async fn access_token(&self, hash: &TokenHash) -> StoreResult<Option<TokenRecord>> {
        let row = sqlx::query(&token_query("access_tokens", None))
            .bind(hash.as_bytes().to_vec())
            .fetch_optional(&self.read)
            .await
            .map_err(from_sqlx)?;
        row.as_ref().map(token_record).transpose()
    }

    async fn refresh_token(&self, hash: &TokenHash) -> StoreResult<Option<TokenRecord>> {
        let row = sqlx::query(&token_query("refresh_tokens", Some("t")))
            .bind(hash.as_bytes().to_vec())
            .fetch_optional(&self.read)
            .await
            .map_err(from_sqlx)?;
        row.as_ref().map(token_record).transpose()
    }

    async fn rotate_refresh_token(
        &self,
        spent_id: i64,
        family_id: i64,
        grant_id: i64,
        now: OffsetDateTime,
        access: NewAccessToken,
        refresh: NewRefreshToken,
    ) -> StoreResult<Option<IssuedTokens>> {
        let mut tx = self.write.begin().await.map_err(from_sqlx)?;
        let spent = sqlx::query(
            "UPDATE refresh_tokens SET used_at = $1 WHERE id = $2 AND used_at IS NULL AND revoked_at IS NULL",
        )
        .bind(to_millis(now))
        .bind(spent_id)
        .execute(&mut *tx)
        .await
        .map_err(from_sqlx)?;
        if spent.rows_affected() != 1 {
            return Ok(None);
        }
        let (refresh_token_id, _) =
            insert_refresh(&mut tx, grant_id, Some(family_id), &refresh).await?;
        let access_token_id = insert_access(&mut tx, grant_id, Some(family_id), &access).await?;
        tx.commit().await.map_err(from_sqlx)?;
        Ok(Some(IssuedTokens {
            access_token_id,
            refresh_token_id: Some(refresh_token_id),
            family_id: Some(family_id),
        }))
    }

    async fn revoke_family(
        &self,
        family_id: i64,
        now: OffsetDateTime,
        audit: Option<AuditEntry>,
    ) -> StoreResult<()> {
        let mut tx = self.begin_invalidating().await.map_err(from_sqlx)?;
        revoke_family_in(&mut tx, family_id, to_millis(now)).await?;
        if let Some(audit) = audit {
            insert_audit(&mut tx, audit, None).await?;
        }
        tx.commit().await.map_err(from_sqlx)
    }

    async fn revoke_access_token(
        &self,
        id: i64,
        now: OffsetDateTime,
        audit: Option<AuditEntry>,
    ) -> StoreResult<()> {
        let mut tx = self.begin_invalidating().await.map_err(from_sqlx)?;
        let revoked = sqlx::query(
            "UPDATE access_tokens SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL",
        )
        .bind(to_millis(now))
        .bind(id)
        .execute(&mut *tx)
        .await
        .map_err(from_sqlx)?;
        tx.record(Invalidation::AccessToken(id)).await?;
        // A second revocation changes nothing, so it is not recorded as a change.
        if let Some(audit) = audit.filter(|_| revoked.rows_affected() > 0) {
            insert_audit(&mut tx, audit, None).await?;
        }
        tx.commit().await.map_err(from_sqlx)
    }
}

async fn revoke_family_in(tx: &mut InvalidatingTx, family_id: i64, at: i64) -> StoreResult<()> {
    for statement in [
        "UPDATE refresh_tokens SET revoked_at = $1 WHERE family_id = $2 AND revoked_at IS NULL",
        "UPDATE access_tokens SET revoked_at = $1 WHERE family_id = $2 AND revoked_at IS NULL",
    ] {
        sqlx::query(statement)
            .bind(at)
            .bind(family_id)
            .execute(tx.conn())
            .await
            .map_err(from_sqlx)?;
    }
    tx.record(Invalidation::Family(family_id)).await
}
