//! Group commit for token issuance.
//!
//! Each issued token must be durable before it is handed out, and on SQLite a durable commit
//! costs an fsync. Issuing one token per transaction would cap issuance at the disk's fsync
//! rate; instead one task takes every issuance waiting at that moment and writes them in one
//! transaction, so under load many tokens share each fsync while a lone request still commits
//! at once.

use gatekey_core::oauth::token::{IssuedTokens, NewAccessToken, NewRefreshToken};
use gatekey_core::store::{StoreError, StoreResult};
use tokio::sync::{mpsc, oneshot};

use gatekey_core::clock::to_millis;
use sqlx::Row;

use crate::error::from_sqlx;
use crate::gated_pool::GatedPool;
use crate::tokens::{audience_json, insert_access, insert_refresh};

/// Most issuances written in one transaction.
const MAX_BATCH: usize = 512;

struct IssueJob {
    grant_id: i64,
    access: NewAccessToken,
    refresh: Option<NewRefreshToken>,
    reply: oneshot::Sender<StoreResult<IssuedTokens>>,
}

/// A handle on the issuing task; cheap to clone.
#[derive(Clone)]
pub(crate) struct IssueBatcher {
    jobs: mpsc::Sender<IssueJob>,
}

impl std::fmt::Debug for IssueBatcher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("IssueBatcher")
    }
}

impl IssueBatcher {
    /// Starts the issuing task on `pool`. It ends when every handle is dropped.
    pub(crate) fn spawn(pool: GatedPool) -> Self {
        let (jobs, mut queue) = mpsc::channel::<IssueJob>(4 * MAX_BATCH);
        tokio::spawn(async move {
            while let Some(first) = queue.recv().await {
                let mut batch = vec![first];
                while batch.len() < MAX_BATCH {
                    match queue.try_recv() {
                        Ok(job) => batch.push(job),
                        Err(_) => break,
                    }
                }
                write_batch(&pool, batch).await;
            }
        });
        Self { jobs }
    }

    /// Issues tokens; returns once they are committed.
    pub(crate) async fn issue(
        &self,
        grant_id: i64,
        access: NewAccessToken,
        refresh: Option<NewRefreshToken>,
    ) -> StoreResult<IssuedTokens> {
        let (reply, answer) = oneshot::channel();
        let job = IssueJob {
            grant_id,
            access,
            refresh,
            reply,
        };
        self.jobs
            .send(job)
            .await
            .map_err(|_| StoreError::Unavailable("the token writer has stopped".into()))?;
        answer
            .await
            .map_err(|_| StoreError::Unavailable("the token writer has stopped".into()))?
    }
}

/// Rows per multi-row insert: 7 parameters each, well under SQLite's limit.
const ROWS_PER_INSERT: usize = 100;

/// Writes a batch in one transaction and answers every job: all succeed or all fail. Access
/// tokens without a refresh token (client credentials) go in multi-row inserts, one statement
/// per hundred tokens.
async fn write_batch(pool: &GatedPool, batch: Vec<IssueJob>) {
    let written = async {
        let mut tx = pool.begin().await.map_err(from_sqlx)?;
        let mut issued: Vec<Option<IssuedTokens>> = vec![None; batch.len()];
        let (plain, with_refresh): (Vec<usize>, Vec<usize>) = (0..batch.len()).partition(|&i| batch[i].refresh.is_none());
        for &i in &with_refresh {
            let job = &batch[i];
            let (refresh_token_id, family_id) = match &job.refresh {
                Some(refresh) => {
                    let (id, family) = insert_refresh(&mut tx, job.grant_id, None, refresh).await?;
                    (Some(id), Some(family))
                }
                None => (None, None),
            };
            let access_token_id = insert_access(&mut tx, job.grant_id, family_id, &job.access).await?;
            issued[i] = Some(IssuedTokens { access_token_id, refresh_token_id, family_id });
        }
        for chunk in plain.chunks(ROWS_PER_INSERT) {
            let rows: Vec<String> = (0..chunk.len())
                .map(|n| {
                    let b = n * 8;
                    format!("(${}, ${}, ${}, ${}, ${}, ${}, ${}, ${})", b + 1, b + 2, b + 3, b + 4, b + 5, b + 6, b + 7, b + 8)
                })
                .collect();
            let sql = format!(
                "INSERT INTO access_tokens (token_hash, grant_id, family_id, code_id, scopes, created_at, expires_at, audience) \
                 VALUES {} RETURNING id, token_hash",
                rows.join(", ")
            );
            let mut query = sqlx::query(&sql);
            for &i in chunk {
                let access = &batch[i].access;
                query = query
                    .bind(access.hash.as_bytes().to_vec())
                    .bind(batch[i].grant_id)
                    .bind(None::<i64>)
                    .bind(access.code_id)
                    .bind(access.scopes.to_string())
                    .bind(to_millis(access.created_at))
                    .bind(to_millis(access.expires_at))
                    .bind(audience_json(&access.audience)?);
            }
            // RETURNING gives no order guarantee: match rows back by their digest.
            for row in query.fetch_all(&mut *tx).await.map_err(from_sqlx)? {
                let id: i64 = row.try_get("id").map_err(from_sqlx)?;
                let hash: Vec<u8> = row.try_get("token_hash").map_err(from_sqlx)?;
                if let Some(&i) = chunk.iter().find(|&&i| batch[i].access.hash.as_bytes().as_slice() == hash.as_slice()) {
                    issued[i] = Some(IssuedTokens { access_token_id: id, refresh_token_id: None, family_id: None });
                }
            }
        }
        tx.commit().await.map_err(from_sqlx)?;
        issued
            .into_iter()
            .collect::<Option<Vec<_>>>()
            .ok_or_else(|| StoreError::Unavailable("an issued token was not returned".into()))
    }
    .await;
    match written {
        Ok(issued) => {
            for (job, tokens) in batch.into_iter().zip(issued) {
                let _ = job.reply.send(Ok(tokens));
            }
        }
        Err(error) => {
            let message = error.to_string();
            for job in batch {
                let _ = job
                    .reply
                    .send(Err(StoreError::Unavailable(message.clone())));
            }
        }
    }
}
