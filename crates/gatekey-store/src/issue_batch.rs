//! Group commit for the writes of the authorization code and token endpoints.
//!
//! Each issued token, each authorization code handed out and each code spent must be durable
//! before it is answered, and on SQLite a durable commit costs an fsync. One transaction per
//! request would cap those endpoints at the disk's fsync rate; instead one task takes every
//! write waiting at that moment and makes them in one transaction, so under load many
//! requests share each fsync while a lone request still commits at once. A code flow makes
//! three such writes (the code, its redemption, the tokens), so all three go through here.

use gatekey_core::oauth::token::{
    CodeRedemption, IssuedTokens, NewAccessToken, NewCode, NewRefreshToken,
};
use gatekey_core::secret::TokenHash;
use gatekey_core::store::{StoreError, StoreResult};
use time::OffsetDateTime;
use tokio::sync::{mpsc, oneshot};

use gatekey_core::clock::to_millis;
use sqlx::{AnyConnection, Row};

use crate::error::from_sqlx;
use crate::gated_pool::GatedPool;
use crate::tokens::{audience_json, insert_access, insert_code, insert_refresh, spend_code};

/// Most writes made in one transaction.
const MAX_BATCH: usize = 512;

/// One write waiting for the next group commit, with where to send its outcome.
enum WriteJob {
    /// Store an access token, and a refresh token starting a new family when given.
    Issue {
        grant_id: i64,
        access: NewAccessToken,
        refresh: Option<NewRefreshToken>,
        reply: oneshot::Sender<StoreResult<IssuedTokens>>,
    },
    /// Store an authorization code.
    CreateCode {
        code: Box<NewCode>,
        reply: oneshot::Sender<StoreResult<i64>>,
    },
    /// Spend an authorization code.
    RedeemCode {
        hash: TokenHash,
        now: OffsetDateTime,
        reply: oneshot::Sender<StoreResult<CodeRedemption>>,
    },
}

/// What a job's statements gave, to be answered once the transaction is committed. A row
/// that cannot be read fails only its own job: its statements ran like the others'.
enum Outcome {
    Issued(IssuedTokens),
    Code(i64),
    Redemption(StoreResult<CodeRedemption>),
}

/// A handle on the writing task; cheap to clone.
#[derive(Clone)]
pub(crate) struct IssueBatcher {
    jobs: mpsc::Sender<WriteJob>,
}

impl std::fmt::Debug for IssueBatcher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("IssueBatcher")
    }
}

fn stopped() -> StoreError {
    StoreError::Unavailable("the token writer has stopped".into())
}

impl IssueBatcher {
    /// Starts the writing task on `pool`. It ends when every handle is dropped.
    pub(crate) fn spawn(pool: GatedPool) -> Self {
        let (jobs, mut queue) = mpsc::channel::<WriteJob>(4 * MAX_BATCH);
        tokio::spawn(async move {
            let mut batch = Vec::with_capacity(MAX_BATCH);
            while queue.recv_many(&mut batch, MAX_BATCH).await > 0 {
                write_batch(&pool, std::mem::take(&mut batch)).await;
            }
        });
        Self { jobs }
    }

    async fn submit<T>(
        &self,
        job: impl FnOnce(oneshot::Sender<StoreResult<T>>) -> WriteJob,
    ) -> StoreResult<T> {
        let (reply, answer) = oneshot::channel();
        self.jobs.send(job(reply)).await.map_err(|_| stopped())?;
        answer.await.map_err(|_| stopped())?
    }

    /// Issues tokens; returns once they are committed.
    pub(crate) async fn issue(
        &self,
        grant_id: i64,
        access: NewAccessToken,
        refresh: Option<NewRefreshToken>,
    ) -> StoreResult<IssuedTokens> {
        self.submit(|reply| WriteJob::Issue {
            grant_id,
            access,
            refresh,
            reply,
        })
        .await
    }

    /// Stores an authorization code; returns its id once it is committed.
    pub(crate) async fn create_code(&self, code: NewCode) -> StoreResult<i64> {
        self.submit(|reply| WriteJob::CreateCode {
            code: Box::new(code),
            reply,
        })
        .await
    }

    /// Spends an authorization code; returns once the spending is committed.
    pub(crate) async fn redeem_code(
        &self,
        hash: &TokenHash,
        now: OffsetDateTime,
    ) -> StoreResult<CodeRedemption> {
        let hash = *hash;
        self.submit(|reply| WriteJob::RedeemCode { hash, now, reply })
            .await
    }
}

/// Rows per multi-row insert: 8 parameters each. SQLite finds a numbered parameter's name by
/// a walk of the statement's parameter list, so binding costs the square of the parameter
/// count; past a few dozen rows that cost outgrows the saving of fewer statements.
const ROWS_PER_INSERT: usize = 32;

/// Makes a batch in one transaction and answers every job: all are committed or all fail.
async fn write_batch(pool: &GatedPool, batch: Vec<WriteJob>) {
    let written = async {
        let mut tx = pool.begin().await.map_err(from_sqlx)?;
        let outcomes = write_jobs(&mut tx, &batch).await?;
        tx.commit().await.map_err(from_sqlx)?;
        Ok::<_, StoreError>(outcomes)
    }
    .await;
    match written {
        Ok(outcomes) => {
            for (job, outcome) in batch.into_iter().zip(outcomes) {
                answer(job, Ok(outcome));
            }
        }
        Err(error) => {
            let message = error.to_string();
            for job in batch {
                answer(job, Err(StoreError::Unavailable(message.clone())));
            }
        }
    }
}

/// Sends a job its outcome. A requester that went away no longer needs it.
fn answer(job: WriteJob, outcome: StoreResult<Outcome>) {
    let unexpected = || StoreError::Unavailable("a write was answered for another kind".into());
    match job {
        WriteJob::Issue { reply, .. } => {
            let _ = reply.send(outcome.and_then(|o| match o {
                Outcome::Issued(issued) => Ok(issued),
                _ => Err(unexpected()),
            }));
        }
        WriteJob::CreateCode { reply, .. } => {
            let _ = reply.send(outcome.and_then(|o| match o {
                Outcome::Code(id) => Ok(id),
                _ => Err(unexpected()),
            }));
        }
        WriteJob::RedeemCode { reply, .. } => {
            let _ = reply.send(outcome.and_then(|o| match o {
                Outcome::Redemption(redemption) => redemption,
                _ => Err(unexpected()),
            }));
        }
    }
}

/// Runs every job's statements in `conn`, in arrival order except that access tokens without
/// a refresh token (client credentials) go last, in multi-row inserts. No job of a batch can
/// depend on another: a code is only presented once its creation was answered, and tokens
/// only issued once the redemption was.
async fn write_jobs(conn: &mut AnyConnection, batch: &[WriteJob]) -> StoreResult<Vec<Outcome>> {
    let mut outcomes: Vec<Option<Outcome>> = Vec::with_capacity(batch.len());
    let mut plain = Vec::new();
    for (i, job) in batch.iter().enumerate() {
        let outcome = match job {
            WriteJob::Issue { refresh: None, .. } => {
                plain.push(i);
                None
            }
            WriteJob::Issue {
                grant_id,
                access,
                refresh,
                ..
            } => {
                let (refresh_token_id, family_id) = match refresh {
                    Some(refresh) => {
                        let (id, family) = insert_refresh(conn, *grant_id, None, refresh).await?;
                        (Some(id), Some(family))
                    }
                    None => (None, None),
                };
                let access_token_id = insert_access(conn, *grant_id, family_id, access).await?;
                Some(Outcome::Issued(IssuedTokens {
                    access_token_id,
                    refresh_token_id,
                    family_id,
                }))
            }
            WriteJob::CreateCode { code, .. } => {
                Some(Outcome::Code(insert_code(conn, code).await?))
            }
            WriteJob::RedeemCode { hash, now, .. } => {
                Some(Outcome::Redemption(spend_code(conn, hash, *now).await?))
            }
        };
        outcomes.push(outcome);
    }
    for chunk in plain.chunks(ROWS_PER_INSERT) {
        for (i, id) in insert_plain_access(conn, batch, chunk).await? {
            outcomes[i] = Some(Outcome::Issued(IssuedTokens {
                access_token_id: id,
                refresh_token_id: None,
                family_id: None,
            }));
        }
    }
    outcomes
        .into_iter()
        .collect::<Option<Vec<_>>>()
        .ok_or_else(|| StoreError::Unavailable("an issued token was not returned".into()))
}

/// Inserts the access tokens of the `Issue` jobs at `chunk` in one statement; returns each
/// job's index with its token's id.
async fn insert_plain_access(
    conn: &mut AnyConnection,
    batch: &[WriteJob],
    chunk: &[usize],
) -> StoreResult<Vec<(usize, i64)>> {
    let tokens: Vec<(usize, i64, &NewAccessToken)> = chunk
        .iter()
        .filter_map(|&i| match &batch[i] {
            WriteJob::Issue {
                grant_id, access, ..
            } => Some((i, *grant_id, access)),
            _ => None,
        })
        .collect();
    let rows: Vec<String> = (0..tokens.len())
        .map(|n| {
            let b = n * 8;
            format!(
                "(${}, ${}, ${}, ${}, ${}, ${}, ${}, ${})",
                b + 1,
                b + 2,
                b + 3,
                b + 4,
                b + 5,
                b + 6,
                b + 7,
                b + 8
            )
        })
        .collect();
    let sql = format!(
        "INSERT INTO access_tokens (token_hash, grant_id, family_id, code_id, scopes, created_at, expires_at, audience) \
         VALUES {} RETURNING id, token_hash",
        rows.join(", ")
    );
    let mut query = sqlx::query(&sql);
    for &(_, grant_id, access) in &tokens {
        query = query
            .bind(access.hash.as_bytes().to_vec())
            .bind(grant_id)
            .bind(None::<i64>)
            .bind(access.code_id)
            .bind(access.scopes.to_string())
            .bind(to_millis(access.created_at))
            .bind(to_millis(access.expires_at))
            .bind(audience_json(&access.audience)?);
    }
    // RETURNING gives no order guarantee: match rows back by their digest.
    let mut ids = Vec::with_capacity(tokens.len());
    for row in query.fetch_all(&mut *conn).await.map_err(from_sqlx)? {
        let id: i64 = row.try_get("id").map_err(from_sqlx)?;
        let hash: Vec<u8> = row.try_get("token_hash").map_err(from_sqlx)?;
        if let Some(&(i, _, _)) = tokens
            .iter()
            .find(|(_, _, access)| access.hash.as_bytes().as_slice() == hash.as_slice())
        {
            ids.push((i, id));
        }
    }
    Ok(ids)
}
