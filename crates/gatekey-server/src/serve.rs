//! Starting and stopping the server.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;

use gatekey_core::Clock;
use gatekey_store::SqlStore;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use tokio::time::Instant;

use crate::background::{self, flush_usage, return_credits};
use crate::config::Config;
use crate::connection::{http_builder, serve_connection, ConnectionLimits};
use crate::drain::Drain;
use crate::state::AppState;

/// How long to wait after a failed `accept` before trying again.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(100);

/// A server accepting connections.
#[derive(Debug)]
pub struct RunningServer {
    /// The address it listens on (useful with port 0).
    pub addr: SocketAddr,
    /// The address of the operations listener (`operations.listen`), if there is one.
    pub operations_addr: Option<SocketAddr>,
    /// The shared state, for tests that look inside.
    pub state: AppState,
    stop: Option<oneshot::Sender<()>>,
    task: JoinHandle<std::io::Result<()>>,
}

/// Why the server could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// The database could not be opened.
    #[error(transparent)]
    Database(#[from] gatekey_store::ConnectError),
    /// The address could not be bound.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// Why.
        source: std::io::Error,
    },
    /// No key-encryption key could be had.
    #[error(transparent)]
    KeyEncryptionKey(#[from] crate::signing::kek::KekError),
    /// `rate_limit.backend = "redis"` and Redis did not answer.
    #[error(transparent)]
    SharedLimits(#[from] crate::shared_limits::RedisStartError),
    /// The signing keys could not be loaded or made: a key-encryption key that does not open
    /// them is this error, never a reason to make new keys.
    #[error("signing keys: {0}")]
    SigningKeys(#[from] gatekey_core::oauth::signing_key_rotation::SigningKeyError),
}

/// Opens the database and starts serving on `config.listen`.
pub async fn start(config: Config, clock: Arc<dyn Clock>) -> Result<RunningServer, StartError> {
    let store = SqlStore::connect(&config.database_url).await?;
    start_with_store(store, config, clock).await
}

/// The key-encryption key, saying on stderr when one was just made (a single-machine install's
/// first start), as it must be backed up apart from the database.
fn find_kek_announced(
    config: &Config,
    store: &SqlStore,
) -> Result<
    (
        gatekey_core::oauth::signing_key_material::KeyEncryptionKey,
        crate::signing::kek::KekSource,
    ),
    StartError,
> {
    use crate::signing::kek::{find_kek, KekSource};
    let (kek, source) = find_kek(&config.signing, store.data_folder().as_deref())?;
    if let KekSource::Generated(path) = &source {
        eprintln!(
            "gatekey: made a key-encryption key for the signing keys at {} (mode 0600); back it \
             up apart from the database: without it the signing keys cannot be opened",
            path.display()
        );
    }
    Ok((kek, source))
}

/// Binds `addr`, and says which address it got (useful with port 0).
async fn bind(addr: SocketAddr) -> Result<(TcpListener, SocketAddr), StartError> {
    let bind_error = |source| StartError::Bind { addr, source };
    let listener = TcpListener::bind(addr).await.map_err(bind_error)?;
    let bound = listener.local_addr().map_err(bind_error)?;
    Ok((listener, bound))
}

/// Starts serving with an already opened store.
pub async fn start_with_store(
    store: SqlStore,
    config: Config,
    clock: Arc<dyn Clock>,
) -> Result<RunningServer, StartError> {
    let (listener, addr) = bind(config.listen).await?;
    let operations = match config.operations.listen {
        Some(operations_addr) => Some(bind(operations_addr).await?),
        None => {
            if !addr.ip().is_loopback() {
                tracing::warn!(
                    %addr,
                    "/metrics is served on a listener that is not loopback; set \
                     operations.listen to serve it on an address of its own"
                );
            }
            None
        }
    };
    let operations_addr = operations.as_ref().map(|(_, addr)| *addr);
    let mut config = config;
    if config.issuer.is_none() {
        config.issuer = Some(format!("http://{addr}"));
    }
    let (kek, source) = find_kek_announced(&config, &store)?;
    let redis = crate::shared_limits::SharedRedis::connect(&config.rate_limit).await?;
    let state = AppState::new(store, clock, config, kek, redis);
    if let Err(error) = crate::signing::refresh_signing_keys(&state).await {
        // A key made just now cannot open keys sealed before: the file that held the right one
        // is gone. Leave no wrong file behind for the next start or a restore to trip on.
        if let crate::signing::kek::KekSource::Generated(path) = source {
            let _ = std::fs::remove_file(&path);
            eprintln!(
                "gatekey: the signing keys were sealed with a key-encryption key that is not at \
                 {}; restore that file (or configure the key) and start again",
                path.display()
            );
        }
        return Err(error.into());
    }
    let router = crate::app::router(state.clone());
    let (stop, stopped) = oneshot::channel::<()>();
    let task_state = state.clone();
    let task = tokio::spawn(async move {
        let tasks = background::start(&task_state);
        let limits = connection_limits(&task_state);
        let drain_timeout = Duration::from_secs(task_state.config.shutdown.drain_timeout);
        // The operations listener answers until the main one has drained, within the same
        // deadline.
        let (stop_operations, operations_stopped) = oneshot::channel::<Instant>();
        let operations = operations.map(|(listener, _)| {
            let router = crate::app::operations_router(task_state.clone());
            let stopped =
                async move { operations_stopped.await.unwrap_or_else(|_| Instant::now()) };
            tokio::spawn(accept_connections(listener, router, limits, stopped))
        });
        let stopped = async move {
            let _ = stopped.await;
            Instant::now() + drain_timeout
        };
        let deadline = accept_connections(listener, router, limits, stopped).await;
        let _ = stop_operations.send(deadline);
        if let Some(operations) = operations {
            let _ = operations.await;
        }
        drop(tasks);
        flush_usage(&task_state).await;
        return_credits(&task_state, None).await;
        Ok(())
    });
    Ok(RunningServer {
        addr,
        operations_addr,
        state,
        stop: Some(stop),
        task,
    })
}

impl RunningServer {
    /// The base URL, such as `http://127.0.0.1:41234`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Stops accepting connections, drains those open (within `shutdown.drain_timeout`), writes
    /// pending usage.
    pub async fn shutdown(mut self) -> std::io::Result<()> {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        (&mut self.task).await.unwrap_or(Ok(()))
    }

    /// Waits until the server stops by itself (it does not, unless it fails).
    pub async fn wait(&mut self) -> std::io::Result<()> {
        (&mut self.task).await.unwrap_or(Ok(()))
    }
}

fn connection_limits(state: &AppState) -> ConnectionLimits {
    ConnectionLimits {
        header_read: Duration::from_secs(state.config.http.header_read_timeout),
        idle: Duration::from_secs(state.config.http.idle_timeout),
        body_read: Duration::from_secs(state.config.http.body_read_timeout),
    }
}

/// Accepts connections until `stopped` gives the drain deadline, then drains those open (see
/// [`crate::drain`]). Returns the deadline.
async fn accept_connections(
    listener: TcpListener,
    router: Router,
    limits: ConnectionLimits,
    stopped: impl std::future::Future<Output = Instant>,
) -> Instant {
    let builder = Arc::new(http_builder());
    let drain = Drain::new();
    tokio::pin!(stopped);
    let deadline = loop {
        tokio::select! {
            deadline = &mut stopped => break deadline,
            accepted = listener.accept() => match accepted {
                Ok((stream, peer)) => {
                    let _ = stream.set_nodelay(true);
                    tokio::spawn(serve_connection(
                        stream,
                        peer,
                        router.clone(),
                        Arc::clone(&builder),
                        drain.signal(),
                        limits,
                    ));
                }
                Err(error) => {
                    // Out of file descriptors, most likely: wait a little rather than spin.
                    tracing::warn!(%error, "could not accept a connection");
                    tokio::time::sleep(ACCEPT_BACKOFF).await;
                }
            },
        }
    };
    drop(listener);
    let cut = drain.run(deadline).await;
    if cut > 0 {
        tracing::warn!(
            connections = cut,
            "closed connections still open at the drain deadline (shutdown.drain_timeout)"
        );
    }
    deadline
}
