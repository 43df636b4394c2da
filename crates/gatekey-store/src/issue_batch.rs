//! Group commit for the writes of the authorization code and token endpoints.
//!
//! Each issued token, each authorization code handed out and each code spent must be durable
//! before it is answered, and on SQLite a durable commit costs an fsync. One transaction per
//! request would cap those endpoints at the disk's fsync rate; instead one task takes every
//! write waiting at that moment and makes them in one transaction, so under load many
//! requests share each fsync while a lone request still commits at once. A code flow makes
//! three such writes (the code, its redemption, the tokens), so all three go through here.
//!
//! On SQLite the fsync is also taken out of the writer's way: a batch commits without waiting
//! for the disk, and is answered only once an fsync of the write-ahead log that began after its
//! commit has returned; meanwhile the next batch is written. What is answered is on disk just
//! as with `synchronous = FULL`, which syncs the same log at commit, but the one write
//! connection no longer stands idle through every fsync.

use std::path::{Path, PathBuf};

use gatekey_core::oauth::token::{
    CodeRedemption, IssuedTokens, NewAccessToken, NewCode, NewRefreshToken,
};
use gatekey_core::secret::TokenHash;
use gatekey_core::store::{StoreError, StoreResult};
use time::OffsetDateTime;
use tokio::sync::{mpsc, oneshot};

use gatekey_core::clock::to_millis;
use sqlx::{AnyConnection, Executor, Row};

use crate::error::from_sqlx;
use crate::gated_pool::GatedPool;
use crate::tokens::{audience_json, insert_access, insert_code, insert_refresh, spend_code};

/// Most writes made in one transaction.
const MAX_BATCH: usize = 512;

/// Most committed batches waiting for the log's fsync before the writer waits too.
const MAX_UNSYNCED: usize = 64;

/// How a batch is made durable before it is answered.
#[derive(Debug, Clone)]
pub(crate) enum Durability {
    /// The commit itself waits for the disk (PostgreSQL).
    InCommit,
    /// SQLite with the database file at this path: the commit writes the log without syncing
    /// it, and an fsync of the log after the commit makes it durable.
    SyncedLog(PathBuf),
}

/// One write waiting for the next group commit, with where to send its outcome. Issuances are
/// most of them, so they are kept unboxed: boxing would cost each token an allocation to save
/// room in the queue for the rarer kinds.
#[allow(clippy::large_enum_variant)]
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

/// What a job's statements gave, to be answered once the transaction is durable. A row that
/// cannot be read fails only its own job: its statements ran like the others'.
enum Outcome {
    Issued(IssuedTokens),
    Code(i64),
    Redemption(StoreResult<CodeRedemption>),
}

/// A committed batch waiting for the fsync of the log.
struct Committed {
    batch: Vec<WriteJob>,
    outcomes: Vec<Outcome>,
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
    /// Starts the writing task on `pool`, making batches durable as `durability` says. It ends
    /// when every handle is dropped.
    pub(crate) fn spawn(pool: GatedPool, durability: Durability) -> Self {
        let (jobs, mut queue) = mpsc::channel::<WriteJob>(4 * MAX_BATCH);
        tokio::spawn(async move {
            let mut batch = Vec::with_capacity(MAX_BATCH);
            match durability {
                Durability::InCommit => {
                    while queue.recv_many(&mut batch, MAX_BATCH).await > 0 {
                        let batch = std::mem::take(&mut batch);
                        let written = write_batch(&pool, &batch).await;
                        answer_all(batch, written);
                    }
                }
                Durability::SyncedLog(database) => {
                    let synced = spawn_log_sync(database);
                    while queue.recv_many(&mut batch, MAX_BATCH).await > 0 {
                        let batch = std::mem::take(&mut batch);
                        match commit_unsynced(&pool, &batch).await {
                            Ok(outcomes) => {
                                if let Err(lost) = synced.send(Committed { batch, outcomes }).await
                                {
                                    answer_all(lost.0.batch, Err(stopped()));
                                }
                            }
                            Err(error) => answer_all(batch, Err(error)),
                        }
                    }
                }
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

    /// Issues tokens; returns once they are durable.
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

    /// Stores an authorization code; returns its id once it is durable.
    pub(crate) async fn create_code(&self, code: NewCode) -> StoreResult<i64> {
        self.submit(|reply| WriteJob::CreateCode {
            code: Box::new(code),
            reply,
        })
        .await
    }

    /// Spends an authorization code; returns once the spending is durable.
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

/// Makes a batch in one transaction whose commit waits for the disk.
async fn write_batch(pool: &GatedPool, batch: &[WriteJob]) -> StoreResult<Vec<Outcome>> {
    let mut tx = pool.begin().await.map_err(from_sqlx)?;
    let outcomes = write_jobs(&mut tx, batch, Placeholders::Numbered).await?;
    tx.commit().await.map_err(from_sqlx)?;
    Ok(outcomes)
}

/// Makes a batch in one SQLite transaction whose commit writes the log without syncing it;
/// the connection is back to syncing at commit before any other writer gets it. A failure
/// closes the connection instead, which rolls back whatever was not committed, so that no
/// writer is handed a connection in an unknown state.
async fn commit_unsynced(pool: &GatedPool, batch: &[WriteJob]) -> StoreResult<Vec<Outcome>> {
    let mut conn = pool.acquire().await.map_err(from_sqlx)?;
    let written = async {
        (&mut *conn)
            .execute(sqlx::raw_sql("PRAGMA synchronous = NORMAL; BEGIN"))
            .await
            .map_err(from_sqlx)?;
        let outcomes = write_jobs(&mut conn, batch, Placeholders::Anonymous).await?;
        (&mut *conn)
            .execute(sqlx::raw_sql("COMMIT; PRAGMA synchronous = FULL"))
            .await
            .map_err(from_sqlx)?;
        Ok(outcomes)
    }
    .await;
    if written.is_err() {
        if let Err(error) = conn.close().await {
            tracing::warn!(%error, "could not close the write connection after a failed batch");
        }
    }
    written
}

/// Starts the task that makes committed batches durable: one fsync of the log for every
/// batch committed before it began, then their answers.
fn spawn_log_sync(database: PathBuf) -> mpsc::Sender<Committed> {
    let (committed, mut queue) = mpsc::channel::<Committed>(MAX_UNSYNCED);
    tokio::spawn(async move {
        let mut pending = Vec::with_capacity(MAX_UNSYNCED);
        while queue.recv_many(&mut pending, MAX_UNSYNCED).await > 0 {
            let database = database.clone();
            let failure = match tokio::task::spawn_blocking(move || sync_log(&database)).await {
                Ok(Ok(())) => None,
                Ok(Err(error)) => Some(format!("cannot flush the database log: {error}")),
                Err(_) => Some("the database log flush stopped".to_owned()),
            };
            for Committed { batch, outcomes } in pending.drain(..) {
                match &failure {
                    None => answer_all(batch, Ok(outcomes)),
                    Some(message) => {
                        answer_all(batch, Err(StoreError::Unavailable(message.clone())))
                    }
                }
            }
        }
    });
    committed
}

/// Syncs the write-ahead log of the SQLite database at `database` to disk. Without a log the
/// last connection has closed, which copied the log into the database file and synced it; the
/// file is synced again all the same.
fn sync_log(database: &Path) -> std::io::Result<()> {
    let mut log = database.as_os_str().to_owned();
    log.push("-wal");
    match std::fs::File::open(&log) {
        Ok(file) => file.sync_data(),
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
            std::fs::File::open(database)?.sync_data()
        }
        Err(error) => Err(error),
    }
}

/// Answers every job of a batch with its outcome, or all with the batch's failure.
fn answer_all(batch: Vec<WriteJob>, written: StoreResult<Vec<Outcome>>) {
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

/// Rows per multi-row insert: 8 parameters each, well under either database's limit.
const ROWS_PER_INSERT: usize = 128;

/// How a generated statement names its parameters. SQLite finds the name of a numbered
/// parameter (`$1`) by a walk of the statement's parameter list, so binding hundreds of them
/// costs the square of their count; anonymous ones (`?`, SQLite only) bind in order at no cost.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Placeholders {
    /// `$1`, `$2`, … (both databases).
    Numbered,
    /// `?` (SQLite).
    Anonymous,
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
async fn write_jobs(
    conn: &mut AnyConnection,
    batch: &[WriteJob],
    placeholders: Placeholders,
) -> StoreResult<Vec<Outcome>> {
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
        for (i, id) in insert_plain_access(conn, batch, chunk, placeholders).await? {
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
///
/// On SQLite the ids are not read back: a table whose key is its rowid gives the rows of one
/// `INSERT … VALUES` consecutive ids in the order of the rows, the last one being the
/// connection's last inserted rowid, and no other writer can insert meanwhile (the batch holds
/// the write lock). So the statement is followed by one that reads that rowid and the count of
/// rows inserted. Reading the ids back with `RETURNING` would have SQLite keep every row in a
/// temporary table, and each row cross the driver, for nothing.
async fn insert_plain_access(
    conn: &mut AnyConnection,
    batch: &[WriteJob],
    chunk: &[usize],
    placeholders: Placeholders,
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
        .map(|n| match placeholders {
            Placeholders::Anonymous => "(?, ?, ?, ?, ?, ?, ?, ?)".to_owned(),
            Placeholders::Numbered => {
                let numbers: Vec<String> = (1..=8).map(|k| format!("${}", n * 8 + k)).collect();
                format!("({})", numbers.join(", "))
            }
        })
        .collect();
    let returning = match placeholders {
        Placeholders::Anonymous => "; SELECT last_insert_rowid() AS last_id, changes() AS inserted",
        Placeholders::Numbered => " RETURNING id, token_hash",
    };
    let sql = format!(
        "INSERT INTO access_tokens (token_hash, grant_id, family_id, code_id, scopes, created_at, expires_at, audience) \
         VALUES {}{returning}",
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
    if placeholders == Placeholders::Anonymous {
        // Only the second statement answers a row (the driver's `fetch_one` would stop at the
        // first statement's outcome).
        let rows = query.fetch_all(&mut *conn).await.map_err(from_sqlx)?;
        let row = rows
            .first()
            .ok_or_else(|| from_sqlx(sqlx::Error::RowNotFound))?;
        let last: i64 = row.try_get("last_id").map_err(from_sqlx)?;
        let inserted: i64 = row.try_get("inserted").map_err(from_sqlx)?;
        return consecutive_ids(&tokens, inserted, last);
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

/// The ids of `tokens` inserted by one SQLite statement that inserted `inserted` rows, the last
/// with the rowid `last`: consecutive, in the order of the rows.
fn consecutive_ids(
    tokens: &[(usize, i64, &NewAccessToken)],
    inserted: i64,
    last: i64,
) -> StoreResult<Vec<(usize, i64)>> {
    if usize::try_from(inserted).ok() != Some(tokens.len()) {
        return Err(StoreError::Unavailable(format!(
            "the database stored {inserted} of {} tokens",
            tokens.len()
        )));
    }
    Ok(tokens
        .iter()
        .zip(last - inserted + 1..)
        .map(|(&(i, _, _), id)| (i, id))
        .collect())
}
